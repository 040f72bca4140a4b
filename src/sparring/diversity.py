"""Attack diversity as a metric and as a reward: novelty of each new attack against the archive of earlier ones.

Novelty is ``1 - mean(top-k cosine similarities)`` to the archive (DiveR-CT's top-k mean rather than the max
or the mean over everything, so the score neither saturates nor collapses as the archive grows).
"""

from __future__ import annotations

import numpy as np


class NoveltyArchive:
    """Embeddings of every attack so far, grown in chunks so appending stays amortised O(1)."""

    def __init__(self, dim: int, k: int = 5):
        self.k = k
        self._data = np.zeros((1024, dim), dtype=np.float32)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def embeddings(self) -> np.ndarray:
        return self._data[: self._size]

    def novelty(self, embeddings: np.ndarray) -> np.ndarray:
        """Novelty in [0, 2] of each (L2-normalised) row against the archive; 1.0 when the archive is empty."""
        if self._size == 0:
            return np.ones(len(embeddings), dtype=np.float32)
        sims = embeddings @ self.embeddings.T
        k = min(self.k, self._size)
        top = np.partition(sims, -k, axis=1)[:, -k:]
        return (1.0 - top.mean(axis=1)).astype(np.float32)

    def add(self, embeddings: np.ndarray) -> None:
        need = self._size + len(embeddings)
        if need > len(self._data):
            grown = np.zeros((max(need, 2 * len(self._data)), self._data.shape[1]), dtype=np.float32)
            grown[: self._size] = self.embeddings
            self._data = grown
        self._data[self._size : need] = embeddings
        self._size = need


def mean_pairwise_cosine_distance(embeddings: np.ndarray) -> float:
    """Embedding diversity of a batch: mean cosine distance over distinct pairs (rows L2-normalised)."""
    n = len(embeddings)
    if n < 2:
        return 0.0
    sims = embeddings @ embeddings.T
    return float(1.0 - (sims.sum() - np.trace(sims)) / (n * (n - 1)))
