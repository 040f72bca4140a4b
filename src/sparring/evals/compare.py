"""Compare two evaluations: the change in every rate, with a 95% bootstrap interval.

Inputs are evaluation *transcripts* (``eval_*_transcripts.jsonl``, or the list ``evaluate_defender``
returns): summaries hold only rates, and an interval for a difference needs the outcomes behind them.
When both evaluations answered the same prompts (same ids, e.g. a run's before and after), the
difference is bootstrapped over prompts in pairs, which is tighter; otherwise the two samples are
resampled independently (:func:`sparring.evals.metrics.difference`). Differences are ``b - a``.

    from sparring.evals.compare import compare_run, format_comparison
    print(format_comparison(compare_run("runs/demo-...")))   # after minus before
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
from sparring.evals.runner import THRESHOLD

__all__ = [
    "compare",
    "compare_run",
    "format_comparison",
    "load_transcripts",
    "outcomes_by_id",
    "paired_difference",
]

Transcripts = Sequence[dict[str, Any]]


def outcomes_by_id(transcripts: Transcripts) -> dict[str, dict[str, float]]:
    """``{metric: {prompt id: 0/1}}``, by ``runner.summarize``'s rules (failed judgments left out)."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for i, t in enumerate(transcripts):
        v = t.get("verdict")
        if v is None or v.get("refusal") is None or v.get("response_harmful") is None:
            continue
        key = str(t.get("id", i))
        refused = float(v["refusal"] >= THRESHOLD)
        if t["label"] == "harmful":
            out["harmful_answer_rate"][key] = float(v["response_harmful"] >= THRESHOLD)
            out["harmful_refusal_rate"][key] = refused
        else:
            out["benign_refusal_rate"][key] = refused
    return out


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
        same_ids = bool(xa) and set(xa) == set(xb)
        if paired and not same_ids:
            raise ValueError(f"{metric}: paired comparison needs the same prompt ids on both sides")
        use_paired = same_ids if paired is None else paired
        if use_paired:
            ids = sorted(xa)
            diff = paired_difference([xa[i] for i in ids], [xb[i] for i in ids], n_boot=n_boot, seed=seed)
        else:
            diff = difference(list(xa.values()), list(xb.values()), n_boot=n_boot, seed=seed)
        significant = diff["value"] is not None and (diff["ci_low"] > 0 or diff["ci_high"] < 0)
        out[metric] = {
            "a": rate(list(xa.values())),
            "b": rate(list(xb.values())),
            "difference": diff,
            "paired": use_paired,
            "significant": significant,
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
    ``True`` requires it, ``False`` never pairs. Returns ``{"n_a", "n_b", "metrics": {name: {"a", "b",
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
            cat: _compare_outcomes(
                outcomes_by_id(ga), outcomes_by_id(gb), None if paired else paired, n_boot, seed
            )
            for cat, (ga, gb) in sorted(groups.items())
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
    run_dir: str | os.PathLike, other: str | os.PathLike | None = None, which: str = "after", **options: Any
) -> dict[str, Any]:
    """``after - before`` of one run; with ``other``, ``other - run_dir`` on the ``which`` evaluation."""
    run = Path(run_dir)
    if other is None:
        a = load_transcripts(run / "eval_before_transcripts.jsonl")
        b = load_transcripts(run / "eval_after_transcripts.jsonl")
    else:
        a = load_transcripts(run / f"eval_{which}_transcripts.jsonl")
        b = load_transcripts(Path(other) / f"eval_{which}_transcripts.jsonl")
    return compare(a, b, **options)


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
