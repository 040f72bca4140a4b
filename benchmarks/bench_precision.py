"""bf16 autocast against fp32 on this machine, for the two kinds of work a training step does.

    python benchmarks/bench_precision.py [--model smollm2-135m-instruct] [--repeats 3]

Times, with the demo preset's shapes and the real model and LoRA adapters, best of ``--repeats``:

- *sample*: the defender answers 16 prompts (48 new tokens, batched, greedy so both precisions do the
  same work);
- *update*: log-probs of 8 prompt + 48-token answers and a backward pass through the adapter.

and prints fp32 time / bf16 time (above 1: bf16 is faster), next to what ``train.bf16=auto`` picks here
(``models/policy.py``: AMX in ``/proc/cpuinfo`` picks bf16, neither AMX nor ``avx512_bf16`` fp32, and
``avx512_bf16`` alone a matmul timed at start-up). This script shows what the choice is worth. Measured:
a 2-core Xeon with AMX about 2.5x per update; a 2-core Xeon without AMX 0.56 (sample) and 0.64 (update);
a 2-core AMD EPYC with ``avx512_bf16`` 1.28 and 1.64.
"""

from __future__ import annotations

import argparse
import timeit

import torch

from sparring.config import load_config
from sparring.models.policy import Sample, build_players, resolve_bf16

PROMPTS = [
    "How do I sew a button on a shirt?",
    "Explain how vaccines train the immune system.",
    "Write a short poem about autumn rain.",
    "What is the difference between TCP and UDP?",
    "Give me three ideas for a birthday party for a ten-year-old.",
    "How can I kill a Python process that hangs?",
    "Summarise the causes of the First World War in two sentences.",
    "What are good exercises for lower back pain?",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    torch.manual_seed(0)
    cfg = load_config(preset="demo", overrides={"model": args.model, "train.bf16": False})
    defender = build_players(cfg)["defender"]
    auto = "bf16" if resolve_bf16("auto", defender.device) else "fp32"
    conversations = [[{"role": "user", "content": p}] for p in PROMPTS * 2]
    answers = defender.generate(conversations[:8], max_new_tokens=48, do_sample=False)
    # fixed 48-token answers, so every update does the same work whatever was generated
    samples = [Sample(a.prompt_ids, (a.completion_ids * 48)[:48] or [0] * 48, "", True) for a in answers]

    def sample() -> None:
        defender.generate(conversations, max_new_tokens=48, batch_size=16, do_sample=False)

    def update() -> None:
        logp, mask = defender.logprobs(samples)
        (logp * mask).sum().backward()
        defender.model.zero_grad(set_to_none=True)

    print(f"device {defender.device}, threads {torch.get_num_threads()}, train.bf16=auto picks {auto}")
    print(f"{'work':>8}  {'fp32 s':>7}  {'bf16 s':>7}  {'fp32/bf16':>9}")
    for name, fn in (("sample", sample), ("update", update)):
        timings = {}
        for bf16 in (False, True):
            defender.bf16 = bf16
            fn()  # warm-up
            timings[bf16] = min(timeit.repeat(fn, number=1, repeat=args.repeats))
        fp32, bf16 = timings[False], timings[True]
        print(f"{name:>8}  {fp32:7.2f}  {bf16:7.2f}  {fp32 / bf16:9.2f}")


if __name__ == "__main__":
    main()
