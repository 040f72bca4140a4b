"""Offline capability retention: how likely a player still finds ordinary helpful answers.

Safety training can buy a lower attack success rate with lost helpfulness. Over-refusal rates catch the
blunt form (refusing benign prompts); this catches the quiet one (answers getting worse), without a
judge model: the mean per-token log-likelihood, under the player, of reference answers to benign
instructions (teacher forcing; the instruction is the user turn of the player's chat template, the
reference answer is the assistant turn). Compare a defender before and after training with
:func:`compare_capability`: a drop means the defender moved probability away from helpful text.

The shipped items (``sparring/data/capability/alpaca_eval.jsonl``, 200 AlpacaEval instructions with an
example model's answers, CC BY-NC 4.0) are described in that folder's ``SOURCE.txt``.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import torch

from sparring.evals.compare import paired_difference
from sparring.evals.metrics import bootstrap_ci
from sparring.evals.suites import read_shipped
from sparring.models.policy import Player, Sample

__all__ = [
    "CapabilityItem",
    "capability_score",
    "compare_capability",
    "item_logprobs",
    "load_capability_items",
]


@dataclass(frozen=True)
class CapabilityItem:
    id: str
    instruction: str
    output: str
    dataset: str = ""


@cache
def _shipped() -> tuple[CapabilityItem, ...]:
    # the same file is the alpaca_eval suite's (its instructions, as plain benign prompts)
    rows = read_shipped("capability/alpaca_eval.jsonl")
    return tuple(CapabilityItem(r["id"], r["instruction"], r["output"], r.get("dataset", "")) for r in rows)


def load_capability_items(n: int | None = None, seed: int = 0) -> list[CapabilityItem]:
    """The shipped items; with ``n``, a deterministic sample of ``n`` (given ``seed``) in the file's order."""
    items = list(_shipped())
    if n is None or n >= len(items):
        return items
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    chosen = set(random.Random(f"sparring/capability/{seed}").sample(range(len(items)), n))
    return [it for i, it in enumerate(items) if i in chosen]


def _samples(
    player: Player, items: list[CapabilityItem], max_answer_tokens: int, system_prompt: str | None
) -> list[Sample]:
    out = []
    for it in items:
        messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
        messages.append({"role": "user", "content": it.instruction})
        completion = player.tokenizer(it.output, add_special_tokens=False)["input_ids"][:max_answer_tokens]
        out.append(Sample(player.encode_chat(messages), completion, it.output, False))
    return out


@torch.no_grad()
def item_logprobs(
    player: Player,
    items: list[CapabilityItem],
    *,
    batch_size: int = 8,
    max_answer_tokens: int = 256,
    system_prompt: str | None = None,
) -> list[dict[str, Any]]:
    """Per item: ``{"id", "tokens", "sum_logprob", "mean_logprob"}`` of the reference answer under ``player``.

    Scored at temperature 1 whatever the player samples at, in eval mode (no LoRA dropout). The answer is
    the assistant turn's text without an end-of-turn token, cut to ``max_answer_tokens``.
    """
    scorer = copy.copy(player)
    scorer.temperature = 1.0
    model = player.model
    was_training = model.training
    model.eval()
    try:
        results = []
        samples = _samples(player, items, max_answer_tokens, system_prompt)
        order = sorted(
            range(len(samples)), key=lambda i: len(samples[i].prompt_ids) + len(samples[i].completion_ids)
        )
        per_item: dict[int, dict[str, Any]] = {}
        for start in range(0, len(order), batch_size):
            idx = [i for i in order[start : start + batch_size] if samples[i].completion_ids]
            if not idx:
                continue
            logp, mask = scorer.logprobs([samples[i] for i in idx])
            sums = (logp * mask).sum(-1).tolist()
            counts = mask.sum(-1).tolist()
            for i, s, c in zip(idx, sums, counts, strict=True):
                per_item[i] = {"tokens": int(c), "sum_logprob": float(s), "mean_logprob": float(s / c)}
        for i, it in enumerate(items):
            if i in per_item:
                results.append({"id": it.id, **per_item[i]})
        return results
    finally:
        model.train(was_training)


def capability_score(
    player: Player,
    n: int | None = 100,
    *,
    items: list[CapabilityItem] | None = None,
    seed: int = 0,
    batch_size: int = 8,
    max_answer_tokens: int = 256,
    system_prompt: str | None = None,
    per_item: bool = False,
) -> dict[str, Any]:
    """Mean per-token log-likelihood of reference answers, averaged over items, with a 95% bootstrap interval.

    Returns ``{"mean_logprob", "ci_low", "ci_high", "n", "tokens", "token_mean_logprob"}``: ``mean_logprob``
    is the mean over items of each answer's mean token log-prob (every item weighs the same; the
    interval resamples items); ``token_mean_logprob`` pools all tokens. ``per_item=True`` adds the
    per-item values (needed by :func:`compare_capability` for a paired comparison). Higher is better;
    compare only scores computed on the same items and tokenizer.
    """
    items = load_capability_items(n, seed) if items is None else items
    rows = item_logprobs(
        player, items, batch_size=batch_size, max_answer_tokens=max_answer_tokens, system_prompt=system_prompt
    )
    if not rows:
        return {
            "mean_logprob": None,
            "ci_low": None,
            "ci_high": None,
            "n": 0,
            "tokens": 0,
            "token_mean_logprob": None,
        }
    means = [r["mean_logprob"] for r in rows]
    low, high = bootstrap_ci(means, seed=seed)
    tokens = sum(r["tokens"] for r in rows)
    out: dict[str, Any] = {
        "mean_logprob": float(np.mean(means)),
        "ci_low": low,
        "ci_high": high,
        "n": len(rows),
        "tokens": tokens,
        "token_mean_logprob": sum(r["sum_logprob"] for r in rows) / tokens,
    }
    if per_item:
        out["per_item"] = rows
    return out


def compare_capability(before: dict[str, Any], after: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    """``after - before`` mean log-prob over the items both scored, paired, with a 95% bootstrap interval.

    Both arguments are :func:`capability_score` results computed with ``per_item=True``.
    """
    if "per_item" not in before or "per_item" not in after:
        raise ValueError("compare_capability needs capability_score(..., per_item=True) results")
    a = {r["id"]: r["mean_logprob"] for r in before["per_item"]}
    b = {r["id"]: r["mean_logprob"] for r in after["per_item"]}
    ids = sorted(set(a) & set(b))
    diff = paired_difference([a[i] for i in ids], [b[i] for i in ids], seed=seed)
    return {**diff, "n": len(ids)}
