"""Pure tensor functions for the RL update: masking, KL estimators, advantages and the policy loss.

Shapes: ``B`` sequences (completions) in a batch, ``T`` completion tokens (right-padded). ``logp``,
``old_logp`` and ``ref_logp`` are the log-probabilities of the sampled tokens under the current,
sampling-time and reference policies; ``mask`` is 1 on completion tokens and 0 on padding (bool or
float). Nothing here knows about models, roles or the game: the loop calls these once per role.

What is simplified: discount ``gamma = 1`` and no value function (REINFORCE++ and group baselines are
critic-free); advantages are computed without gradient.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

__all__ = [
    "dpo_loss",
    "group_advantages",
    "kl_estimate",
    "kl_penalty",
    "masked_mean",
    "masked_whiten",
    "policy_loss",
    "reinforce_pp_advantages",
]

KLKind = Literal["k1", "k2", "k3"]


def masked_mean(x: Tensor, mask: Tensor, dim: int | None = None) -> Tensor:
    """Mean of ``x`` over the positions where ``mask`` is set.

    x, mask: same shape (e.g. [B, T]). ``dim=None`` gives a scalar; ``dim=1`` gives [B]. A slice with
    no valid position yields 0 rather than NaN.
    """
    mask = mask.to(x.dtype)
    if dim is None:
        return (x * mask).sum() / mask.sum().clamp(min=1e-8)
    return (x * mask).sum(dim) / mask.sum(dim).clamp(min=1e-8)


def masked_whiten(x: Tensor, mask: Tensor, eps: float = 1e-8) -> Tensor:
    """``(x - mean) / sqrt(var + eps)`` with mean and (population) variance over the valid positions.

    x, mask: [B, T] (any matching shapes). Returns the same shape, 0 at masked positions.
    """
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask)
    return (x - mean) * torch.rsqrt(var + eps) * mask.to(x.dtype)


def kl_estimate(logp: Tensor, ref_logp: Tensor, kind: KLKind = "k3") -> Tensor:
    """Per-token estimate of KL(pi || pi_ref) from tokens sampled from pi.

    logp, ref_logp: [B, T]; returns [B, T]. With ``d = logp - ref_logp`` (Schulman's estimators):
    ``k1 = d`` (unbiased, can be negative), ``k2 = d**2 / 2`` (biased, low variance),
    ``k3 = exp(-d) - 1 + d`` (unbiased, always >= 0). For k3, ``d`` is clamped to [-20, 20] so a
    single extreme token cannot overflow ``exp``.
    """
    d = logp - ref_logp
    if kind == "k1":
        return d
    if kind == "k2":
        return 0.5 * d.square()
    if kind == "k3":
        d = d.clamp(-20.0, 20.0)
        return torch.expm1(-d) + d
    raise ValueError(f"unknown KL estimator {kind!r}; expected 'k1', 'k2' or 'k3'")


def reinforce_pp_advantages(
    rewards: Tensor,
    logp: Tensor,
    ref_logp: Tensor,
    mask: Tensor,
    kl_coef: float,
    kl_kind: KLKind = "k1",
    whiten: bool = True,
) -> Tensor:
    """REINFORCE++ token advantages for one role's batch.

    rewards: [B] scalar episode rewards; logp, ref_logp, mask: [B, T]. Returns [B, T] (0 on padding).
    Token rewards are ``r_t = -kl_coef * kl_t``, plus the episode reward at each sequence's last valid
    token; the advantage is the return-to-go ``sum_{s >= t} r_s`` (gamma = 1), whitened over all
    valid tokens of the batch (global normalisation) when ``whiten``.
    """
    with torch.no_grad():
        mask_f = mask.to(logp.dtype)
        token_r = -kl_coef * kl_estimate(logp, ref_logp, kl_kind) * mask_f
        positions = torch.arange(mask.shape[1], device=mask.device)
        last = (positions * (mask_f > 0)).argmax(dim=1)  # [B] index of each row's last valid token
        token_r[torch.arange(mask.shape[0], device=mask.device), last] += rewards.to(logp.dtype)
        token_r = token_r * mask_f  # a row with no valid token gets nothing
        returns = token_r.flip(1).cumsum(1).flip(1) * mask_f
        return masked_whiten(returns, mask_f) if whiten else returns


def group_advantages(
    rewards: Tensor,
    group_ids: Tensor,
    kind: Literal["grpo", "rloo"],
    scale: bool = True,
    eps: float = 1e-6,
) -> Tensor:
    """Critic-free baselines from groups of completions of the same prompt.

    rewards: [B] float; group_ids: [B] long (equal ids = same group, any order). Returns [B].
    ``grpo``: ``r - mean_g``, divided by ``std_g + eps`` (unbiased std) when ``scale`` (set False for
    Dr. GRPO). ``rloo``: ``r - mean of the other members of the group`` (``scale`` is ignored: RLOO is
    unscaled). A group of one has no baseline and gets 0.
    """
    with torch.no_grad():
        r = rewards.to(torch.float64)
        _, inv = torch.unique(group_ids, return_inverse=True)
        n_groups = int(inv.max().item()) + 1 if inv.numel() else 0
        count = torch.zeros(n_groups, dtype=r.dtype, device=r.device).index_add_(0, inv, torch.ones_like(r))
        total = torch.zeros(n_groups, dtype=r.dtype, device=r.device).index_add_(0, inv, r)
        n = count[inv]
        alone = n < 2
        if kind == "grpo":
            mean = (total / count)[inv]
            adv = r - mean
            if scale:
                sq = torch.zeros(n_groups, dtype=r.dtype, device=r.device).index_add_(0, inv, adv.square())
                std = (sq[inv] / (n - 1).clamp(min=1)).sqrt()
                adv = adv / (std + eps)
        elif kind == "rloo":
            adv = r - (total[inv] - r) / (n - 1).clamp(min=1)
        else:
            raise ValueError(f"unknown group baseline {kind!r}; expected 'grpo' or 'rloo'")
        adv = torch.where(alone, torch.zeros_like(adv), adv)
        return adv.to(rewards.dtype if rewards.is_floating_point() else torch.float32)


def policy_loss(
    logp: Tensor,
    old_logp: Tensor,
    advantages: Tensor,
    mask: Tensor,
    clip_eps: float = 0.2,
) -> tuple[Tensor, dict[str, float]]:
    """PPO clipped surrogate, averaged over all valid tokens of the batch.

    logp: [B, T] (with gradient); old_logp: [B, T] (sampling-time, detached here); advantages: [B, T]
    or [B] (broadcast over tokens); mask: [B, T]. Per token ``-min(rho * A, clip(rho, 1-eps, 1+eps) * A)``
    with ``rho = exp(logp - old_logp)``. When ``logp == old_logp`` (one update per rollout) this is the
    vanilla policy gradient ``-A * logp``. Stats: ``clipfrac`` (share of tokens whose gradient the clip
    zeroes: rho > 1+eps with A > 0, or rho < 1-eps with A < 0), ``approx_kl`` (k3 estimate of
    KL(old || new)) and ``ratio_mean``.
    """
    adv = advantages.detach()
    if adv.dim() == 1:
        adv = adv.unsqueeze(1)
    log_ratio = logp - old_logp.detach()
    ratio = torch.exp(log_ratio)
    surr = ratio * adv
    surr_clipped = ratio.clamp(1.0 - clip_eps, 1.0 + clip_eps) * adv
    loss = masked_mean(-torch.minimum(surr, surr_clipped), mask)
    with torch.no_grad():
        clipped = ((ratio > 1.0 + clip_eps) & (adv > 0)) | ((ratio < 1.0 - clip_eps) & (adv < 0))
        stats = {
            "clipfrac": masked_mean(clipped.to(logp.dtype), mask).item(),
            "approx_kl": masked_mean(kl_estimate(old_logp, logp, "k3"), mask).item(),
            "ratio_mean": masked_mean(ratio, mask).item(),
        }
    return loss, stats


def kl_penalty(logp: Tensor, ref_logp: Tensor, mask: Tensor, kind: KLKind = "k3") -> Tensor:
    """Scalar KL(pi || pi_ref) estimate averaged over valid tokens, for a KL term in the loss (GRPO).

    logp: [B, T] (with gradient); ref_logp: [B, T] (detached here); mask: [B, T]. Returns a scalar.
    """
    return masked_mean(kl_estimate(logp, ref_logp.detach(), kind), mask)


def dpo_loss(policy_margin: Tensor, ref_margin: Tensor, beta: float) -> Tensor:
    """Direct preference optimisation: ``-log sigmoid(beta * (policy_margin - ref_margin))``, averaged.

    policy_margin, ref_margin: [B], ``log p(chosen) - log p(rejected)`` summed over each answer's tokens,
    under the trained and the reference weights. The loss falls as the policy prefers the chosen answer
    *more than the reference did*, so it teaches the contrast between the two answers, not either alone.
    """
    return -torch.nn.functional.logsigmoid(beta * (policy_margin - ref_margin)).mean()
