"""Supervised warm start: teach each role its turn from demonstrations before self-play begins.

    demonstrations (game/demonstrations.py) -> token ids -> next-token loss on the target -> AdamW

The defender's benign targets are its own greedy answers, generated here before any weight moves, so the
warm start teaches *when* to refuse without rewriting *how* it helps.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from sparring.config import Config
from sparring.game.demonstrations import (
    Demonstration,
    alarming_benign_prompt,
    attacker_demonstrations,
    defender_refusal_demonstrations,
)
from sparring.game.prompts import defender_messages
from sparring.game.seeds import BORDERLINE_SOURCE
from sparring.game.types import Role, Seed
from sparring.models.policy import Player, Sample, _eos_ids


def to_sample(player: Player, demo: Demonstration) -> Sample:
    """Token ids of a demonstration: the chat up to the turn (plus prefix), then target and end-of-turn."""
    prompt_ids = player.encode_chat(demo.messages, demo.prefix)
    target_ids = player.tokenizer(demo.target, add_special_tokens=False)["input_ids"]
    return Sample(prompt_ids, [*target_ids, _eos_ids(player.model, player.tokenizer)[0]], demo.target, False)


def sft_loss(player: Player, samples: Sequence[Sample]) -> torch.Tensor:
    """Mean negative log-likelihood per target token (temperature 1: these are targets, not samples)."""
    logp, mask = player.logprobs(samples, temperature=1.0)
    return -(logp * mask).sum() / mask.sum().clamp(min=1)


def fine_tune(
    player: Player,
    samples: list[Sample],
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    minibatch_size: int,
    max_grad_norm: float,
    rng: random.Random,
    on_step: Callable[[int], None] | None = None,
) -> dict[str, float]:
    """Plain supervised fine-tuning of the player's adapter; returns first- and last-epoch mean loss."""
    params = player.trainable_parameters()
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    player.model.train()
    epoch_losses = []
    for _ in range(epochs):
        order = list(range(len(samples)))
        rng.shuffle(order)
        losses = []
        for start in range(0, len(order), batch_size):
            batch = [samples[i] for i in order[start : start + batch_size]]
            for mb_start in range(0, len(batch), minibatch_size):
                mb = batch[mb_start : mb_start + minibatch_size]
                loss = sft_loss(player, mb)
                (loss * len(mb) / len(batch)).backward()
                losses.append(loss.item())
            torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
            opt.step()
            opt.zero_grad(set_to_none=True)
            if on_step is not None:
                on_step(len(batch))
        epoch_losses.append(float(np.mean(losses)))
    return {"loss_first_epoch": epoch_losses[0], "loss_last_epoch": epoch_losses[-1]}


def demonstrations(
    players: dict[Role, Player], cfg: Config, seeds: Sequence[Seed], rng: random.Random
) -> dict[Role, list[Sample]]:
    """Each role's warm-start samples, drawn from the seed pool (the only prompts training ever sees)."""
    harmful = [s for s in seeds if s.label == "harmful"]
    benign = [s for s in seeds if s.label == "benign"]
    w = cfg.warmup
    out: dict[Role, list[Sample]] = {}

    if "defender" in w.roles:
        out["defender"] = _defender_samples(players["defender"], cfg, harmful, benign, rng)
    if "attacker" in w.roles and cfg.attacker.enabled and w.attacker_examples:
        n_h = w.attacker_examples // 2
        picked = rng.sample(harmful, min(n_h, len(harmful))) + rng.sample(
            benign, min(w.attacker_examples - n_h, len(benign))
        )
        demos = attacker_demonstrations(picked, rng, cfg.attacker.reasoning)
        out["attacker"] = [to_sample(players["attacker"], d) for d in demos]
    return out


def _defender_samples(
    defender: Player, cfg: Config, harmful: list[Seed], benign: list[Seed], rng: random.Random
) -> list[Sample]:
    w = cfg.warmup
    refuse = defender_refusal_demonstrations(
        rng.sample(harmful, min(w.harmful_examples, len(harmful))), rng, cfg.defender.system_prompt
    )
    helpful_seeds = pick_benign_seeds(benign, w.benign_examples, w.borderline_share, rng)
    # Some benign requests arrive in an alarming frame; the target is still the base model's own answer.
    prompts = [
        alarming_benign_prompt(s, rng)
        if w.alarming_benign_share and rng.random() < w.alarming_benign_share
        else s.text
        for s in helpful_seeds
    ]
    answers = defender.generate(
        [defender_messages(p, cfg.defender.system_prompt) for p in prompts],
        min(cfg.defender.max_new_tokens, w.answer_tokens or cfg.defender.max_new_tokens),
        batch_size=cfg.eval.batch_size,
        do_sample=False,
    )
    # The model's own answers are kept token for token (also when cut off), so helpfulness is unchanged.
    return [to_sample(defender, d) for d in refuse] + answers


def pick_benign_seeds(benign: list[Seed], n: int, borderline_share: float, rng: random.Random) -> list[Seed]:
    """``n`` benign seeds, ``borderline_share`` of them (as far as there are any) sounding dangerous."""
    borderline = [s for s in benign if s.source == BORDERLINE_SOURCE]
    plain = [s for s in benign if s.source != BORDERLINE_SOURCE]
    n_border = min(round(n * borderline_share), len(borderline))
    picked = rng.sample(borderline, n_border) + rng.sample(plain, min(n - n_border, len(plain)))
    rng.shuffle(picked)
    return picked


def warm_start(
    players: dict[Role, Player],
    cfg: Config,
    seeds: Sequence[Seed],
    on_progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, float]:
    """Fine-tune every role that has demonstrations; roles sharing one adapter train on the union.

    ``on_progress(role, done, total)`` reports demonstrations consumed. Returns ``warmup/...`` metrics.
    """
    rng = random.Random(f"sparring/warmup/{cfg.train.seed}")
    start = time.perf_counter()
    samples = demonstrations(players, cfg, seeds, rng)
    metrics: dict[str, float] = {"warmup/generate_seconds": time.perf_counter() - start}
    by_adapter: dict[tuple[int, str | None], tuple[Player, list[Role], list[Sample]]] = {}
    for role, role_samples in samples.items():
        p = players[role]
        key = (id(p.model), p.adapter)
        entry = by_adapter.setdefault(key, (p, [], []))
        entry[1].append(role)
        entry[2].extend(role_samples)
    for player, roles, role_samples in by_adapter.values():
        name = "+".join(roles)
        total = len(role_samples) * cfg.warmup.epochs
        done = 0

        def advance(n: int, name: str = name, total: int = total) -> None:
            nonlocal done
            done += n
            if on_progress is not None:
                on_progress(name, done, total)

        t0 = time.perf_counter()
        result = fine_tune(
            player,
            role_samples,
            epochs=cfg.warmup.epochs,
            lr=cfg.warmup.lr,
            batch_size=cfg.warmup.batch_size,
            minibatch_size=cfg.train.minibatch_size,
            max_grad_norm=cfg.train.max_grad_norm,
            rng=rng,
            on_step=advance,
        )
        for role in roles:
            metrics |= {f"warmup/{role}/{k}": v for k, v in result.items()}
            metrics[f"warmup/{role}/examples"] = float(len(samples[role]))
            metrics[f"warmup/{role}/seconds"] = time.perf_counter() - t0
    return metrics
