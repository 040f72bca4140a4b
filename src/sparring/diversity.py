"""Attack diversity as a metric and as a reward.

* **Novelty** of each new attack against the archive of earlier ones: ``1 - mean(top-k cosine
  similarities)`` (DiveR-CT's top-k mean rather than the max or the mean over everything, so the score
  neither saturates nor collapses as the archive grows). :class:`NoveltyArchive` scores a batch with
  chunked matrix products and a running top-k, so 1,000 new attacks against 100,000 archived ones take
  well under a second on a laptop CPU and bounded memory (``benchmarks/bench_novelty.py``).
* **Embedding diversity** of a set: mean pairwise cosine distance (:func:`embedding_diversity`).
* **Self-BLEU** of a set (Zhu et al. 2018, Texygen): the mean over texts of the BLEU of each text with every
  other text as its references. Higher means more repetitive. See :func:`self_bleu` for the exact variant.
"""

from __future__ import annotations

import math
import os
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "NoveltyArchive",
    "embedding_diversity",
    "mean_pairwise_cosine_distance",
    "self_bleu",
    "self_bleu_all",
    "tokenize",
]


# --------------------------------------------------------------------------------------------------
# novelty


class NoveltyArchive:
    """Embeddings of every attack so far, grown geometrically so appending stays amortised O(1).

    ``novelty`` multiplies the queries against the archive ``chunk_size`` rows at a time and keeps only
    the running top-k similarities of each query, so memory is ``O(queries x chunk_size)`` whatever the
    archive size. Embeddings are expected L2-normalised (``Embedder.encode`` returns them so).
    """

    STATE_VERSION = 1

    def __init__(self, dim: int, k: int = 5, chunk_size: int = 4096, capacity: int = 1024):
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = int(k)
        self.dim = int(dim)
        self.chunk_size = int(chunk_size)
        self._data = np.zeros((max(int(capacity), 1), self.dim), dtype=np.float32)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def embeddings(self) -> np.ndarray:
        """A view of the archived rows, ``[len(self), dim]``."""
        return self._data[: self._size]

    def _check(self, embeddings: np.ndarray) -> np.ndarray:
        emb = np.asarray(embeddings, dtype=np.float32)
        if emb.ndim != 2 or emb.shape[1] != self.dim:
            raise ValueError(f"expected embeddings of shape [n, {self.dim}], got {emb.shape}")
        return emb

    def topk_similarities(self, embeddings: np.ndarray) -> np.ndarray:
        """The ``min(k, len(self))`` largest cosine similarities of each row to the archive (unsorted)."""
        q = self._check(embeddings)
        k = min(self.k, self._size)
        if k == 0 or len(q) == 0:
            return np.zeros((len(q), k), dtype=np.float32)
        best: np.ndarray | None = None  # [n, <=k] running top-k
        for start in range(0, self._size, self.chunk_size):
            sims = q @ self._data[start : min(start + self.chunk_size, self._size)].T
            if best is not None:
                sims = np.concatenate([best, sims], axis=1)
            if sims.shape[1] > k:
                sims = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:]
            best = sims
        assert best is not None
        return best

    def novelty(self, embeddings: np.ndarray) -> np.ndarray:
        """Novelty in [0, 2] of each (L2-normalised) row against the archive; 1.0 when the archive is empty.

        The batch is scored against the archive only (not against itself); call :meth:`add` afterwards.
        """
        q = self._check(embeddings)
        if self._size == 0:
            return np.ones(len(q), dtype=np.float32)
        return (1.0 - self.topk_similarities(q).mean(axis=1)).astype(np.float32)

    def add(self, embeddings: np.ndarray) -> None:
        emb = self._check(embeddings)
        need = self._size + len(emb)
        if need > len(self._data):
            grown = np.zeros((max(need, 2 * len(self._data)), self.dim), dtype=np.float32)
            grown[: self._size] = self.embeddings
            self._data = grown
        self._data[self._size : need] = emb
        self._size = need

    def score_and_add(self, embeddings: np.ndarray) -> np.ndarray:
        """:meth:`novelty` then :meth:`add` (what the training loop does each step)."""
        scores = self.novelty(embeddings)
        self.add(embeddings)
        return scores

    # ---- resume -----------------------------------------------------------------------------------

    def state_dict(self, npy_path: str | os.PathLike | None = None) -> dict[str, Any]:
        """Everything needed to resume. JSON-serialisable.

        Without ``npy_path`` the embeddings are nested lists inside the dict (fine for small archives);
        with it they are written there as a ``.npy`` file (atomically) and the dict holds the path.
        """
        state: dict[str, Any] = {
            "version": self.STATE_VERSION,
            "dim": self.dim,
            "k": self.k,
            "size": self._size,
        }
        if npy_path is None:
            state["embeddings"] = self.embeddings.tolist()
        else:
            path = Path(npy_path)
            tmp = path.with_name(f".{path.name}.tmp.npy")
            np.save(tmp, self.embeddings)
            os.replace(tmp, path)
            state["embeddings_path"] = str(path)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict` (replaces the archive's contents)."""
        if state.get("version") != self.STATE_VERSION:
            raise ValueError(f"unsupported NoveltyArchive state version {state.get('version')!r}")
        if int(state["dim"]) != self.dim:
            raise ValueError(f"archive state has dim {state['dim']}, this archive has dim {self.dim}")
        if "embeddings_path" in state:
            emb = np.load(state["embeddings_path"])
        else:
            emb = np.asarray(state["embeddings"], dtype=np.float32).reshape(-1, self.dim)
        if len(emb) != int(state["size"]):
            raise ValueError(f"archive state says {state['size']} rows but holds {len(emb)}")
        self.k = int(state["k"])
        self._data = np.zeros((max(len(emb), 1024), self.dim), dtype=np.float32)
        self._size = 0
        self.add(emb)


# --------------------------------------------------------------------------------------------------
# set diversity


def mean_pairwise_cosine_distance(embeddings: np.ndarray) -> float:
    """Embedding diversity of a batch: mean cosine distance over distinct pairs (rows L2-normalised)."""
    n = len(embeddings)
    if n < 2:
        return 0.0
    sims = embeddings @ embeddings.T
    return float(1.0 - (sims.sum() - np.trace(sims)) / (n * (n - 1)))


def embedding_diversity(embeddings: np.ndarray) -> float:
    """Mean pairwise cosine distance of L2-normalised rows (0: all identical); 0.0 for fewer than 2 rows."""
    return mean_pairwise_cosine_distance(np.asarray(embeddings, dtype=np.float32))


_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Self-BLEU tokens: lower-cased runs of word characters, and each other non-space character alone."""
    return _TOKEN.findall(text.lower())


def self_bleu(texts: Sequence[str], n: int = 4, smooth: float = 0.1) -> float:
    """Mean over texts of the BLEU-``n`` of each text against all the others as references.

    The variant, implemented here (no extra dependency) and checked against ``sacrebleu`` in the tests:

    * tokens from :func:`tokenize` (lower-cased words and punctuation);
    * modified n-gram precision p_m for m = 1..n, each hypothesis n-gram count clipped by its largest
      count in any single reference (standard multi-reference BLEU);
    * "floor" smoothing: a zero match count becomes ``smooth / total`` (NLTK's method1, sacrebleu's
      ``smooth_method="floor", smooth_value=0.1``);
    * effective order: orders longer than the text are left out of the geometric mean (sacrebleu's
      ``effective_order=True``), so a short text is not scored 0 for having no 5-grams;
    * brevity penalty against the reference length closest to the text's (ties: the shorter one).

    Scores are in [0, 1] (not sacrebleu's 0-100). Needs at least two texts (returns ``nan`` otherwise);
    empty texts count as 0. Cost is linear in the total number of n-grams (the best count of each n-gram
    over the other texts comes from a per-n-gram top-2), so thousands of attacks take milliseconds.
    """
    if not n >= 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if len(texts) < 2:
        return float("nan")
    toks = [tokenize(t) for t in texts]
    lengths = [len(t) for t in toks]
    n_texts = len(toks)
    # For every order and n-gram: (best count, index of the text holding it, second best count).
    correct = np.zeros((n_texts, n))
    totals = np.zeros((n_texts, n))
    for m in range(1, n + 1):
        counts = [Counter(tuple(t[i : i + m]) for i in range(len(t) - m + 1)) for t in toks]
        top: dict[tuple[str, ...], list[int]] = {}
        for idx, c in enumerate(counts):
            for gram, cnt in c.items():
                entry = top.get(gram)
                if entry is None:
                    top[gram] = [cnt, idx, 0]
                elif cnt > entry[0]:
                    entry[2], entry[0], entry[1] = entry[0], cnt, idx
                elif cnt > entry[2]:
                    entry[2] = cnt
        for idx, c in enumerate(counts):
            matched = 0
            for gram, cnt in c.items():
                best, holder, second = top[gram]
                matched += min(cnt, second if holder == idx else best)
            correct[idx, m - 1] = matched
            totals[idx, m - 1] = max(lengths[idx] - m + 1, 0)
    sorted_lengths = sorted(lengths)
    scores = []
    for idx in range(n_texts):
        c = lengths[idx]
        if c == 0:
            scores.append(0.0)
            continue
        order = min(n, c)  # effective order
        logs = []
        for m in range(order):
            hit, total = correct[idx, m], totals[idx, m]
            logs.append(math.log((hit if hit > 0 else smooth) / total))
        ref_len = _closest_other_length(sorted_lengths, c)
        bp = 1.0 if c >= ref_len else math.exp(1.0 - ref_len / c)
        scores.append(bp * math.exp(sum(logs) / order))
    return float(np.mean(scores))


def _closest_other_length(sorted_lengths: list[int], c: int) -> int:
    """Among the lengths of the *other* texts (``c`` is one of ``sorted_lengths``), the one closest to c."""
    lo, hi = bisect_left(sorted_lengths, c), bisect_right(sorted_lengths, c)
    if hi - lo >= 2:
        return c
    below = sorted_lengths[lo - 1] if lo > 0 else None
    above = sorted_lengths[hi] if hi < len(sorted_lengths) else None
    if below is None:
        return above  # type: ignore[return-value]
    if above is None or c - below <= above - c:
        return below
    return above


def self_bleu_all(texts: Sequence[str], orders: Sequence[int] = (2, 3, 4, 5)) -> dict[str, float]:
    """``{"self_bleu_2": ..., ..., "self_bleu_5": ...}`` (see :func:`self_bleu`)."""
    return {f"self_bleu_{n}": self_bleu(texts, n) for n in orders}
