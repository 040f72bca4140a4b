"""How near the warm start's harmful seeds sit to never-seen harmful requests, random draw against cover.

Prints, for three draws of each, the mean cosine (MiniLM) from each harmful prompt of the ``heldout`` suite
and of XSTest's unsafe prompts to its nearest chosen seed (docs/demo.md, 2026-12-07 late). About a minute.

    python scripts/seed_cover_distance.py [--n 176]
"""

from __future__ import annotations

import argparse
import random

from sparring.embeddings import get_embedder
from sparring.evals.suites import load_suite
from sparring.game.cover import cover_indices
from sparring.game.seeds import load_seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n", type=int, default=176, help="harmful seeds chosen (the demo's warm start: 176)"
    )
    n = parser.parse_args().n
    embedder = get_embedder()
    seeds = embedder.encode([s.text for s in load_seeds("harmful")], max_seq_length=64)
    heldout = embedder.encode([p.prompt for p in load_suite("heldout") if p.label == "harmful"])
    unsafe = embedder.encode([p.prompt for p in load_suite("xstest") if p.label == "harmful"])
    print(
        f"all {len(seeds)} seeds: heldout {(heldout @ seeds.T).max(1).mean():.3f}, "
        f"xstest unsafe {(unsafe @ seeds.T).max(1).mean():.3f}"
    )
    for draw in range(3):
        for name, chosen in (
            ("random", random.Random(draw).sample(range(len(seeds)), n)),
            ("cover", cover_indices(seeds, n, draw)),
        ):
            picked = seeds[chosen]
            print(
                f"draw {draw} {name:6s}: heldout {(heldout @ picked.T).max(1).mean():.3f}, "
                f"xstest unsafe {(unsafe @ picked.T).max(1).mean():.3f}"
            )


if __name__ == "__main__":
    main()
