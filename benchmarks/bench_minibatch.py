"""Minibatch size against time for the same gradient, with the demo preset's shapes.

    python benchmarks/bench_minibatch.py [--model smollm2-135m-instruct] [--sizes 8 4 2 1] [--repeats 2]

Gradients accumulate over a batch (``train.minibatch_size`` sequences per forward/backward pass), so the
minibatch size changes only how the work is cut, not the update. This script times, for each size, best of
``--repeats``, with the real model and LoRA adapter:

- *attacker update*: log-probs and backward of 16 attacker turns (the real attacker prompt around
  seeds from the pool, 48-token rewrites), what one self-play step trains on;
- *defender update*: the same for 16 defender turns (a seed as the visible prompt, 48-token answers);
- *warm-start DPO*: 16 preference pairs (a seed, a chosen and a rejected 16-token answer);
- *scoring*: the no-gradient log-prob pass (old and reference log-probs) of the attacker turns,

and prints each time as a ratio to the first size (above 1: faster than it). On this project's 2-core CPU
(2026-11-24) the preset's 8 was the fastest for every kind of work: 2 at a time took 10-23% longer, 1 at a
time 22-56% longer. A quick test on random token ids had suggested the opposite; this is the measurement on
the real shapes.
"""

from __future__ import annotations

import argparse
import random
import timeit

import torch

from sparring.config import load_config
from sparring.game.prompts import attacker_messages, defender_messages
from sparring.game.seeds import load_seeds
from sparring.models.policy import Player, Sample, build_players
from sparring.rl.warmstart import PreferencePair, example_loss


def fixed_samples(player: Player, conversations: list, tokens: int) -> list[Sample]:
    """Each conversation with a fixed-length completion, so every size does exactly the same work."""
    return [Sample(player.encode_chat(c), [7] * tokens, "", True) for c in conversations]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 4, 2, 1])
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    torch.manual_seed(0)
    cfg = load_config(preset="demo", overrides={"model": args.model})
    players = build_players(cfg)
    attacker, defender = players["attacker"], players["defender"]
    seeds = random.Random(0).sample(load_seeds(), 16)
    att = fixed_samples(attacker, [attacker_messages(s) for s in seeds], 48)
    dfd = fixed_samples(defender, [defender_messages(s.text) for s in seeds], 48)
    short = fixed_samples(defender, [defender_messages(s.text) for s in seeds], 16)
    pairs = [PreferencePair(c, Sample(c.prompt_ids, [9] * 16, "", True)) for c in short]

    def grad_pass(player: Player, samples: list[Sample], size: int) -> None:
        player.model.train()
        for i in range(0, len(samples), size):
            logp, mask = player.logprobs(samples[i : i + size])
            (logp * mask).sum().backward()
        player.model.zero_grad(set_to_none=True)

    def dpo_pass(size: int) -> None:
        defender.model.train()
        for i in range(0, len(pairs), size):
            example_loss(defender, pairs[i : i + size], beta=0.1, sft_weight=1.0).backward()
        defender.model.zero_grad(set_to_none=True)

    @torch.no_grad()
    def scoring(size: int) -> None:
        for i in range(0, len(att), size):
            attacker.logprobs(att[i : i + size])

    work = {
        "attacker update": lambda n: grad_pass(attacker, att, n),
        "defender update": lambda n: grad_pass(defender, dfd, n),
        "warm-start DPO (pairs)": dpo_pass,
        "scoring (no grad)": scoring,
    }
    mean_len = sum(len(s.prompt_ids) + 48 for s in att) / len(att)
    print(f"{args.model}, {torch.get_num_threads()} threads; attacker turns ~{mean_len:.0f} tokens")
    for name, fn in work.items():
        times = {
            n: min(timeit.repeat(lambda fn=fn, n=n: fn(n), number=1, repeat=args.repeats)) for n in args.sizes
        }
        base = times[args.sizes[0]]
        cells = "  ".join(f"mb={n}: {t:5.1f}s ({base / t:.2f}x)" for n, t in times.items())
        print(f"{name:24s} {cells}", flush=True)


if __name__ == "__main__":
    main()
