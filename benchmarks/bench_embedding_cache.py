"""Time the seed-pool embeddings of ``warmup.seed_selection=cover``: embedded afresh against read back.

    python benchmarks/bench_embedding_cache.py [--repeats 3]

The pools are the default shipped seeds in the groups the cover draw clusters (harmful, borderline benign,
other benign) at the warm start's 64-word-piece window. "cold" embeds them into an empty cache directory (the
first run on a machine), "warm" reads back the files it wrote (every later run); both go through
``encode_cached``, in one process, with the model loaded before either is timed.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from sparring.embeddings import encode_cached, get_embedder
from sparring.game.seeds import BORDERLINE_SOURCE, load_seeds


def pools() -> list[list[str]]:
    benign = load_seeds("benign")
    return [
        [s.text for s in load_seeds("harmful")],
        [s.text for s in benign if s.source == BORDERLINE_SOURCE],
        [s.text for s in benign if s.source != BORDERLINE_SOURCE],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timings of each (the best is kept)")
    repeats = parser.parse_args().repeats
    texts = pools()
    get_embedder().encode(["load the model before timing"])
    cold, warm = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache:
            start = time.perf_counter()
            first = [encode_cached(p, max_seq_length=64, cache_dir=cache) for p in texts]
            cold.append(time.perf_counter() - start)
            start = time.perf_counter()
            again = [encode_cached(p, max_seq_length=64, cache_dir=cache) for p in texts]
            warm.append(time.perf_counter() - start)
            assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    print(f"pools: {' + '.join(str(len(p)) for p in texts)} seeds")
    print(f"cold (embed and write): {min(cold):.2f} s")
    print(f"warm (read back):       {min(warm):.3f} s")
    print(f"ratio cold / warm:      {min(cold) / min(warm):.0f}x")


if __name__ == "__main__":
    main()
