"""Losses and advantages against hand-computed values, plus a one-step learning check."""

from __future__ import annotations

import math

import pytest
import torch

from sparring.rl.losses import (
    dpo_loss,
    group_advantages,
    kl_estimate,
    kl_penalty,
    masked_mean,
    masked_whiten,
    policy_loss,
    reinforce_pp_advantages,
)

MASK = torch.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 0.0]])


# --- masked_mean / masked_whiten -----------------------------------------------------------------


def test_masked_mean_hand_values():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 100.0]])
    assert masked_mean(x, MASK).item() == pytest.approx(15 / 5)
    assert torch.allclose(masked_mean(x, MASK, dim=1), torch.tensor([2.0, 4.5]))
    assert torch.allclose(masked_mean(x, MASK, dim=0), torch.tensor([2.5, 3.5, 3.0]))
    assert masked_mean(x, MASK.bool()).item() == pytest.approx(3.0)  # bool masks work too


def test_masked_mean_empty_mask_is_zero_not_nan():
    x = torch.ones(2, 3)
    assert masked_mean(x, torch.zeros(2, 3)).item() == 0.0
    assert torch.equal(
        masked_mean(x, torch.tensor([[1.0, 0, 0], [0, 0, 0]]), dim=1), torch.tensor([1.0, 0.0])
    )


def test_masked_whiten():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 100.0]])
    w = masked_whiten(x, MASK)
    valid = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    expected = (valid - 3.0) / math.sqrt(2.0)  # population variance of 1..5 is 2
    assert torch.allclose(w[MASK.bool()], expected, atol=1e-6)
    assert w[1, 2].item() == 0.0  # padding is zeroed, and did not affect the statistics
    assert masked_mean(w, MASK).item() == pytest.approx(0.0, abs=1e-6)
    assert masked_mean(w**2, MASK).item() == pytest.approx(1.0, abs=1e-5)


# --- KL estimators -------------------------------------------------------------------------------


def test_kl_estimators_hand_values():
    logp = torch.tensor([[math.log(0.5), math.log(0.2)]])
    ref = torch.tensor([[math.log(0.25), math.log(0.4)]])
    d = torch.tensor([[math.log(2.0), math.log(0.5)]])
    assert torch.allclose(kl_estimate(logp, ref, "k1"), d)
    assert torch.allclose(kl_estimate(logp, ref, "k2"), 0.5 * d**2)
    # k3 = ref/pi - 1 - log(ref/pi): (0.5 - 1 + log 2, 2 - 1 - log 2)
    k3 = torch.tensor([[0.5 - 1 + math.log(2), 2 - 1 - math.log(2)]])
    assert torch.allclose(kl_estimate(logp, ref, "k3"), k3, atol=1e-6)
    assert torch.allclose(kl_estimate(logp, ref), k3, atol=1e-6)  # k3 is the default


def test_kl_estimators_zero_when_equal_and_k3_nonnegative():
    logp = torch.randn(4, 5)
    for kind in ("k1", "k2", "k3"):
        assert torch.allclose(kl_estimate(logp, logp, kind), torch.zeros(4, 5))
    assert (kl_estimate(torch.randn(50, 7) * 3, torch.randn(50, 7) * 3, "k3") >= 0).all()
    assert torch.isfinite(kl_estimate(torch.tensor([-200.0]), torch.tensor([0.0]), "k3")).all()


def test_kl_estimators_unbiased_on_samples():
    # Categorical pi and ref: the sample means of k1 and k3 approach the exact KL(pi || ref).
    torch.manual_seed(0)
    pi = torch.tensor([0.6, 0.3, 0.1])
    ref = torch.tensor([0.3, 0.3, 0.4])
    exact = (pi * (pi / ref).log()).sum().item()
    idx = torch.multinomial(pi, 200_000, replacement=True)
    for kind in ("k1", "k3"):
        est = kl_estimate(pi.log()[idx], ref.log()[idx], kind).mean().item()
        assert est == pytest.approx(exact, abs=0.01)


def test_kl_estimate_unknown_kind():
    with pytest.raises(ValueError, match="k4"):
        kl_estimate(torch.zeros(1), torch.zeros(1), "k4")


def test_kl_penalty():
    logp = torch.tensor([[math.log(0.5), math.log(0.2), 0.0]], requires_grad=True)
    ref = torch.tensor([[math.log(0.25), math.log(0.4), -5.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    kl = kl_penalty(logp, ref, mask)
    expected = ((0.5 - 1 + math.log(2)) + (2 - 1 - math.log(2))) / 2
    assert kl.item() == pytest.approx(expected, abs=1e-6)
    kl.backward()
    assert logp.grad[0, 2].item() == 0.0 and logp.grad[0, 0].item() != 0.0
    assert kl_penalty(logp, ref, mask, kind="k1").item() == pytest.approx(0.0, abs=1e-6)  # log 2 + log 0.5


# --- REINFORCE++ ---------------------------------------------------------------------------------


def _rpp_inputs():
    ref = torch.zeros(2, 3)
    logp = torch.tensor([[0.1, -0.2, 0.3], [0.5, 0.0, 9.0]])  # k1 = logp - ref; last one is padding
    rewards = torch.tensor([1.0, -2.0])
    return rewards, logp, ref


def test_reinforce_pp_returns_hand_example():
    rewards, logp, ref = _rpp_inputs()
    adv = reinforce_pp_advantages(rewards, logp, ref, MASK, kl_coef=0.1, kl_kind="k1", whiten=False)
    # token rewards: row 0 (-0.01, 0.02, -0.03 + 1); row 1 (-0.05, 0 - 2, padding)
    expected = torch.tensor([[0.98, 0.99, 0.97], [-2.05, -2.0, 0.0]])
    assert torch.allclose(adv, expected, atol=1e-6)


def test_reinforce_pp_whitened_globally():
    rewards, logp, ref = _rpp_inputs()
    raw = reinforce_pp_advantages(rewards, logp, ref, MASK, kl_coef=0.1, whiten=False)
    adv = reinforce_pp_advantages(rewards, logp, ref, MASK, kl_coef=0.1)
    assert torch.allclose(adv, masked_whiten(raw, MASK))
    assert masked_mean(adv, MASK).item() == pytest.approx(0.0, abs=1e-6)
    assert masked_mean(adv**2, MASK).item() == pytest.approx(1.0, abs=1e-4)
    assert adv[1, 2].item() == 0.0
    assert (adv[0] > adv[1, :2].max()).all()  # the rewarded sequence keeps its higher advantage


def test_reinforce_pp_without_kl_is_the_reward_everywhere():
    rewards, logp, ref = _rpp_inputs()
    adv = reinforce_pp_advantages(rewards, logp, ref, MASK, kl_coef=0.0, whiten=False)
    assert torch.allclose(adv, torch.tensor([[1.0, 1.0, 1.0], [-2.0, -2.0, 0.0]]))


def test_reinforce_pp_has_no_gradient_and_handles_empty_rows():
    logp = torch.zeros(2, 3, requires_grad=True)
    mask = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    adv = reinforce_pp_advantages(torch.tensor([3.0, 5.0]), logp, torch.zeros(2, 3), mask, 0.1, whiten=False)
    assert not adv.requires_grad
    assert torch.equal(adv, torch.tensor([[3.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))


# --- group baselines -----------------------------------------------------------------------------


def test_grpo_hand_values():
    # groups interleaved: a = {1, 0, 0.5}, b = {2, 4}, c = {7} (singleton)
    rewards = torch.tensor([1.0, 2.0, 0.0, 7.0, 0.5, 4.0])
    groups = torch.tensor([0, 1, 0, 9, 0, 1])
    adv = group_advantages(rewards, groups, "grpo", scale=False)
    assert torch.allclose(adv, torch.tensor([0.5, -1.0, -0.5, 0.0, 0.0, 1.0]))
    adv = group_advantages(rewards, groups, "grpo")  # unbiased std: a -> 0.5, b -> sqrt(2)
    s2 = 1 / math.sqrt(2)
    assert torch.allclose(adv, torch.tensor([1.0, -s2, -1.0, 0.0, 0.0, s2]), atol=1e-5)


def test_rloo_hand_values():
    rewards = torch.tensor([1.0, 2.0, 0.0, 7.0, 0.5, 4.0])
    groups = torch.tensor([0, 1, 0, 9, 0, 1])
    adv = group_advantages(rewards, groups, "rloo")
    # a: 1 - (0 + 0.5)/2, 0 - (1 + 0.5)/2, 0.5 - (1 + 0)/2; b: 2 - 4, 4 - 2; singleton: 0
    assert torch.allclose(adv, torch.tensor([0.75, -2.0, -0.75, 0.0, 0.0, 2.0]))


def test_group_baselines_equal_rewards_give_zero():
    rewards = torch.tensor([1.0, 1.0, 1.0, 1.0])
    groups = torch.tensor([0, 0, 1, 1])
    for kind in ("grpo", "rloo"):
        adv = group_advantages(rewards, groups, kind)
        assert torch.equal(adv, torch.zeros(4)) and torch.isfinite(adv).all()


def test_group_baselines_unknown_kind():
    with pytest.raises(ValueError, match="grpo"):
        group_advantages(torch.zeros(2), torch.zeros(2, dtype=torch.long), "ppo")


# --- policy loss ---------------------------------------------------------------------------------


def test_policy_loss_is_vanilla_pg_on_policy():
    logp = torch.tensor([[-1.0, -2.0, -0.5], [-0.3, -0.7, -9.0]], requires_grad=True)
    adv = torch.tensor([2.0, -1.0])
    loss, stats = policy_loss(logp, logp.detach(), adv, MASK)
    assert loss.item() == pytest.approx(-(3 * 2.0 + 2 * -1.0) / 5)
    loss.backward()
    expected_grad = -adv[:, None] * MASK / 5  # d(-A * logp)/dlogp, token-level mean
    assert torch.allclose(logp.grad, expected_grad)
    assert stats == {"clipfrac": 0.0, "approx_kl": 0.0, "ratio_mean": 1.0}


def test_policy_loss_accepts_token_advantages():
    logp = torch.zeros(2, 3, requires_grad=True)
    adv = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 100.0]])
    loss, _ = policy_loss(logp, logp.detach(), adv, MASK)
    assert loss.item() == pytest.approx(-3.0)


def test_policy_loss_clipping():
    eps = 0.2
    ratios = torch.tensor([[1.5, 1.5, 0.5, 0.5, 1.1, 0.9]])
    adv = torch.tensor([[1.0, -1.0, -1.0, 1.0, 1.0, -1.0]])
    old = torch.full((1, 6), -1.0)
    logp = (old + ratios.log()).requires_grad_(True)
    mask = torch.ones(1, 6)
    loss, stats = policy_loss(logp, old, adv, mask, clip_eps=eps)
    loss.backward()
    grad = logp.grad[0]
    # ratio beyond the clip range in the advantage's direction: no gradient, counted in clipfrac
    assert grad[0].item() == 0.0 and grad[2].item() == 0.0
    # against the advantage's direction, or inside the range: the unclipped gradient -A * rho / N
    for i in (1, 3, 4, 5):
        assert grad[i].item() == pytest.approx(-adv[0, i].item() * ratios[0, i].item() / 6)
    assert stats["clipfrac"] == pytest.approx(2 / 6)
    assert stats["ratio_mean"] == pytest.approx(ratios.mean().item())
    expected_kl = (ratios - 1 - ratios.log()).mean().item()  # k3 of KL(old || new)
    assert stats["approx_kl"] == pytest.approx(expected_kl, rel=1e-5)
    # loss value: -min(rho A, clip(rho) A) per token, averaged
    per_token = [-1.2, 1.5, 0.8, -0.5, -1.1, 0.9]
    assert loss.item() == pytest.approx(sum(per_token) / 6)


def test_policy_loss_ignores_padding():
    logp = torch.tensor([[-1.0, -1.0, -1.0], [-1.0, -1.0, 50.0]], requires_grad=True)
    old = torch.full((2, 3), -1.0)
    loss, stats = policy_loss(logp, old, torch.tensor([1.0, 1.0]), MASK)
    assert loss.item() == pytest.approx(-1.0)
    assert stats["clipfrac"] == 0.0 and stats["ratio_mean"] == pytest.approx(1.0)
    loss.backward()
    assert logp.grad[1, 2].item() == 0.0


@pytest.mark.parametrize(("advantage", "direction"), [(1.0, 1.0), (-1.0, -1.0)])
def test_one_sgd_step_moves_logprob_with_the_advantage(advantage, direction):
    """A linear "policy" over a toy vocabulary: positive advantage raises the sampled sequence's
    log-probability, negative advantage lowers it."""
    torch.manual_seed(0)
    vocab, dim, B, T = 11, 8, 3, 5
    policy = torch.nn.Linear(dim, vocab)
    features = torch.randn(B, T, dim)  # stand-in for the hidden states at each position
    with torch.no_grad():
        tokens = torch.distributions.Categorical(logits=policy(features)).sample()  # [B, T]
    mask = torch.ones(B, T)
    mask[2, 3:] = 0

    def seq_logp():
        logp = torch.log_softmax(policy(features), dim=-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
        return logp, masked_mean(logp, mask, dim=1)

    logp, before = seq_logp()
    advantages = torch.full((B,), advantage)
    loss, _ = policy_loss(logp, logp.detach(), advantages, mask)
    optimizer = torch.optim.SGD(policy.parameters(), lr=0.1)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        _, after = seq_logp()
    assert (direction * (after - before) > 0).all()


def test_dpo_loss_hand_values_and_direction():
    zero = torch.zeros(2)
    assert dpo_loss(zero, zero, beta=0.1).item() == pytest.approx(math.log(2))
    # only the margin over the reference's counts: a policy that prefers the chosen answer exactly as
    # much as the reference did has learned nothing
    assert dpo_loss(torch.tensor([3.0]), torch.tensor([3.0]), beta=0.5).item() == pytest.approx(math.log(2))
    value = dpo_loss(torch.tensor([2.0, -1.0]), torch.tensor([0.0, 1.0]), beta=0.5)
    expected = (math.log1p(math.exp(-1.0)) + math.log1p(math.exp(1.0))) / 2
    assert value.item() == pytest.approx(expected)
    margin = torch.zeros(3, requires_grad=True)
    dpo_loss(margin, torch.zeros(3), beta=0.1).backward()
    assert (margin.grad < 0).all()  # descending the loss raises the chosen answer over the rejected one
