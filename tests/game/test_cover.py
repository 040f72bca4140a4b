"""Representative seed subsets: one per k-means cluster, distinct, and the random draw unchanged."""

import random

import numpy as np

from sparring.game.cover import cover_indices
from sparring.game.types import Seed
from sparring.rl.warmstart import pick_benign_seeds, seed_drawer


def _blobs(sizes: list[int], dim: int = 8, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    centres = np.eye(dim)[: len(sizes)] * 10.0
    rows = [centres[i] + rng.normal(scale=0.1, size=(n, dim)) for i, n in enumerate(sizes)]
    return np.vstack(rows), [i for i, n in enumerate(sizes) for _ in range(n)]


def test_cover_takes_one_row_from_each_cluster_whatever_its_size():
    x, blob = _blobs([30, 3, 5])
    for seed in range(5):
        chosen = cover_indices(x, 3, seed)
        assert sorted(blob[i] for i in chosen) == [0, 1, 2]
        # a random draw of three from these rows would mostly come from the big blob
    picks = random.Random(0).sample(range(len(x)), 3)
    assert sorted(blob[i] for i in picks) != [0, 1, 2]


def test_cover_takes_the_row_nearest_each_centre():
    x, _ = _blobs([9, 9])
    x[4], x[13] = np.eye(8)[0] * 10.0, np.eye(8)[1] * 10.0  # one row at each blob's exact centre
    assert sorted(cover_indices(x, 2, seed=0)) == [4, 13]


def test_cover_gives_k_distinct_rows_even_with_duplicates():
    x = np.vstack([np.zeros((6, 4)), np.ones((2, 4))])  # six identical rows: k-means cannot split them
    chosen = cover_indices(x, 5, seed=0)
    assert len(chosen) == len(set(chosen)) == 5
    assert {6, 7} & set(chosen)  # the distinct rows are covered first
    assert cover_indices(x, 8, seed=0) == list(range(8))
    assert cover_indices(x, 20, seed=0) == list(range(8))
    assert cover_indices(x, 0, seed=0) == []


def test_random_selection_is_the_draw_runs_made_before_cover_existed():
    pool = [Seed(f"s{i}", f"prompt {i}", "benign", "alpaca") for i in range(50)]
    draw = seed_drawer("random", random.Random(3))
    assert draw(pool, 7) == random.Random(3).sample(pool, 7)
    assert len(draw(pool, 80)) == 50


def test_cover_spans_the_topics_of_a_pool():
    topics = {  # six near-paraphrases of one request, three of another, two of a third
        "bread": [
            "How do I bake bread at home?",
            "What is the best way to bake a loaf of bread?",
            "Give me a simple recipe for baking bread.",
            "How can I make homemade bread?",
            "Steps to bake bread from scratch?",
            "How long do I bake a bread loaf in the oven?",
        ],
        "chess": [
            "How does castling work in chess?",
            "Explain the castling rule in chess.",
            "When is castling allowed in a chess game?",
        ],
        "moon": [
            "How far away is the Moon from Earth?",
            "What is the distance between the Earth and the Moon?",
        ],
    }
    pool = [
        Seed(f"{t}{i}", text, "benign", "alpaca")
        for t, texts in topics.items()
        for i, text in enumerate(texts)
    ]
    for seed in range(3):
        picked = seed_drawer("cover", random.Random(seed))(pool, 3)
        assert sorted(s.id.rstrip("0123456789") for s in picked) == ["bread", "chess", "moon"]
    borderline = [
        Seed(f"b{i}", f"How do I kill a {p} process?", "benign", "borderline")
        for i, p in enumerate(["Python", "stuck", "zombie"])
    ]
    picked = pick_benign_seeds(
        pool + borderline, 4, 0.25, random.Random(0), seed_drawer("cover", random.Random(0))
    )
    assert sum(s.source == "borderline" for s in picked) == 1 and len({s.id for s in picked}) == 4
