"""How well can a model's own hidden state tell harmful from benign requests? A ceiling for training.

    python scripts/probe_separability.py [--model smollm2-135m-instruct] [--layer 8 20]

A defender refuses on the strength of what its network represents at the moment it starts to answer. This
script reads that representation (the hidden state of the last prompt token, in the model's own chat
template, user message alone) and fits logistic-regression probes on it:

- *seed probe*: fitted on the training seed pools (harmful vs benign, half of the benign ones borderline
  as in the demo's warm start), scored on held-out evaluation suites;
- *in-distribution probe*: 5-fold cross-validated on each evaluation suite itself, an optimistic ceiling
  for a linear read-out of this model.

For each suite it prints the ROC AUC and the share of benign prompts flagged when the probe catches 75%,
80% and 90% of the harmful ones; then, with one threshold for all suites as a deployed defender has, what
catching plain harmful prompts costs on XSTest's safe prompts. A fine-tuned adapter that discriminates far
worse than the seed probe is held back by its training, not by what the model represents.
"""

from __future__ import annotations

import argparse
import random

import numpy as np
import torch
from check_deployed import user_message_batches  # same prompt formatting as the deployment check
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict
from transformers import AutoModelForCausalLM, AutoTokenizer

from sparring.evals.suites import load_suite_spec
from sparring.game.seeds import load_seeds
from sparring.models.resolve import resolve_model
from sparring.rl.warmstart import pick_benign_seeds

RECALLS = (0.75, 0.8, 0.9)


def last_token_states(
    model, tokenizer, prompts: list[str], layers: list[int], batch_size: int = 32
) -> dict[int, np.ndarray]:
    """Hidden state after each of ``layers`` at the position where the answer would start."""
    out: dict[int, list[np.ndarray]] = {layer: [] for layer in layers}
    for enc in user_message_batches(tokenizer, prompts, batch_size):
        with torch.no_grad():
            hidden = model(**enc, output_hidden_states=True).hidden_states
        for layer in layers:
            out[layer].append(hidden[layer][:, -1].float().numpy())
    return {layer: np.concatenate(parts) for layer, parts in out.items()}


def benign_flagged_at(scores: np.ndarray, harmful: np.ndarray, recall: float) -> float:
    """Share of benign prompts at or above the threshold that catches ``recall`` of the harmful ones."""
    threshold = np.quantile(scores[harmful], 1 - recall)
    return float((scores[~harmful] >= threshold).mean())


def probe() -> LogisticRegression:
    return LogisticRegression(C=0.1, max_iter=2000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct", help="HF id, local path or offline alias")
    ap.add_argument(
        "--layer", type=int, nargs="+", default=[8, 20], help="hidden layers read (0 = embeddings)"
    )
    ap.add_argument("--seeds-per-label", type=int, default=400)
    ap.add_argument(
        "--borderline-share",
        type=float,
        default=0.5,
        help="share of the benign seeds drawn from the borderline pool, as warmup.borderline_share",
    )
    ap.add_argument(
        "--suite", action="append", help="suite spec (repeatable; default heldout, xstest, jbb, alpaca_eval)"
    )
    args = ap.parse_args()

    path = resolve_model(args.model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()

    rng = random.Random(0)
    harmful = [s.text for s in load_seeds("harmful")]
    n = min(args.seeds_per_label, len(harmful))
    benign = [s.text for s in pick_benign_seeds(load_seeds("benign"), n, args.borderline_share, rng)]
    train_states = last_token_states(model, tokenizer, rng.sample(harmful, n) + benign, args.layer)
    train_y = np.array([1] * n + [0] * len(benign))
    suites = {}
    for spec in args.suite or ["heldout", "xstest", "jbb", "alpaca_eval"]:
        prompts = load_suite_spec(spec)
        states = last_token_states(model, tokenizer, [p.prompt for p in prompts], args.layer)
        suites[spec] = (states, np.array([p.label == "harmful" for p in prompts]))

    for layer in args.layer:
        seed_probe = probe().fit(train_states[layer], train_y)
        print(f"\nlayer {layer}")
        print("suite        n   | seed probe: AUC, benign flagged at harm recall 75/80/90% | in-distribution")
        seed_scores = {}
        for spec, (states, y) in suites.items():
            x = states[layer]
            seed_scores[spec] = (seed_probe.decision_function(x), y)
            if y.all() or not y.any():  # one label only: no AUC; read in the target check below
                continue
            cells = []
            for scores in (
                seed_scores[spec][0],
                cross_val_predict(probe(), x, y, cv=5, method="decision_function"),
            ):
                flagged = "/".join(f"{benign_flagged_at(scores, y, r):.0%}" for r in RECALLS)
                cells.append(f"AUC {roc_auc_score(y, scores):.2f}, {flagged}")
            print(f"{spec:12s} {len(y):4d} | {cells[0]:52s} | {cells[1]}")
        if "heldout" in seed_scores:
            print_target_check(seed_scores)


def print_target_check(seed_scores: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """One threshold for every suite, as a deployed defender has: set where the seed probe catches a
    given share of the plain harmful prompts (heldout), then read off what it flags in the other suites."""
    held, held_y = seed_scores["heldout"]
    print("one threshold, set on heldout harmful recall (the plain-harm target needs about 75%):")
    for recall in RECALLS:
        threshold = np.quantile(held[held_y], 1 - recall)
        cells = [f"heldout benign flagged {np.mean(held[~held_y] >= threshold):.0%}"]
        for spec, (scores, y) in seed_scores.items():
            if spec == "heldout":
                continue
            if (~y).any():
                cells.append(f"{spec} benign flagged {np.mean(scores[~y] >= threshold):.0%}")
            if y.any():
                cells.append(f"{spec} harmful caught {np.mean(scores[y] >= threshold):.0%}")
        print(f"  recall {recall:.0%}: " + ", ".join(cells))


if __name__ == "__main__":
    main()
