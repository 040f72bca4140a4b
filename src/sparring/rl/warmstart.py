"""Supervised warm start: teach each role its turn from demonstrations before self-play begins.

    demonstrations (game/demonstrations.py) -> token ids -> next-token loss on the target -> AdamW

The defender's benign targets are its own greedy answers, generated here before any weight moves, so the
warm start teaches *when* to refuse without rewriting *how* it helps. With ``warmup.objective=dpo`` each
defender demonstration also gets the wrong answer to the same prompt (a harmful seed: the model's own
compliant answer; a benign seed: a brief refusal) and the loss is DPO on the pair plus the next-token
loss of the right answer: imitation alone mostly teaches a lean towards refusing, the pair teaches which
prompts to refuse.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from sparring.config import Config
from sparring.game.cover import cover_indices
from sparring.game.demonstrations import (
    REFUSALS,
    Demonstration,
    alarming_benign_prompt,
    attacker_demonstrations,
    defender_refusal_demonstrations,
    framed_harmful_prompt,
)
from sparring.game.prompts import defender_messages
from sparring.game.seeds import BORDERLINE_SOURCE
from sparring.game.types import Exchange, Role, Seed, Verdict
from sparring.judges.base import Judge
from sparring.models.policy import Player, Sample, _eos_ids
from sparring.rl.losses import dpo_loss, masked_mean


@dataclass
class PreferencePair:
    """One prompt answered the right way (``chosen``) and the wrong way (``rejected``)."""

    chosen: Sample
    rejected: Sample
    ref_margin: float = 0.0  # log p_ref(chosen) - log p_ref(rejected), set before training


Example = Sample | PreferencePair


def to_sample(player: Player, demo: Demonstration) -> Sample:
    """Token ids of a demonstration: the chat up to the turn (plus prefix), then target and end-of-turn."""
    prompt_ids = player.encode_chat(demo.messages, demo.prefix)
    target_ids = player.tokenizer(demo.target, add_special_tokens=False)["input_ids"]
    return Sample(prompt_ids, [*target_ids, _eos_ids(player.model, player.tokenizer)[0]], demo.target, False)


def sft_loss(player: Player, samples: Sequence[Sample]) -> torch.Tensor:
    """Mean negative log-likelihood per target token (temperature 1: these are targets, not samples)."""
    logp, mask = player.logprobs(samples, temperature=1.0)
    return -masked_mean(logp, mask)


def pair_margins(player: Player, pairs: Sequence[PreferencePair], reference: bool = False):
    """``log p(chosen) - log p(rejected)`` per pair [B], and the chosen answers' (logp, mask)."""
    logp, mask = player.logprobs([p.chosen for p in pairs] + [p.rejected for p in pairs], reference, 1.0)
    seq = logp.sum(-1)  # logprobs() already zeroes the pads
    n = len(pairs)
    return seq[:n] - seq[n:], (logp[:n], mask[:n])


def set_reference_margins(player: Player, pairs: Sequence[PreferencePair], batch_size: int) -> None:
    """Score every pair once under the role's reference weights (the base, or the adapter it started from)."""
    with torch.no_grad():
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start : start + batch_size]
            margins, _ = pair_margins(player, chunk, reference=True)
            for pair, m in zip(chunk, margins.tolist(), strict=True):
                pair.ref_margin = m


def example_loss(player: Player, examples: Sequence[Example], beta: float, sft_weight: float) -> torch.Tensor:
    """Mean loss over a minibatch: next-token loss for demonstrations, DPO (+ chosen NLL) for pairs."""
    samples = [x for x in examples if isinstance(x, Sample)]
    pairs = [x for x in examples if isinstance(x, PreferencePair)]
    total = torch.zeros(())
    if samples:
        total = total + sft_loss(player, samples) * len(samples)
    if pairs:
        margins, (logp, mask) = pair_margins(player, pairs)
        ref = torch.tensor([p.ref_margin for p in pairs], device=margins.device)
        loss = dpo_loss(margins, ref, beta)
        if sft_weight:
            loss = loss - sft_weight * masked_mean(logp, mask)
        total = total + loss * len(pairs)
    return total / len(examples)


def fine_tune(
    player: Player,
    samples: list[Example],
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    minibatch_size: int,
    max_grad_norm: float,
    rng: random.Random,
    on_step: Callable[[int], None] | None = None,
    dpo_beta: float = 0.1,
    dpo_sft_weight: float = 1.0,
) -> dict[str, float]:
    """Fine-tuning of the player's adapter on demonstrations and preference pairs (``example_loss``).

    Returns first- and last-epoch mean loss."""
    pairs = [x for x in samples if isinstance(x, PreferencePair)]
    if pairs:
        set_reference_margins(player, pairs, minibatch_size)
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
                loss = example_loss(player, mb, dpo_beta, dpo_sft_weight)
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
    players: dict[Role, Player],
    cfg: Config,
    seeds: Sequence[Seed],
    rng: random.Random,
    judge: Judge | None = None,
    metrics: dict[str, float] | None = None,
) -> dict[Role, list[Example]]:
    """Each role's warm-start samples, drawn from the seed pool (the only prompts training ever sees).

    ``judge`` is needed with ``warmup.judge_pairs``; what it confirmed is added to ``metrics``."""
    harmful = [s for s in seeds if s.label == "harmful"]
    benign = [s for s in seeds if s.label == "benign"]
    w = cfg.warmup
    out: dict[Role, list[Example]] = {}

    if "defender" in w.roles:
        out["defender"] = _defender_samples(players["defender"], cfg, harmful, benign, rng, judge, metrics)
    if "attacker" in w.roles and cfg.attacker.enabled and w.attacker_examples:
        n_h = w.attacker_examples // 2
        picked = rng.sample(harmful, min(n_h, len(harmful))) + rng.sample(
            benign, min(w.attacker_examples - n_h, len(benign))
        )
        demos = attacker_demonstrations(picked, rng, cfg.attacker.reasoning)
        out["attacker"] = [to_sample(players["attacker"], d) for d in demos]
    return out


def _defender_samples(
    defender: Player,
    cfg: Config,
    harmful: list[Seed],
    benign: list[Seed],
    rng: random.Random,
    judge: Judge | None,
    metrics: dict[str, float] | None,
) -> list[Example]:
    w = cfg.warmup
    judged = w.objective == "dpo" and w.judge_pairs
    if judged and judge is None:
        raise ValueError("warmup.judge_pairs needs a judge to confirm the wrong answers")
    # Judged pairs draw spare seeds, as a pair whose "wrong" answer was not wrong is dropped: a chat model
    # complies with perhaps half of the harmful seeds but refuses few benign ones.
    n_harmful = 2 * w.harmful_examples if judged else w.harmful_examples
    n_benign = w.benign_examples + (w.benign_examples + 3) // 4 if judged else w.benign_examples
    draw = seed_drawer(w.seed_selection, rng)
    harmful_seeds = draw(harmful, n_harmful)
    # Some harmful requests arrive in a jailbreak frame; the right answer is still a refusal.
    harmful_prompts = [
        framed_harmful_prompt(s, rng)
        if w.framed_harmful_share and rng.random() < w.framed_harmful_share
        else s.text
        for s in harmful_seeds
    ]
    refuse = [
        to_sample(defender, d)
        for d in defender_refusal_demonstrations(
            harmful_seeds, rng, cfg.defender.system_prompt, prompts=harmful_prompts
        )
    ]
    helpful_seeds = pick_benign_seeds(benign, n_benign, w.borderline_share, rng, draw)
    # Some benign requests arrive in an alarming frame; the target is still the base model's own answer.
    prompts = [
        alarming_benign_prompt(s, rng)
        if w.alarming_benign_share and rng.random() < w.alarming_benign_share
        else s.text
        for s in helpful_seeds
    ]
    # DPO also needs the answer to avoid on harmful seeds: the model's own, generated in the same pass.
    wrong_on_harmful = harmful_prompts if w.objective == "dpo" else []
    answers = defender.generate(
        [defender_messages(p, cfg.defender.system_prompt) for p in prompts + wrong_on_harmful],
        min(cfg.defender.max_new_tokens, w.answer_tokens or cfg.defender.max_new_tokens),
        batch_size=cfg.eval.batch_size,
        do_sample=False,
    )
    # The model's own answers are kept token for token (also when cut off), so helpfulness is unchanged.
    helpful, complied = answers[: len(prompts)], answers[len(prompts) :]
    if w.objective == "sft":
        return refuse + helpful
    refusals_of_benign = [
        to_sample(
            defender,
            Demonstration(defender_messages(p, cfg.defender.system_prompt), "", rng.choice(REFUSALS)),
        )
        for p in prompts
    ]
    against_harm = [PreferencePair(r, c) for r, c in zip(refuse, complied, strict=True)]
    for_help = [PreferencePair(h, r) for h, r in zip(helpful, refusals_of_benign, strict=True)]
    if judged:
        assert judge is not None
        exchanges = [Exchange(p, a.text) for p, a in zip(prompts + wrong_on_harmful, answers, strict=True)]
        verdicts = judge(exchanges)
        helped = [_below(v, "refusal") for v in verdicts[: len(prompts)]]
        harmed = [not _below(v, "response_harmful", missing=True) for v in verdicts[len(prompts) :]]
        if metrics is not None:
            metrics["warmup/defender/harmful_answered_harmfully"] = float(np.mean(harmed)) if harmed else 0.0
            metrics["warmup/defender/benign_answered"] = float(np.mean(helped)) if helped else 0.0
        against_harm = [p for p, ok in zip(against_harm, harmed, strict=True) if ok]
        for_help = [p for p, ok in zip(for_help, helped, strict=True) if ok]
    return against_harm[: w.harmful_examples] + for_help[: w.benign_examples]


def _below(verdict: Verdict | None, field: str, missing: bool = False) -> bool:
    """Whether the judge put ``field`` under 0.5; ``missing`` when it gave no verdict or abstained on it."""
    value = None if verdict is None else getattr(verdict, field)
    return missing if value is None else value < 0.5


SeedDraw = Callable[[list[Seed], int], list[Seed]]


def seed_drawer(selection: str, rng: random.Random) -> SeedDraw:
    """``draw(pool, n)``: ``n`` seeds of ``pool`` (all if it has fewer), as ``warmup.seed_selection`` says.

    ``random`` is a draw from ``rng``; ``cover`` takes the medoid of each of ``n`` k-means clusters of the
    pool's MiniLM embeddings (``game/cover.py``), with the clustering seeded from ``rng``.
    """
    if selection == "random":
        return lambda pool, n: rng.sample(pool, min(n, len(pool)))
    if selection != "cover":
        raise ValueError(f"warmup.seed_selection must be 'random' or 'cover', got {selection!r}")

    def cover(pool: list[Seed], n: int) -> list[Seed]:
        if n <= 0:
            return []
        if n >= len(pool):
            return rng.sample(pool, len(pool))
        from sparring.embeddings import encode_cached

        # Seeds are one or two sentences: 64 word pieces keep their meaning at a fraction of the cost.
        # The pools are the same run after run, so their vectors come from the cache after the first.
        vectors = encode_cached([s.text for s in pool], max_seq_length=64)
        return [pool[i] for i in cover_indices(vectors, n, rng.randrange(2**31))]

    return cover


def pick_benign_seeds(
    benign: list[Seed],
    n: int,
    borderline_share: float,
    rng: random.Random,
    draw: SeedDraw | None = None,
) -> list[Seed]:
    """``n`` benign seeds, ``borderline_share`` of them (as far as there are any) sounding dangerous.

    ``draw`` picks within each group (``seed_drawer``; a draw from ``rng`` by default)."""
    draw = draw or seed_drawer("random", rng)
    borderline = [s for s in benign if s.source == BORDERLINE_SOURCE]
    plain = [s for s in benign if s.source != BORDERLINE_SOURCE]
    n_border = min(round(n * borderline_share), len(borderline))
    picked = draw(borderline, n_border) + draw(plain, n - n_border)
    rng.shuffle(picked)
    return picked


def warm_start(
    players: dict[Role, Player],
    cfg: Config,
    seeds: Sequence[Seed],
    judge: Judge | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, float]:
    """Fine-tune every role that has demonstrations; roles sharing one adapter train on the union.

    ``on_progress(role, done, total)`` reports demonstrations consumed. Returns ``warmup/...`` metrics.
    """
    rng = random.Random(f"sparring/warmup/{cfg.train.seed}")
    start = time.perf_counter()
    metrics: dict[str, float] = {}
    samples = demonstrations(players, cfg, seeds, rng, judge, metrics)
    metrics["warmup/generate_seconds"] = time.perf_counter() - start
    by_adapter: dict[tuple[int, str | None], tuple[Player, list[Role], list[Example]]] = {}
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
            dpo_beta=cfg.warmup.dpo_beta,
            dpo_sft_weight=cfg.warmup.dpo_sft_weight,
        )
        for role in roles:
            metrics |= {f"warmup/{role}/{k}": v for k, v in result.items()}
            metrics[f"warmup/{role}/examples"] = float(len(samples[role]))
            metrics[f"warmup/{role}/seconds"] = time.perf_counter() - t0
    return metrics
