"""Scoring what samples share once, against once per sample, on the demo's shapes.

    python benchmarks/bench_shared_prompts.py [--model smollm2-135m-instruct] [--repeats 2]

``Player.logprobs`` (``share_prompts=True``, the default) runs the tokens every prompt of a minibatch begins
with (the chat template's system turn) once, then each distinct prompt's remaining tokens once, then the
completions, each stage on the keys and values of the one before. Three variants of the same work, in one
run: *per sample* (``share_prompts=False``: prompt and completion in one pass per sample, as before
2026-12-07), *prompts once* (distinct prompts once, no common prefix: 2026-12-07 morning), *all shared*
(the default). All give the same log-probs and gradients (``tests/models/test_policy.py``). Times, best of
``--repeats``, real model and LoRA adapters, the preset's minibatches:

- *warm-start DPO*: 32 preference pairs on real seeds (a brief refusal and 16 other tokens; each pair is two
  answers to one prompt), 8 pairs per minibatch, loss and backward as the warm start computes them;
- *attacker update*: 32 attacker turns, two per seed as in self-play (``train.group_size=2``), 64 tokens each,
  8 per minibatch, log-probs and backward;
- *attacker scoring*: the same turns' no-gradient pass (old and reference log-probs);
- *defender update*: 32 answers of 48 tokens to 32 different prompts (only the system turn is shared);
- *attacker warm start*: 32 demonstrations of 80 tokens on 32 different attacker prompts.

and prints per sample / all shared and prompts once / all shared (above 1: sharing is faster). Measured
2026-12-07 on a 2-core AMD EPYC with AVX2 only (fp32, ``--repeats 2``): warm-start DPO 1.76x and 1.08x,
attacker update 1.62x and 1.09x, attacker scoring 1.94x and 1.34x, defender update 0.93x and 1.03x,
attacker warm start 1.24x and 1.24x. The defender update's per sample and prompts once run the same code
(nothing repeats) and differed by 10% in that run: its 0.93x is within the noise.
"""

from __future__ import annotations

import argparse
import functools
import random
import timeit

import torch

from sparring.config import load_config
from sparring.game.demonstrations import REFUSALS
from sparring.game.prompts import attacker_messages, attacker_prefix, defender_messages
from sparring.game.seeds import load_seeds
from sparring.models import policy
from sparring.models.policy import Player, Sample, build_players
from sparring.rl.warmstart import PreferencePair, example_loss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    torch.manual_seed(0)
    cfg = load_config(preset="demo", overrides={"model": args.model})
    players = build_players(cfg)
    attacker, defender = players["attacker"], players["defender"]
    rng = random.Random(0)
    seeds = rng.sample(load_seeds(), 32)
    tok = defender.tokenizer
    pairs = []
    for s in seeds:
        prompt = defender.encode_chat(defender_messages(s.text))
        refusal = tok(rng.choice(REFUSALS), add_special_tokens=False)["input_ids"]
        pairs.append(PreferencePair(Sample(prompt, refusal, "", False), Sample(prompt, [9] * 16, "", True)))
    turns = [
        Sample(attacker.encode_chat(attacker_messages(s), attacker_prefix()), [7] * 64, "", True)
        for s in seeds[:16]
        for _ in range(2)
    ]
    answers = [Sample(defender.encode_chat(defender_messages(s.text)), [7] * 48, "", True) for s in seeds]
    demos = [
        Sample(attacker.encode_chat(attacker_messages(s), attacker_prefix()), [7] * 80, "", False)
        for s in seeds
    ]

    def grad_pass(player: Player, samples: list[Sample]) -> None:
        player.model.train()
        for i in range(0, len(samples), 8):
            logp, mask = player.logprobs(samples[i : i + 8])
            (logp * mask).sum().backward()
        player.model.zero_grad(set_to_none=True)

    def dpo_pass() -> None:
        defender.model.train()
        for i in range(0, len(pairs), 8):  # 8 pairs (16 sequences), as the warm start's minibatches
            example_loss(defender, pairs[i : i + 8], beta=0.1, sft_weight=1.0).backward()
        defender.model.zero_grad(set_to_none=True)

    @torch.no_grad()
    def scoring() -> None:
        for i in range(0, len(turns), 8):
            attacker.logprobs(turns[i : i + 8])
            attacker.logprobs(turns[i : i + 8], reference=True)

    default_min_prefix = policy.MIN_SHARED_PREFIX
    work = {
        "warm-start DPO (pairs)": dpo_pass,
        "attacker update": lambda: grad_pass(attacker, turns),
        "attacker scoring": scoring,
        "defender update": lambda: grad_pass(defender, answers),
        "attacker warm start": lambda: grad_pass(attacker, demos),
    }
    prompt_len = sum(len(p.chosen.prompt_ids) for p in pairs) / len(pairs)
    turn_len = sum(len(t.prompt_ids) for t in turns) / len(turns)
    print(
        f"{args.model}, {torch.get_num_threads()} threads, {'bf16' if defender.bf16 else 'fp32'}; prompts: "
        f"defender ~{prompt_len:.0f} tokens, attacker ~{turn_len:.0f}"
    )
    # per sample: one pass per sample; prompts once: each distinct prompt once (2026-12-07 morning);
    # all shared: also the system turn every prompt begins with, once per minibatch (the default)
    variants = {"per sample": (False, False), "prompts once": (True, False), "all shared": (True, True)}
    print(f"{'work':24s} {'per sample s':>12} {'prompts once s':>14} {'all shared s':>12} {'ratios':>12}")
    for name, fn in work.items():
        times = {}
        for variant, (share, prefix) in variants.items():
            policy.MIN_SHARED_PREFIX = default_min_prefix if prefix else 10**9
            for player in (attacker, defender):  # an instance attribute shadows the method for this run
                player.logprobs = functools.partial(Player.logprobs, player, share_prompts=share)
            fn()  # warm-up
            times[variant] = min(timeit.repeat(fn, number=1, repeat=args.repeats))
        t = list(times.values())
        print(
            f"{name:24s} {t[0]:12.2f} {t[1]:14.2f} {t[2]:12.2f} {t[0] / t[2]:5.2f} {t[1] / t[2]:5.2f}",
            flush=True,
        )
    policy.MIN_SHARED_PREFIX = default_min_prefix
    print("ratios: per sample / all shared, prompts once / all shared (above 1: sharing is faster)")


if __name__ == "__main__":
    main()
