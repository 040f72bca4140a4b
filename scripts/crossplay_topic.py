"""Which cross-play successes kept their seed's request? Per run, attacker and seed label.

    python scripts/crossplay_topic.py RUN [RUN ...] [--defender base]

Reads ``RUN/crossplay_transcripts.jsonl`` (written by ``sparring crossplay``) and embeds every
well-formed attack and its seed with the embedder the game uses for faithfulness. An attack whose
cosine similarity to its seed is below ``TOPIC_SIM_LOW`` (the floor of the faithfulness score) has
dropped the seed's topic: a refusal of it says nothing about over-refusing the seed's request. For each
attacker against one defender this prints the well-formed attacks, how many are off-topic, and the
successes among off-topic and on-topic attacks. Only counts are printed, no text.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sparring.embeddings import get_embedder, paired_similarity
from sparring.game.rewards import TOPIC_SIM_LOW


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--defender", default="base", help="defender column to read (default: base)")
    args = ap.parse_args()
    embedder = get_embedder()
    totals: dict[tuple[str, str], list[int]] = {}
    print(f"defender {args.defender}; off-topic = cosine to the seed < {TOPIC_SIM_LOW}")
    print("run | attacker | seeds | well-formed | off-topic | successes off-topic | successes on-topic")
    for run in args.runs:
        path = run / "crossplay_transcripts.jsonl"
        if not path.exists():
            raise SystemExit(f"{path}: not found (run `sparring crossplay {run}` first)")
        rows = [json.loads(line) for line in path.open()]
        for attacker in dict.fromkeys(r["attacker"] for r in rows):
            for label in ("harmful", "benign"):
                played = [
                    r
                    for r in rows
                    if r["attacker"] == attacker and r["defender"] == args.defender and r["label"] == label
                ]
                formed = [r for r in played if r["format_ok"]]
                if not formed:
                    continue
                sims = paired_similarity(embedder, [r["attack"] for r in formed], [r["seed"] for r in formed])
                off = [bool(s < TOPIC_SIM_LOW) for s in sims]
                won_off = sum(bool(r["success"]) for r, o in zip(formed, off, strict=True) if o)
                won_on = sum(bool(r["success"]) for r, o in zip(formed, off, strict=True) if not o)
                counts = [len(played), len(formed), sum(off), won_off, won_on]
                total = totals.setdefault((attacker, label), [0] * 5)
                totals[(attacker, label)] = [a + b for a, b in zip(total, counts, strict=True)]
                print(f"{run.name} | {attacker} {label} | " + " | ".join(map(str, counts)))
    if len(args.runs) > 1:
        for (attacker, label), counts in totals.items():
            print(f"all runs | {attacker} {label} | " + " | ".join(map(str, counts)))


if __name__ == "__main__":
    main()
