"""Time NoveltyArchive.novelty: 1,000 new attacks scored against archives of 1k, 10k and 100k.

    python benchmarks/bench_novelty.py [--queries 1000] [--sizes 1000 10000 100000] [--naive-size 1000]

Random unit vectors of MiniLM's dimension (384) stand in for attack embeddings (the cost does not depend
on the values). The naive baseline is a Python loop (one dot product per archived attack, then a sort per
query), timed on a smaller archive and, for the ratio, against the vectorised archive of the same size.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sparring.diversity import NoveltyArchive


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def naive_novelty(archive: list[np.ndarray], queries: np.ndarray, k: int) -> np.ndarray:
    out = []
    for q in queries:
        sims = sorted((float(np.dot(q, a)) for a in archive), reverse=True)[:k]
        out.append(1.0 - sum(sims) / len(sims))
    return np.array(out, dtype=np.float32)


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    ap.add_argument("--naive-size", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    queries = unit_rows(rng, args.queries, args.dim)
    print(f"scoring {args.queries} new attacks (dim {args.dim}, top-{args.k} mean), best of {args.repeats}")
    print(f"{'archive':>9}  {'vectorised':>11}  {'per attack':>11}  {'naive loop':>11}  {'speed-up':>9}")
    for size in sorted(set(args.sizes) | {args.naive_size}):
        archive = NoveltyArchive(args.dim, k=args.k)
        start = time.perf_counter()
        for chunk in range(0, size, 10_000):  # grown incrementally, as in training
            archive.add(unit_rows(rng, min(10_000, size - chunk), args.dim))
        grow = time.perf_counter() - start
        fast = best_of(lambda a=archive: a.novelty(queries), args.repeats)
        row = f"{size:>9,}  {fast * 1e3:>9.1f}ms  {fast / args.queries * 1e6:>9.1f}us"
        if size == args.naive_size:
            stored = list(archive.embeddings)
            start = time.perf_counter()
            naive = naive_novelty(stored, queries, args.k)
            slow = time.perf_counter() - start
            np.testing.assert_allclose(naive, archive.novelty(queries), atol=1e-4)
            row += f"  {slow * 1e3:>9.0f}ms  {slow / fast:>8.0f}x"
        else:
            row += f"  {'-':>11}  {'-':>9}"
        print(row + f"   (built in {grow:.2f}s)")


if __name__ == "__main__":
    main()
