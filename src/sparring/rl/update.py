"""The RL update of each role: batch the sampled turns, score frozen log-probs, compute advantages, step.

The maths (advantages, clipped policy loss, KL) lives in ``rl/losses.py`` as pure functions; this module only
moves tensors between them and the optimizers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from sparring.config import Config
from sparring.game.types import Role
from sparring.models.policy import Player, Sample
from sparring.rl.losses import group_advantages, kl_estimate, kl_penalty, policy_loss, reinforce_pp_advantages


@dataclass
class RoleBatch:
    """What a role's update needs: its samples, their rewards and groups, and the frozen log-probs."""

    samples: list[Sample]
    rewards: torch.Tensor  # [B]
    group_ids: torch.Tensor  # [B]
    old_logp: list[torch.Tensor] | None = None  # per sample, [T_i]
    ref_logp: list[torch.Tensor] | None = None


def _pad(rows: Sequence[torch.Tensor], width: int) -> torch.Tensor:
    out = torch.zeros(len(rows), width)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def _minibatches(n: int, size: int) -> list[list[int]]:
    return [list(range(i, min(i + size, n))) for i in range(0, n, size)]


@torch.no_grad()
def score_frozen(player: Player, batch: RoleBatch, minibatch: int) -> None:
    """Log-probs under the sampling weights (for ratios) and the reference weights (for KL)."""
    batch.old_logp, batch.ref_logp = [], []
    for idx in _minibatches(len(batch.samples), minibatch):
        mb = [batch.samples[i] for i in idx]
        for reference, store in ((False, batch.old_logp), (True, batch.ref_logp)):
            logp, mask = player.logprobs(mb, reference=reference)
            store += [row[: int(m.sum())].cpu() for row, m in zip(logp, mask, strict=True)]


def advantages(batch: RoleBatch, cfg: Config) -> list[torch.Tensor]:
    """Per-token advantages for each sample (REINFORCE++ with KL in the reward, or a group baseline)."""
    width = max(max((len(x) for x in batch.old_logp), default=1), 1)
    mask = _pad([torch.ones(len(x)) for x in batch.old_logp], width)
    if cfg.train.algorithm == "reinforce_pp":
        adv = reinforce_pp_advantages(
            batch.rewards,
            _pad(batch.old_logp, width),
            _pad(batch.ref_logp, width),
            mask,
            kl_coef=cfg.train.kl_coef,
            kl_kind=cfg.train.kl_kind,
        )
    else:
        adv = group_advantages(batch.rewards, batch.group_ids, kind=cfg.train.algorithm).unsqueeze(1) * mask
    return [adv[i, : len(x)] for i, x in enumerate(batch.old_logp)]


def accumulate_gradients(
    player: Player, batch: RoleBatch, adv: list[torch.Tensor], cfg: Config
) -> dict[str, float]:
    """One pass over the batch in minibatches; gradients accumulate, the caller steps the optimizer."""
    stats: dict[str, list[float]] = {"loss": [], "clipfrac": [], "approx_kl": [], "kl": []}
    n = len(batch.samples)
    player.model.train()
    for idx in _minibatches(n, cfg.train.minibatch_size):
        logp, mask = player.logprobs([batch.samples[i] for i in idx])
        width = logp.shape[1]
        old = _pad([batch.old_logp[i] for i in idx], width).to(logp.device)
        ref = _pad([batch.ref_logp[i] for i in idx], width).to(logp.device)
        a = _pad([adv[i] for i in idx], width).to(logp.device)
        loss, st = policy_loss(logp, old, a, mask, clip_eps=cfg.train.clip_eps)
        kl = kl_penalty(logp, ref, mask, kind=cfg.train.kl_kind)
        if cfg.train.algorithm != "reinforce_pp":  # group baselines put the KL in the loss, not the reward
            loss = loss + cfg.train.kl_coef * kl
        (loss * len(idx) / n).backward()
        stats["loss"].append(loss.item())
        stats["clipfrac"].append(st["clipfrac"])
        stats["approx_kl"].append(st["approx_kl"])
        stats["kl"].append(kl.item())
    return {k: float(np.mean(v)) for k, v in stats.items()}


def make_optimizers(players: dict[Role, Player], cfg: Config) -> dict[Role, torch.optim.Optimizer]:
    """One AdamW per distinct set of trainable weights (in shared mode both roles step the same one)."""
    by_adapter: dict[tuple[int, str], torch.optim.Optimizer] = {}
    out = {}
    for role in cfg.trained_roles:
        p = players[role]
        key = (id(p.model), p.adapter)
        if key not in by_adapter:
            by_adapter[key] = torch.optim.AdamW(
                p.trainable_parameters(), lr=cfg.role(role).lr, weight_decay=cfg.train.weight_decay
            )
        out[role] = by_adapter[key]
    return out


def update(
    players: dict[Role, Player],
    optimizers: dict[Role, torch.optim.Optimizer],
    batches: dict[Role, RoleBatch],
    cfg: Config,
) -> dict[str, float]:
    metrics: dict[str, float] = {}
    adv = {}
    for role, batch in batches.items():
        score_frozen(players[role], batch, cfg.train.minibatch_size)
        adv[role] = advantages(batch, cfg)
        mask_kl = [
            kl_estimate(o, r, kind=cfg.train.kl_kind).mean()
            for o, r in zip(batch.old_logp, batch.ref_logp, strict=True)
            if len(o)
        ]
        metrics[f"kl/{role}"] = float(torch.stack(mask_kl).mean()) if mask_kl else 0.0
    for _epoch in range(cfg.train.ppo_epochs):
        for role, batch in batches.items():
            for k, v in accumulate_gradients(players[role], batch, adv[role], cfg).items():
                metrics[f"{role}/{k}"] = v
        for opt in {id(o): o for o in optimizers.values()}.values():
            params = [p for g in opt.param_groups for p in g["params"]]
            norm = torch.nn.utils.clip_grad_norm_(params, cfg.train.max_grad_norm)
            opt.step()
            opt.zero_grad(set_to_none=True)
            for role, o in optimizers.items():
                if o is opt:
                    metrics[f"{role}/grad_norm"] = float(norm)
    return metrics
