"""Compare two evaluations: the change in every rate, with a 95% bootstrap interval.

Inputs are evaluation *transcripts* (``eval_*_transcripts.jsonl``, or the list ``evaluate_defender``
returns): summaries hold only rates, and an interval for a difference needs the outcomes behind them.
When both evaluations answered the same prompts (same ids, e.g. a run's before and after), the
difference is bootstrapped over prompts in pairs, which is tighter; otherwise the two samples are
resampled independently (:func:`sparring.evals.metrics.difference`). Differences are ``b - a``.

    sparring compare runs/demo-A                       # one run: after minus before, per suite
    sparring compare runs/demo-A runs/baseline-B       # two runs: B minus A on their final evaluations
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sparring.evals.metrics import difference, rate
from sparring.evals.runner import outcome_items

__all__ = [
    "compare",
    "compare_evals",
    "compare_run",
    "comparison_table",
    "format_comparison",
    "load_transcripts",
    "outcomes_by_id",
    "paired_difference",
]

Transcripts = Sequence[dict[str, Any]]


def outcomes_by_id(transcripts: Transcripts) -> dict[str, dict[str, float]]:
    """``{metric: {prompt id: outcome}}``, by ``runner.outcome_items``' rules (failed judgments left out)."""
    return {metric: dict(items) for metric, items in outcome_items(transcripts).items()}


def paired_difference(
    a: Sequence[float], b: Sequence[float], n_boot: int = 2000, seed: int = 0
) -> dict[str, float | None]:
    """Mean of ``b - a`` over paired observations with a 95% percentile-bootstrap interval."""
    if len(a) != len(b):
        raise ValueError(f"paired samples need equal lengths, got {len(a)} and {len(b)}")
    if len(a) == 0:
        return {"value": None, "ci_low": None, "ci_high": None}
    d = np.asarray(b, float) - np.asarray(a, float)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1)
    return {
        "value": float(d.mean()),
        "ci_low": float(np.quantile(means, 0.025)),
        "ci_high": float(np.quantile(means, 0.975)),
    }


def _compare_outcomes(
    oa: dict[str, dict[str, float]],
    ob: dict[str, dict[str, float]],
    paired: bool | None,
    n_boot: int,
    seed: int,
) -> dict[str, Any]:
    out = {}
    for metric in sorted(set(oa) | set(ob)):
        xa, xb = oa.get(metric, {}), ob.get(metric, {})
        common = sorted(set(xa) & set(xb))
        same_ids = bool(xa) and set(xa) == set(xb)
        if paired and xa and xb and not common:
            raise ValueError(f"{metric}: a paired comparison needs prompt ids present on both sides")
        use_paired = same_ids if paired is None else paired
        entry: dict[str, Any] = {}
        if use_paired:
            # Pair over the prompts both sides judged; the rest (e.g. a judge failure on one side) are
            # reported, and both rates are shown over the paired prompts so they add up to the difference.
            a_vals, b_vals = [xa[i] for i in common], [xb[i] for i in common]
            diff = paired_difference(a_vals, b_vals, n_boot=n_boot, seed=seed)
            entry = {
                "n_pairs": len(common),
                "unpaired_a": len(xa) - len(common),
                "unpaired_b": len(xb) - len(common),
            }
        else:
            a_vals, b_vals = list(xa.values()), list(xb.values())
            diff = difference(a_vals, b_vals, n_boot=n_boot, seed=seed)
        significant = diff["value"] is not None and (diff["ci_low"] > 0 or diff["ci_high"] < 0)
        out[metric] = {
            "a": rate(a_vals),
            "b": rate(b_vals),
            "difference": diff,
            "paired": use_paired,
            "significant": significant,
            **entry,
        }
    return out


def compare(
    a: Transcripts,
    b: Transcripts,
    *,
    paired: bool | None = None,
    by_category: bool = True,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """The change from evaluation ``a`` to evaluation ``b`` in every rate (``b - a``), with 95% intervals.

    ``paired=None`` pairs prompts by id whenever both sides judged exactly the same ids (per metric);
    ``True`` pairs over the ids both sides judged (at least one; ``n_pairs``, ``unpaired_a`` and
    ``unpaired_b`` say how many), ``False`` never pairs. Returns ``{"n_a", "n_b", "metrics": {name: {"a", "b",
    "difference", "paired", "significant"}}, "by_category": {category: {...}}}``; ``a``/``b`` are
    ``metrics.rate`` dicts and ``significant`` means the interval excludes 0.
    """
    result: dict[str, Any] = {
        "n_a": len(a),
        "n_b": len(b),
        "metrics": _compare_outcomes(outcomes_by_id(a), outcomes_by_id(b), paired, n_boot, seed),
    }
    if by_category:
        groups: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
        for side, transcripts in enumerate((a, b)):
            for t in transcripts:
                groups[t.get("category") or "uncategorised"][side].append(t)
        result["by_category"] = {
            cat: _compare_outcomes(outcomes_by_id(ga), outcomes_by_id(gb), paired, n_boot, seed)
            for cat, (ga, gb) in sorted(groups.items())
            if ga and gb
        }
    return result


def load_transcripts(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Transcripts from a ``*_transcripts.jsonl`` file."""
    path = Path(path)
    if path.suffix == ".json":
        raise ValueError(f"{path}: a summary holds rates only; pass its *_transcripts.jsonl file instead")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def compare_run(
    run_dir: str | os.PathLike,
    other: str | os.PathLike | None = None,
    which: str = "after",
    baseline: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Paired differences between two evaluations of training runs, per suite, as ``compare_evals`` gives.

    One run: ``which - baseline`` (by default after minus before; ``baseline="warmup"`` isolates RL).
    With ``other``: ``other``'s ``which`` evaluation minus ``run_dir``'s ``baseline`` evaluation (by
    default the same stage: self-play vs a baseline run with the same seed and evaluation prompts; a
    run that started from a saved adapter has that adapter alone as its ``before``).
    """
    run = Path(run_dir)
    if other is None:
        baseline = baseline or "before"
        a_path, b_path = run / f"eval_{baseline}_transcripts.jsonl", run / f"eval_{which}_transcripts.jsonl"
    else:
        a_path = run / f"eval_{baseline or which}_transcripts.jsonl"
        b_path = Path(other) / f"eval_{which}_transcripts.jsonl"
    by_suite: list[dict[str, list[dict[str, Any]]]] = []
    for path in (a_path, b_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such evaluation (did the run evaluate that stage?)")
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for t in load_transcripts(path):
            groups[t.get("suite", "eval")].append(t)
        by_suite.append(groups)
    common = [s for s in by_suite[0] if s in by_suite[1]]
    options.setdefault("paired", True)
    return {
        "a": {"dir": str(a_path), "model": f"{a_path.parent.name}: {a_path.name.split('_transcripts')[0]}"},
        "b": {"dir": str(b_path), "model": f"{b_path.parent.name}: {b_path.name.split('_transcripts')[0]}"},
        "suites": {s: compare(by_suite[0][s], by_suite[1][s], **options) for s in common},
        "only_a": [s for s in by_suite[0] if s not in by_suite[1]],
        "only_b": [s for s in by_suite[1] if s not in by_suite[0]],
    }


def format_comparison(result: dict[str, Any]) -> str:
    """A small text table of the overall rates: ``a -> b  (difference [interval])``."""
    lines = []
    for name, m in result["metrics"].items():
        d = m["difference"]
        if d["value"] is None:
            lines.append(f"{name:<22} n/a")
            continue
        star = " *" if m["significant"] else ""
        lines.append(
            f"{name:<22} {m['a']['value']:6.1%} -> {m['b']['value']:6.1%}  "
            f"{d['value']:+6.1%} [{d['ci_low']:+.1%}, {d['ci_high']:+.1%}]{star}"
        )
    return "\n".join(lines)


def compare_evals(
    a_dir: str | os.PathLike, b_dir: str | os.PathLike, n_boot: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """``B - A`` for every metric of every suite two evaluation directories share, paired by prompt id.

    Both directories come from ``sparring eval`` (``evals/benchmark.py``); prompts are paired by id, so
    evaluate both models with the same suites, ``--limit`` and ``--seed``. Capability scores are compared
    too when both directories have them (paired by item).
    """
    from sparring.evals.benchmark import load_eval_dir, load_suite_transcripts

    ra, rb = load_eval_dir(a_dir), load_eval_dir(b_dir)
    common = [s for s in ra["suites"] if s in rb["suites"]]
    if not common:
        raise ValueError(
            f"{a_dir} and {b_dir} share no suite (A: {', '.join(ra['suites']) or 'none'}; "
            f"B: {', '.join(rb['suites']) or 'none'})"
        )
    suites = {}
    for spec in common:
        ta = load_suite_transcripts(a_dir, ra, spec)
        tb = load_suite_transcripts(b_dir, rb, spec)
        if not {str(t["id"]) for t in ta} & {str(t["id"]) for t in tb}:
            raise ValueError(
                f"suite {spec}: the two evaluations share no prompt; "
                "evaluate both with the same --limit and --seed"
            )
        suites[spec] = compare(ta, tb, paired=True, n_boot=n_boot, seed=seed)
    result: dict[str, Any] = {
        "a": {"dir": str(a_dir), "model": ra.get("model"), "judge": ra.get("judge")},
        "b": {"dir": str(b_dir), "model": rb.get("model"), "judge": rb.get("judge")},
        "suites": suites,
        "only_a": [s for s in ra["suites"] if s not in rb["suites"]],
        "only_b": [s for s in rb["suites"] if s not in ra["suites"]],
    }
    ca, cb = ra.get("capability"), rb.get("capability")
    if ca and cb and "per_item" in ca and "per_item" in cb:
        a = {r["id"]: r["mean_logprob"] for r in ca["per_item"]}
        b = {r["id"]: r["mean_logprob"] for r in cb["per_item"]}
        ids = sorted(set(a) & set(b))
        if ids:
            result["capability"] = {
                "a": float(np.mean([a[i] for i in ids])),
                "b": float(np.mean([b[i] for i in ids])),
                "difference": paired_difference([a[i] for i in ids], [b[i] for i in ids], n_boot, seed),
                "n_pairs": len(ids),
            }
    return result


def comparison_table(result: dict[str, Any], by_category: bool = False):
    """A rich table: per suite and metric, A, B and ``B - A`` with its paired 95% interval."""
    from rich.table import Table

    from sparring.evals.benchmark import METRIC_LABELS

    a, b = result["a"], result["b"]
    table = Table(
        title=f"B - A (paired by prompt, 95% bootstrap intervals)\nA = {a['model']}\nB = {b['model']}"
    )
    for col in ("suite", "metric", "A", "B", "B - A [95% CI]", "pairs"):
        table.add_column(col, justify="right" if col == "pairs" else "left")

    def rows(label: str, metrics: dict[str, Any]) -> None:
        for key in METRIC_LABELS:
            m = metrics.get(key)
            if m is None:
                continue
            d = m["difference"]
            pct = key != "strongreject_score"
            fmt = (lambda x: f"{x:.1%}") if pct else (lambda x: f"{x:.3f}")
            sfmt = (lambda x: f"{x:+.1%}") if pct else (lambda x: f"{x:+.3f}")
            if d["value"] is None:
                diff = "-"
            else:
                star = " *" if m["significant"] else ""
                diff = f"{sfmt(d['value'])} [{sfmt(d['ci_low'])}, {sfmt(d['ci_high'])}]{star}"
            table.add_row(
                label,
                METRIC_LABELS[key],
                "-" if m["a"]["value"] is None else fmt(m["a"]["value"]),
                "-" if m["b"]["value"] is None else fmt(m["b"]["value"]),
                diff,
                str(m.get("n_pairs", "")),
            )

    for spec, comp in result["suites"].items():
        rows(spec, comp["metrics"])
        if by_category:
            for cat, metrics in comp.get("by_category", {}).items():
                rows(f"{spec} / {cat}", metrics)
    cap = result.get("capability")
    if cap:
        d = cap["difference"]
        table.add_row(
            "capability",
            "mean log-lik. of reference answers",
            f"{cap['a']:.3f}",
            f"{cap['b']:.3f}",
            f"{d['value']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]",
            str(cap["n_pairs"]),
        )
    notes = []
    if result["only_a"] or result["only_b"]:
        notes.append(f"not compared (in one side only): {', '.join(result['only_a'] + result['only_b'])}")
    if a.get("judge") != b.get("judge"):
        notes.append(f"different judges: A {a.get('judge')}, B {b.get('judge')}")
    notes.append("* the interval excludes 0")
    table.caption = "; ".join(notes)
    return table
