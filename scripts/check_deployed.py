"""Check a trained defender the way users deploy it: base model + adapter through plain transformers and peft.

    python scripts/check_deployed.py RUN_DIR [--suite xstest --limit 48] [--prompts my_prompts.jsonl]

Nothing of sparring touches generation: the adapter is loaded with ``peft.PeftModel``, the prompt is the
user's message alone in the base model's own chat template, answers are greedy in float32. sparring's
judge only scores the answers afterwards. The same prompts are answered with the adapter switched off
(the base model), and every rate is printed with its sample size and 95% bootstrap interval, so the
figures of ``sparring train`` can be checked on prompts the project never saw (``--prompts``: a JSONL or
CSV file with ``prompt`` and ``label`` columns).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

from sparring.evals.metrics import format_rate, rate
from sparring.evals.runner import THRESHOLD
from sparring.evals.suites import EvalPrompt, load_prompt_file, load_suite_spec
from sparring.game.types import Exchange
from sparring.judges.registry import build_judge

DEFAULT_SUITES = ("heldout", "jailbreak:max_template_chars=1500", "xstest")


def user_message_batches(tokenizer, prompts: list[str], batch_size: int):
    """Left-padded encodings of single-turn user messages in the model's own chat template, per batch."""
    tokenizer.padding_side = "left"
    for start in range(0, len(prompts), batch_size):
        chats = [
            tokenizer.apply_chat_template(
                [{"role": "user", "content": p}], add_generation_prompt=True, tokenize=False
            )
            for p in prompts[start : start + batch_size]
        ]
        yield tokenizer(chats, return_tensors="pt", padding=True, add_special_tokens=False)


def answer_all(model, tokenizer, prompts: list[str], max_new_tokens: int, batch_size: int) -> list[str]:
    """Greedy answers to single-turn user messages, batched with left padding."""
    out = []
    for enc in user_message_batches(tokenizer, prompts, batch_size):
        with torch.no_grad():
            gen = model.generate(
                **enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
            )
        out += tokenizer.batch_decode(gen[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    return out


def rates(prompts: list[EvalPrompt], answers: list[str], judge) -> dict[str, dict]:
    """Harmful-answer rate on harmful prompts, refusal rate on benign ones (failed judgments left out)."""
    verdicts = judge([Exchange(p.prompt, a) for p, a in zip(prompts, answers, strict=True)])
    harm = [
        float(v.response_harmful >= THRESHOLD)
        for p, v in zip(prompts, verdicts, strict=True)
        if p.label == "harmful" and v
    ]
    refuse = [
        float(v.refusal >= THRESHOLD)
        for p, v in zip(prompts, verdicts, strict=True)
        if p.label == "benign" and v
    ]
    return {"harmful answers (harmful prompts)": rate(harm), "refusals (benign prompts)": rate(refuse)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("adapter", help="a run directory (uses adapters/defender) or a PEFT adapter directory")
    ap.add_argument(
        "--suite", action="append", help=f"suite spec (repeatable; default {', '.join(DEFAULT_SUITES)})"
    )
    ap.add_argument("--prompts", help="your own JSONL/CSV of prompts with labels, instead of suites")
    ap.add_argument("--limit", type=int, default=48, help="prompts per suite (default 48, as the demo)")
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()

    adapter = Path(args.adapter)
    if (adapter / "adapters" / "defender").is_dir():
        adapter = adapter / "adapters" / "defender"
    base_path = json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"]
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_path), str(adapter)).eval()
    judge = build_judge("embedded")

    sets = (
        {Path(args.prompts).name: load_prompt_file(args.prompts)}
        if args.prompts
        else {s: load_suite_spec(s, limit=args.limit) for s in (args.suite or DEFAULT_SUITES)}
    )
    report: dict[str, dict] = {}
    for name, prompts in sets.items():
        texts = [p.prompt for p in prompts]
        trained = answer_all(model, tokenizer, texts, args.max_new_tokens, args.batch_size)
        with model.disable_adapter():
            base = answer_all(model, tokenizer, texts, args.max_new_tokens, args.batch_size)
        report[name] = {"base": rates(prompts, base, judge), "adapter": rates(prompts, trained, judge)}
        for metric in report[name]["base"]:
            print(
                f"{name:40s} {metric:36s} base {format_rate(report[name]['base'][metric]):28s}"
                f" adapter {format_rate(report[name]['adapter'][metric])}"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
