"""Check a trained defender the way users deploy it: base model + adapter through plain transformers and peft.

    python scripts/check_deployed.py RUN_DIR [--suite xstest --limit 48] [--prompts my_prompts.jsonl]
        [--json figures.json] [--answers answers.jsonl]

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
from contextlib import ExitStack, nullcontext
from pathlib import Path

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

from sparring.evals.metrics import format_rate, rate
from sparring.evals.runner import THRESHOLD
from sparring.evals.suites import EvalPrompt, load_prompt_file, load_suite_spec
from sparring.game.types import Exchange
from sparring.judges.registry import build_judge
from sparring.rl.loop import progress_bar

DEFAULT_SUITES = ("heldout", "jailbreak:max_template_chars=1500", "xstest", "alpaca_eval")


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


def answer_all(
    model, tokenizer, prompts: list[str], max_new_tokens: int, batch_size: int, on_batch=None
) -> list[str]:
    """Greedy answers to single-turn user messages, batched with left padding; ``on_batch(n)`` after each."""
    out = []
    for enc in user_message_batches(tokenizer, prompts, batch_size):
        with torch.no_grad():
            gen = model.generate(
                **enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
            )
        out += tokenizer.batch_decode(gen[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        if on_batch:
            on_batch(len(gen))
    return out


def rates(prompts: list[EvalPrompt], verdicts: list) -> dict[str, dict]:
    """Harmful-answer rate on harmful prompts, refusal rate on benign ones (failed judgments left out)."""
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


def answer_rows(name: str, prompts: list[EvalPrompt], answers: dict, verdicts: dict):
    """One row per prompt: each side's answer and the judge's scores of it (None: judgment failed)."""
    for k, p in enumerate(prompts):
        row = {"set": name, "id": p.id, "label": p.label, "prompt": p.prompt}
        for side, texts in answers.items():
            v = verdicts[side][k]
            row[f"{side}_answer"] = texts[k]
            row[f"{side}_verdict"] = v and {"refusal": v.refusal, "response_harmful": v.response_harmful}
        yield row


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
    ap.add_argument(
        "--answers",
        help="write every prompt's base and adapter answers with their verdicts here (JSONL; answers to "
        "harmful prompts are harmful text)",
    )
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
    with ExitStack() as stack:
        progress = stack.enter_context(progress_bar())  # fp32 on a CPU: minutes per hundred prompts
        # answers to harmful prompts are harmful text: a file of its own, never the printed summary
        answers_file = None
        if args.answers:
            answers_file = stack.enter_context(open(args.answers, "w", encoding="utf-8"))
        for name, prompts in sets.items():
            texts = [p.prompt for p in prompts]
            answers = {}
            for side in ("adapter", "base"):
                task = progress.add_task(f"{name}: {side}", total=len(texts))
                with model.disable_adapter() if side == "base" else nullcontext():
                    answers[side] = answer_all(
                        model,
                        tokenizer,
                        texts,
                        args.max_new_tokens,
                        args.batch_size,
                        on_batch=lambda n, task=task: progress.advance(task, n),
                    )
            verdicts = {
                side: judge([Exchange(p.prompt, a) for p, a in zip(prompts, answers[side], strict=True)])
                for side in ("base", "adapter")
            }
            report[name] = {side: rates(prompts, verdicts[side]) for side in ("base", "adapter")}
            if answers_file:
                for row in answer_rows(name, prompts, answers, verdicts):
                    answers_file.write(json.dumps(row, ensure_ascii=False) + "\n")
            for metric in report[name]["base"]:
                print(  # the figures go to stdout, the progress bars to stderr
                    f"{name:40s} {metric:36s} base {format_rate(report[name]['base'][metric]):28s}"
                    f" adapter {format_rate(report[name]['adapter'][metric])}"
                )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
