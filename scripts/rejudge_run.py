"""Score a run's saved evaluation answers again with the current judge, without generating anything.

    python scripts/rejudge_run.py RUN OUT [--judge embedded] [--judge-option KEY=VALUE ...]
    sparring compare OUT                 # after minus before, on the new verdicts
    sparring compare OUT_A OUT_B         # two re-judged runs

For each ``RUN/eval_{before,after}_transcripts.jsonl`` it writes ``OUT/`` the same file with fresh
verdicts (and a copy of the run's config.yaml), and prints every rate that changed. Use it when the judge
changes (a refit, a rule, a stronger judge behind an endpoint): answers are kept, only the scoring is
redone. OUT holds the run's answers, harmful text included, and gets the run's content warning.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from sparring.evals.compare import load_transcripts
from sparring.evals.judging import judge_in_batches
from sparring.evals.metrics import format_rate
from sparring.evals.runner import summarize, verdict_dict
from sparring.game.types import Exchange
from sparring.judges.registry import build_judge
from sparring.judges.scoring import judge_options

STAGES = ("before", "after")


def rejudge(transcripts: list[dict], judge) -> list[dict]:
    """Copies of ``transcripts`` with the judge's verdicts on their saved prompts and answers."""
    verdicts = judge_in_batches(judge, [Exchange(t["prompt"], t["answer"]) for t in transcripts])
    return [
        {**t, "verdict": None if v is None else verdict_dict(v)}
        for t, v in zip(transcripts, verdicts, strict=True)
    ]


def by_suite(transcripts: list[dict]) -> dict[str, dict]:
    suites: dict[str, list[dict]] = {}
    for t in transcripts:
        suites.setdefault(t.get("suite", "?"), []).append(t)
    return {name: summarize(items)["metrics"] for name, items in suites.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path, help="a run directory with eval_*_transcripts.jsonl")
    ap.add_argument("out", type=Path, help="where to write the re-judged transcripts")
    ap.add_argument("--judge", default="embedded")
    ap.add_argument("--judge-options", default=None, help="a YAML/JSON file of judge options")
    ap.add_argument("--judge-option", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)

    files = {s: args.run / f"eval_{s}_transcripts.jsonl" for s in STAGES}
    files = {s: f for s, f in files.items() if f.exists()}
    if not files:
        print(f"{args.run}: no eval_before/eval_after transcripts to re-judge", file=sys.stderr)
        return 2
    kind, options = judge_options(args.judge, args.judge_options, args.judge_option)
    judge = build_judge(kind, **options)
    args.out.mkdir(parents=True, exist_ok=True)
    # the content warning goes with the answers; the config makes OUT a run directory for `sparring compare`
    for name in ("CONTENT_WARNING.txt", "config.yaml"):
        if (args.run / name).exists():
            shutil.copy(args.run / name, args.out / name)
    for stage, path in files.items():
        old = load_transcripts(path)
        new = rejudge(old, judge)
        with (args.out / path.name).open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(t, ensure_ascii=False) + "\n" for t in new)
        before, after = by_suite(old), by_suite(new)
        for suite, metrics in after.items():
            for metric, value in metrics.items():
                was = before.get(suite, {}).get(metric)
                mark = "" if was and was["value"] == value["value"] else "  (changed)"
                was_s = format_rate(was) if was else "-"
                print(f"{stage:6} {suite[:34]:34} {metric:20} {was_s:>28} -> {format_rate(value)}{mark}")
    print(f"re-judged transcripts: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
