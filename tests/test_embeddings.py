"""The on-disk cache of pool embeddings: a hit reads the file, a bad file is replaced, order is free."""

from __future__ import annotations

import numpy as np

from sparring.embeddings import EMBEDDING_DIM, encode_cached, get_embedder

TEXTS = [
    "How do I bake bread?",
    "Explain photosynthesis.",
    "Write a haiku about rain.",
    "How do I bake bread?",
]


def _files(cache) -> list:
    return sorted((cache / "embeddings").glob("*.npy"))


def test_first_call_embeds_and_writes_one_file(tmp_path):
    vectors = encode_cached(TEXTS, max_seq_length=64, cache_dir=tmp_path)
    fresh = get_embedder().encode(TEXTS, max_seq_length=64)
    assert vectors.shape == (len(TEXTS), EMBEDDING_DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, fresh, atol=1e-5)
    np.testing.assert_array_equal(vectors[0], vectors[3])  # duplicates keep their rows
    assert len(_files(tmp_path)) == 1
    assert not list((tmp_path / "embeddings").glob("*.tmp"))


def test_second_call_reads_the_file(tmp_path):
    encode_cached(TEXTS, max_seq_length=64, cache_dir=tmp_path)
    (path,) = _files(tmp_path)
    # Put recognisable rows in the file (in the sorted order it is kept in): a hit must return them.
    marked = np.zeros((len(TEXTS), EMBEDDING_DIM), dtype=np.float32)
    order = sorted(range(len(TEXTS)), key=TEXTS.__getitem__)
    for row, i in enumerate(order):
        marked[row, 0] = i
    np.save(path, marked)
    got = encode_cached(TEXTS, max_seq_length=64, cache_dir=tmp_path)
    assert got[:, 0].tolist() == [0, 1, 2, 3]


def test_another_order_hits_the_same_file_and_keeps_rows_with_their_texts(tmp_path):
    first = encode_cached(TEXTS, max_seq_length=64, cache_dir=tmp_path)
    shuffled = [TEXTS[i] for i in (2, 0, 3, 1)]
    second = encode_cached(shuffled, max_seq_length=64, cache_dir=tmp_path)
    np.testing.assert_array_equal(second, first[[2, 0, 3, 1]])
    assert len(_files(tmp_path)) == 1


def test_other_texts_or_window_are_a_miss(tmp_path):
    encode_cached(TEXTS, max_seq_length=64, cache_dir=tmp_path)
    encode_cached(TEXTS[:3], max_seq_length=64, cache_dir=tmp_path)
    encode_cached(TEXTS, max_seq_length=32, cache_dir=tmp_path)
    assert len(_files(tmp_path)) == 3


def test_a_truncated_or_misshapen_file_is_embedded_again_and_replaced(tmp_path):
    good = encode_cached(TEXTS, max_seq_length=64, cache_dir=tmp_path)
    (path,) = _files(tmp_path)
    for bad in (path.read_bytes()[:100], b"", None):
        if bad is None:
            np.save(path, np.ones((2, EMBEDDING_DIM), dtype=np.float32))
        else:
            path.write_bytes(bad)
        np.testing.assert_array_equal(encode_cached(TEXTS, max_seq_length=64, cache_dir=tmp_path), good)
        assert np.load(path).shape == (len(TEXTS), EMBEDDING_DIM)
