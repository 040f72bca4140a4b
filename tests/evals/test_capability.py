"""Capability retention: the score is the mean per-token log-likelihood of reference answers."""

import math

import pytest
import torch

from sparring.evals.capability import (
    capability_score,
    compare_capability,
    item_logprobs,
    load_capability_items,
)
from sparring.models.policy import Player, load_base


@pytest.fixture(scope="module")
def player(tiny_model_dir):
    model, tok = load_base("tiny-random-llama", None, torch.device("cpu"))
    return Player("defender", model, tok, temperature=0.7)


def test_shipped_items():
    items = load_capability_items()
    assert len(items) == 200
    assert len({it.id for it in items}) == 200
    assert all(it.instruction.strip() and it.output.strip() for it in items)
    sample = load_capability_items(10, seed=1)
    assert len(sample) == 10 and sample == load_capability_items(10, seed=1)
    assert sample != load_capability_items(10, seed=2)


def direct_mean_logprob(player, item, max_tokens):
    """Unbatched teacher forcing over instruction + answer, at temperature 1."""
    prompt = player.encode_chat([{"role": "user", "content": item.instruction}])
    answer = player.tokenizer(item.output, add_special_tokens=False)["input_ids"][:max_tokens]
    ids = torch.tensor([prompt + answer])
    with torch.no_grad():
        logits = player.model(input_ids=ids).logits[0, :-1].float()
    logp = torch.log_softmax(logits, -1).gather(-1, ids[0, 1:, None])[:, 0][len(prompt) - 1 :]
    return logp.mean().item()


def test_score_matches_direct_computation(player):
    items = load_capability_items(4)
    result = capability_score(player, items=items, max_answer_tokens=12, batch_size=3, per_item=True)
    expected = [direct_mean_logprob(player, it, 12) for it in items]
    assert [r["mean_logprob"] for r in result["per_item"]] == pytest.approx(expected, abs=1e-4)
    assert result["mean_logprob"] == pytest.approx(sum(expected) / 4, abs=1e-4)
    assert result["n"] == 4 and result["tokens"] == 48
    assert math.isfinite(result["ci_low"]) and result["ci_low"] <= result["mean_logprob"] <= result["ci_high"]
    assert player.temperature == 0.7  # scored at temperature 1 without touching the player


def test_a_model_that_prefers_the_references_scores_higher(player):
    items = load_capability_items(3)
    before = capability_score(player, items=items, max_answer_tokens=8, per_item=True)
    # add a bias to the logits of every reference-answer token: teacher-forced likelihood must go up
    targets = {
        t for it in items for t in player.tokenizer(it.output, add_special_tokens=False)["input_ids"][:8]
    }
    bias = torch.zeros(player.model.config.vocab_size)
    bias[sorted(targets)] = 3.0
    handle = player.model.get_output_embeddings().register_forward_hook(lambda _m, _i, out: out + bias)
    try:
        after = capability_score(player, items=items, max_answer_tokens=8, per_item=True)
    finally:
        handle.remove()
    assert after["mean_logprob"] > before["mean_logprob"]
    diff = compare_capability(before, after)
    assert diff["n"] == 3 and diff["value"] > 0 and diff["ci_low"] > 0


def test_item_logprobs_keeps_order_and_ids(player):
    items = load_capability_items(5)
    rows = item_logprobs(player, items, max_answer_tokens=4, batch_size=2)
    assert [r["id"] for r in rows] == [it.id for it in items]
    assert all(r["tokens"] == 4 for r in rows)
