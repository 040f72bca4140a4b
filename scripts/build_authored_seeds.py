#!/usr/bin/env python
"""Build the seed pools written for this project from their sources in ``scripts/authored/``.

Usage::

    python scripts/build_authored_seeds.py [--threshold 0.65] [--check]

Both files become the ``persuasion`` seed pool, ``src/sparring/data/persuasion/seeds.jsonl``:
``harmful_persuasion.tsv`` holds harmful requests to write disinformation, propaganda, defamation and scams
(label harmful, source ``persuasion``); ``benign_persuasion.tsv`` requests about persuasion, misinformation
and propaganda that a helpful assistant answers (label benign, source ``borderline``, so the warm start
counts them among the benign prompts that sound dangerous).

Each source line is ``category<TAB>prompt``. A prompt is dropped when its all-MiniLM-L6-v2 cosine similarity
to any shipped evaluation prompt (every suite, both labels, AlpacaEval included) is ``--threshold`` or more,
so the held-out figures stay held out. The dropped prompts and their nearest evaluation prompt's id are
printed; ``--check`` writes nothing and fails if the shipped files differ from what would be built.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AUTHORED = REPO / "scripts" / "authored"
DATA = REPO / "src" / "sparring" / "data"
# output pool -> its source files, each with (label, source name) for its rows; ids are "<pool>-NNN"
POOLS = {
    "persuasion": {
        "harmful_persuasion.tsv": ("harmful", "persuasion"),
        "benign_persuasion.tsv": ("benign", "borderline"),
    },
}


def read_source(path: Path) -> list[tuple[str, str]]:
    """``(category, prompt)`` rows of an authored file; a malformed line names its file and line number."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        category, sep, prompt = line.partition("\t")
        if not sep or not category.strip() or not prompt.strip():
            raise ValueError(f"{path}:{number}: expected 'category<TAB>prompt', got {line[:60]!r}")
        rows.append((category.strip(), prompt.strip()))
    return rows


def evaluation_prompts() -> list[tuple[str, str]]:
    """``(id, text)`` of every shipped evaluation prompt: the suites a held-out figure is measured on."""
    from sparring.evals import suites

    prompts = (
        suites.harmbench()
        + suites.jbb()
        + suites.strongreject(subset="full")
        + suites.xstest()
        + suites.do_not_answer()
        + suites.alpaca_eval()
    )
    return [(p.id, p.prompt) for p in prompts]


def build(threshold: float) -> tuple[dict[Path, str], list[str]]:
    """The text of each output file and a report line per dropped prompt."""
    from sparring.embeddings import get_embedder

    embedder = get_embedder()
    evals = evaluation_prompts()
    eval_emb = embedder.encode([text for _, text in evals])
    files: dict[Path, str] = {}
    dropped: list[str] = []
    for pool, sources in POOLS.items():
        lines: list[str] = []
        for source, (label, source_name) in sources.items():
            rows = read_source(AUTHORED / source)
            sims = embedder.encode([prompt for _, prompt in rows]) @ eval_emb.T
            for (category, prompt), row_sims in zip(rows, sims, strict=True):
                nearest = int(row_sims.argmax())
                if row_sims[nearest] >= threshold:
                    dropped.append(
                        f"{source}: {prompt[:70]!r} ~ {evals[nearest][0]} ({row_sims[nearest]:.2f})"
                    )
                    continue
                record = {
                    "id": f"{pool}-{len(lines) + 1:03d}",
                    "prompt": prompt,
                    "label": label,
                    "category": category,
                    "source": source_name,
                }
                lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        files[DATA / pool / "seeds.jsonl"] = "".join(lines)
    return files, dropped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--threshold", type=float, default=0.65, help="drop at this cosine or more (%(default)s)"
    )
    parser.add_argument("--check", action="store_true", help="fail if the shipped files are not up to date")
    args = parser.parse_args(argv)
    files, dropped = build(args.threshold)
    for line in dropped:
        print("dropped", line)
    if args.check:
        stale = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
        for path in stale:
            print(
                f"{path.relative_to(REPO)} is not what scripts/build_authored_seeds.py builds",
                file=sys.stderr,
            )
        return 1 if stale else 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)}: {text.count(chr(10))} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
