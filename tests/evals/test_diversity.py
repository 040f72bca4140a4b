"""Self-BLEU, embedding diversity and the novelty archive, against values computed by hand."""

import json
import math

import numpy as np
import pytest

from sparring.diversity import (
    NoveltyArchive,
    embedding_diversity,
    mean_pairwise_cosine_distance,
    self_bleu,
    self_bleu_all,
    tokenize,
)

# --------------------------------------------------------------------------------------------------
# Self-BLEU


def test_tokenize():
    assert tokenize("How do I, today?") == ["how", "do", "i", ",", "today", "?"]


def test_self_bleu_hand_computed_equal_lengths():
    # "a b c" vs "a b d": unigram precision 2/3, bigram 1/2, no brevity penalty; symmetric.
    assert self_bleu(["a b c", "a b d"], n=2) == pytest.approx(math.sqrt(2 / 3 * 1 / 2))


def test_self_bleu_hand_computed_brevity_penalty():
    # "a b" vs ref "a b c d": p1 = 1, p2 = 1, BP = exp(1 - 4/2).
    # "a b c d" vs ref "a b": p1 = 2/4, p2 = 1/3, BP = 1.
    expected = (math.exp(-1) + math.sqrt(0.5 * 1 / 3)) / 2
    assert self_bleu(["a b", "A b c d"], n=2) == pytest.approx(expected)


def test_self_bleu_clipping_and_floor_smoothing():
    # "the the the" vs "the cat": p1 = min(3, 1)/3, p2 = 0 -> 0.1/2 (floor), BP = 1.
    # "the cat" vs "the the the": p1 = 1/2, p2 = 0 -> 0.1/1, BP = exp(1 - 3/2).
    expected = (math.sqrt(1 / 3 * 0.05) + math.exp(-0.5) * math.sqrt(0.5 * 0.1)) / 2
    assert self_bleu(["the the the", "the cat"], n=2) == pytest.approx(expected)


def test_self_bleu_effective_order_and_closest_reference():
    # "a b" against refs "a b" (len 2) and "a b c d e f" (len 6): closest ref length 2 -> BP = 1; its
    # 3-grams do not exist, so BLEU-3 of "a b" uses orders 1-2 only: p1 = p2 = 1 -> 1.
    texts = ["a b", "a b", "a b c d e f"]
    # "a b c d e f": p1 = 2/6 (a, b), p2 = 1/5, p3 = 0 -> 0.1/4; refs both length 2 -> BP = 1
    long_score = (2 / 6 * 1 / 5 * 0.1 / 4) ** (1 / 3)
    assert self_bleu(texts, n=3) == pytest.approx((1 + 1 + long_score) / 3)


def test_self_bleu_extremes_and_all_orders():
    same = ["attack the castle at night"] * 4
    assert self_bleu(same, 4) == pytest.approx(1.0)
    # nothing shared: both orders floored, p1 = 0.1/2, p2 = 0.1/1
    assert self_bleu(["alpha beta", "gamma delta"], 2) == pytest.approx(math.sqrt(0.05 * 0.1))
    assert math.isnan(self_bleu(["only one"], 2))
    scores = self_bleu_all(["a b c d e", "a b c d f", "z y x w v"])
    assert list(scores) == ["self_bleu_2", "self_bleu_3", "self_bleu_4", "self_bleu_5"]
    assert scores["self_bleu_2"] >= scores["self_bleu_3"] >= scores["self_bleu_4"] >= scores["self_bleu_5"]


def test_self_bleu_matches_sacrebleu():
    pytest.importorskip("sacrebleu")
    from sacrebleu.metrics import BLEU

    rng = np.random.default_rng(0)
    words = [
        "the",
        "a",
        "cat",
        "dog",
        "sat",
        "on",
        "mat",
        "how",
        "to",
        "make",
        "tell",
        "me",
        "story",
        "about",
        ",",
        ".",
        "?",
    ]
    texts = [" ".join(rng.choice(words, size=rng.integers(1, 15))) for _ in range(25)] + ["", "cat"]
    for n in (2, 3, 4, 5):
        bleu = BLEU(
            max_ngram_order=n, smooth_method="floor", smooth_value=0.1, effective_order=True, tokenize="none"
        )
        ours = []
        for i, t in enumerate(texts):
            refs = [" ".join(tokenize(x)) for j, x in enumerate(texts) if j != i]
            hyp = " ".join(tokenize(t))
            ours.append(bleu.sentence_score(hyp, refs).score / 100 if hyp else 0.0)
        assert self_bleu(texts, n) == pytest.approx(float(np.mean(ours)), rel=1e-9)


# --------------------------------------------------------------------------------------------------
# embedding diversity


def test_embedding_diversity():
    e = np.eye(3, dtype=np.float32)
    assert embedding_diversity(e) == pytest.approx(1.0)
    assert embedding_diversity(np.repeat(e[:1], 3, axis=0)) == pytest.approx(0.0)
    # pairs: (e0, e0) distance 0, (e0, e1) 1, (e0, e1) 1 -> mean 2/3
    assert embedding_diversity(e[[0, 0, 1]]) == pytest.approx(2 / 3)
    assert embedding_diversity(e[:1]) == 0.0
    assert embedding_diversity(e) == mean_pairwise_cosine_distance(e)


# --------------------------------------------------------------------------------------------------
# novelty archive


def _unit(rng, n, dim=8):
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_novelty_hand_computed():
    archive = NoveltyArchive(dim=3, k=2)
    assert archive.novelty(np.eye(3, dtype=np.float32)[:1]).tolist() == [1.0]  # empty archive
    h = np.float32(1 / math.sqrt(2))
    archive.add(np.array([[1, 0, 0], [0, 1, 0], [h, h, 0]], dtype=np.float32))
    nov = archive.novelty(np.eye(3, dtype=np.float32))
    # e0: sims (1, 0, .707) -> top-2 mean (1 + .707)/2; e1 likewise; e2: all 0 -> 1
    assert nov == pytest.approx([1 - (1 + h) / 2, 1 - (1 + h) / 2, 1.0], abs=1e-6)
    # k larger than the archive uses every row
    small = NoveltyArchive(dim=3, k=10)
    small.add(np.eye(3, dtype=np.float32)[:2])
    assert small.novelty(np.eye(3, dtype=np.float32)[:1]) == pytest.approx([0.5])


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 10_000])
def test_chunked_novelty_matches_dense(chunk_size):
    rng = np.random.default_rng(1)
    archive = NoveltyArchive(dim=8, k=5, chunk_size=chunk_size)
    stored = _unit(rng, 300)
    archive.add(stored)
    q = _unit(rng, 40)
    sims = q @ stored.T
    dense = 1 - np.sort(sims, axis=1)[:, -5:].mean(axis=1)
    np.testing.assert_allclose(archive.novelty(q), dense, atol=1e-5)


def test_archive_growth_and_score_and_add():
    rng = np.random.default_rng(2)
    archive = NoveltyArchive(dim=8, k=3, capacity=4)
    batches = [_unit(rng, n) for n in (3, 5, 1, 40)]
    for b in batches:
        archive.score_and_add(b)
    assert len(archive) == 49
    np.testing.assert_array_equal(archive.embeddings, np.concatenate(batches))
    # an archived attack is not novel: its top-1 similarity is 1
    assert archive.novelty(batches[0][:1])[0] < 1 - 1 / 3 + 1e-5
    with pytest.raises(ValueError, match="shape"):
        archive.add(np.zeros((2, 5), dtype=np.float32))


@pytest.mark.parametrize("to_file", [False, True])
def test_state_round_trip(tmp_path, to_file):
    rng = np.random.default_rng(3)
    archive = NoveltyArchive(dim=8, k=4)
    archive.add(_unit(rng, 1500))
    state = archive.state_dict(tmp_path / "archive.npy" if to_file else None)
    state = json.loads(json.dumps(state))  # JSON-serialisable either way
    restored = NoveltyArchive(dim=8)
    restored.load_state_dict(state)
    assert len(restored) == 1500 and restored.k == 4
    np.testing.assert_array_equal(restored.embeddings, archive.embeddings)
    q = _unit(rng, 10)
    np.testing.assert_array_equal(restored.novelty(q), archive.novelty(q))
    restored.add(q)  # still grows after a restore
    assert len(restored) == 1510
    with pytest.raises(ValueError, match="dim"):
        NoveltyArchive(dim=4).load_state_dict(state)
