"""Sampling through a LoRA adapter merged into the base weights, against the adapter as separate layers.

    python benchmarks/bench_merged_eval.py [--model smollm2-135m-instruct] [--prompts 64] [--repeats 2]

The evaluation after training runs inside ``Player.merged()`` and ``sparring eval`` loads an adapter folded
into its base (``load_player``): no LoRA products per layer while sampling. This times the demo defender's
greedy answers (48 tokens, batches of 32, the demo's heldout prompts) both ways in one run, best of
``--repeats``, and counts the answers that come out the same. The adapter is the preset's LoRA shape with
random non-zero weights (a fresh adapter is the identity; the values do not change the cost).

Measured 2026-12-07 on a 2-core AMD EPYC with AVX2 only (fp32), 64 prompts: separate 32.7 s, merged 26.3 s,
**1.24x**, 64 of 64 answers the same. A one-off check the same day on a preset run's trained defender,
through ``load_player`` with and without the merge, gave 38.3 s against 29.2 s (1.31x), 64 of 64 the same.
"""

from __future__ import annotations

import argparse
import timeit

import torch

from sparring.config import load_config
from sparring.evals.suites import load_suite
from sparring.models.policy import build_players


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    cfg = load_config(preset="demo", overrides={"model": args.model})
    defender = build_players(cfg)["defender"]
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in defender.model.named_parameters():
            if f"lora_B.{defender.adapter}." in name:
                param.copy_(torch.randn(param.shape, generator=gen) * 0.02)
    prompts = [p.prompt for p in load_suite("heldout", limit=args.prompts)]
    conversations = [[{"role": "user", "content": p}] for p in prompts]

    def answers() -> list[str]:
        return [s.text for s in defender.generate(conversations, cfg.eval.max_new_tokens, do_sample=False)]

    def merged_answers() -> list[str]:
        with defender.merged():
            return answers()

    print(f"{args.model}, {torch.get_num_threads()} threads, {'bf16' if defender.bf16 else 'fp32'}, ", end="")
    print(f"{len(prompts)} prompts, {cfg.eval.max_new_tokens} new tokens")
    separate, merged = answers(), merged_answers()  # warm-up, and the answers to compare
    t_separate = min(timeit.repeat(answers, number=1, repeat=args.repeats))
    t_merged = min(timeit.repeat(merged_answers, number=1, repeat=args.repeats))
    same = sum(a == b for a, b in zip(separate, merged, strict=True))
    print(f"separate {t_separate:.1f} s, merged {t_merged:.1f} s, ratio {t_separate / t_merged:.2f}")
    print(f"answers the same: {same} of {len(prompts)}")


if __name__ == "__main__":
    main()
