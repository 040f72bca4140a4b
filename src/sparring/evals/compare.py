"""Compare two evaluations: the change in every rate, with a 95% bootstrap interval.

Inputs are evaluation *transcripts* (``eval_*_transcripts.jsonl``, or the list ``evaluate_defender``
returns): summaries hold only rates, and an interval for a difference needs the outcomes behind them.
When both evaluations answered the same prompts (same ids, e.g. a run's before and after), the
difference is bootstrapped over prompts in pairs, which is tighter; otherwise the two samples are
resampled independently (:func:`sparring.evals.metrics.difference`). Differences are ``b - a``.

    sparring compare runs/demo-A                       # one run: after minus before, per suite
    sparring compare runs/demo-A runs/baseline-B       # two runs: B minus A on their final evaluations
    sparring compare A1 B1 --pair A2 B2 --pair A3 B3   # the same, repeated with other seeds and pooled
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
    "compare_pairs",
    "compare_run",
    "comparison_table",
    "excludes_zero",
    "format_comparison",
    "load_transcripts",
    "outcomes_by_id",
    "paired_difference",
    "pool_groups",
    "pooled_difference",
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


def excludes_zero(diff: dict[str, float | None]) -> bool:
    """Whether a difference's 95% interval lies wholly on one side of 0 (what ``*`` marks)."""
    return diff["value"] is not None and (diff["ci_low"] > 0 or diff["ci_high"] < 0)


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
        significant = excludes_zero(diff)
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


def _stage_paths(
    run_dir: str | os.PathLike, other: str | os.PathLike | None, which: str, baseline: str | None
) -> tuple[Path, Path]:
    """The transcript files ``compare_run`` subtracts: ``(a, b)``."""
    run = Path(run_dir)
    if other is None:
        return run / f"eval_{baseline or 'before'}_transcripts.jsonl", run / f"eval_{which}_transcripts.jsonl"
    return run / f"eval_{baseline or which}_transcripts.jsonl", Path(
        other
    ) / f"eval_{which}_transcripts.jsonl"


def _transcripts_by_suite(path: Path) -> dict[str, list[dict[str, Any]]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such evaluation (did the run evaluate that stage?)")
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in load_transcripts(path):
        groups[t.get("suite", "eval")].append(t)
    return groups


def _stage_name(path: Path) -> str:
    return f"{path.parent.name}: {path.name.split('_transcripts')[0]}"


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
    a_path, b_path = _stage_paths(run_dir, other, which, baseline)
    suites_a, suites_b = _transcripts_by_suite(a_path), _transcripts_by_suite(b_path)
    options.setdefault("paired", True)
    return {
        "a": {"dir": str(a_path), "model": _stage_name(a_path)},
        "b": {"dir": str(b_path), "model": _stage_name(b_path)},
        "suites": {s: compare(suites_a[s], suites_b[s], **options) for s in suites_a if s in suites_b},
        "only_a": [s for s in suites_a if s not in suites_b],
        "only_b": [s for s in suites_b if s not in suites_a],
    }


def pooled_difference(
    groups: Sequence[tuple[Sequence[float], Sequence[float]]], n_boot: int = 2000, seed: int = 0
) -> dict[str, float | None]:
    """Mean over groups of each group's paired mean ``b - a``, with a two-level 95% bootstrap interval.

    A group is one repetition of a comparison (the same two methods trained with another seed). Each
    resample draws groups with replacement, then pairs within each drawn group, so the interval holds the
    spread *between* repetitions as well as the evaluation sample's; with one group it is the paired
    bootstrap. Groups weigh equally whatever their number of pairs.
    """
    diffs = []
    for a, b in groups:
        if len(a) != len(b):
            raise ValueError(f"paired samples need equal lengths, got {len(a)} and {len(b)}")
        if len(a):
            diffs.append(np.asarray(b, float) - np.asarray(a, float))
    if not diffs:
        return {"value": None, "ci_low": None, "ci_high": None}
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for i in range(n_boot):
        drawn = [diffs[k] for k in rng.integers(0, len(diffs), len(diffs))]
        means[i] = np.mean([d[rng.integers(0, d.size, d.size)].mean() for d in drawn])
    return {
        "value": float(np.mean([d.mean() for d in diffs])),
        "ci_low": float(np.quantile(means, 0.025)),
        "ci_high": float(np.quantile(means, 0.975)),
    }


def pool_groups(
    groups: Sequence[tuple[Sequence[float], Sequence[float]]], n_boot: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """One comparison repeated over groups (training seeds), summed up: each side's mean over groups
    (None if every group is empty), the :func:`pooled_difference` and whether its interval excludes 0,
    and each group's own difference (``per_group``; None for an empty group)."""
    diff = pooled_difference(groups, n_boot=n_boot, seed=seed)

    def mean_over_groups(side: int) -> float | None:
        means = [np.mean(g[side]) for g in groups if len(g[side])]
        return float(np.mean(means)) if means else None

    return {
        "a": mean_over_groups(0),
        "b": mean_over_groups(1),
        "difference": diff,
        "significant": excludes_zero(diff),
        "per_group": [float(np.mean(b) - np.mean(a)) if len(a) else None for a, b in groups],
    }


def _eval_dir_suites(path: str | os.PathLike) -> dict[str, list[dict[str, Any]]]:
    """Transcripts per suite of an evaluation directory written by ``sparring eval``."""
    from sparring.evals.benchmark import load_eval_dir, load_suite_transcripts

    result = load_eval_dir(path)
    return {spec: load_suite_transcripts(path, result, spec) for spec in result["suites"]}


def _load_pair(
    a: str | os.PathLike, b: str | os.PathLike, which: str, baseline: str | None
) -> tuple[tuple[str, str], tuple[str, str], dict[str, list[dict]], dict[str, list[dict]]]:
    """``(dirs, names, suites_a, suites_b)`` of one pair: two training runs (their ``which`` and
    ``baseline`` evaluations, as :func:`compare_run` reads them) or two ``sparring eval`` directories."""
    is_run = [(Path(d) / "config.yaml").is_file() for d in (a, b)]
    if all(is_run):
        a_path, b_path = _stage_paths(a, b, which, baseline)
        return (
            (str(a_path), str(b_path)),
            (_stage_name(a_path), _stage_name(b_path)),
            _transcripts_by_suite(a_path),
            _transcripts_by_suite(b_path),
        )
    if any(is_run):
        run, other = (a, b) if is_run[0] else (b, a)
        raise ValueError(
            f"{run} is a training run and {other} is not: a pair is two training runs or two evaluation "
            "directories (sparring eval --out), not one of each"
        )
    if baseline is not None:
        raise ValueError(
            f"--baseline picks a stage of a training run; evaluation directories have none ({a}, {b})"
        )
    return (str(a), str(b)), (Path(a).name, Path(b).name), _eval_dir_suites(a), _eval_dir_suites(b)


def compare_pairs(
    pairs: Sequence[tuple[str | os.PathLike, str | os.PathLike]],
    which: str = "after",
    baseline: str | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """The same comparison repeated over several pairs (other training seeds) and pooled
    (:func:`pooled_difference`).

    A pair is two training runs (compared like :func:`compare_run`: ``which`` and ``baseline`` pick the
    stages) or two evaluation directories from ``sparring eval`` (for instance each seed's adapters on a
    larger suite than the run evaluated). Use it when one pair cannot tell two methods apart. Each metric
    gets the mean over pairs of each pair's paired difference (pairs may have evaluated different prompts),
    its two-level interval, and ``per_pair``, each pair's own difference, so the spread between
    repetitions stays visible. Only suites every pair evaluated count.
    """
    if not pairs:
        raise ValueError("compare_pairs needs at least one pair")
    loaded = [_load_pair(a, b, which, baseline) for a, b in pairs]
    every = [s for s in loaded[0][2] if all(s in ta and s in tb for _, _, ta, tb in loaded)]
    suites: dict[str, Any] = {}
    for suite in every:
        outcomes = [(outcomes_by_id(ta[suite]), outcomes_by_id(tb[suite])) for _, _, ta, tb in loaded]
        metrics: dict[str, Any] = {}
        for metric in sorted(set.intersection(*(set(oa) & set(ob) for oa, ob in outcomes))):
            groups = []
            for oa, ob in outcomes:
                ids = sorted(set(oa[metric]) & set(ob[metric]))
                groups.append(([oa[metric][i] for i in ids], [ob[metric][i] for i in ids]))
            pooled = pool_groups(groups, n_boot=n_boot, seed=seed)
            metrics[metric] = {
                "a": {"value": pooled["a"]},
                "b": {"value": pooled["b"]},
                "difference": pooled["difference"],
                "paired": True,
                "significant": pooled["significant"],
                "n_pairs": sum(len(a) for a, _ in groups),
                "per_pair": pooled["per_group"],
            }
        suites[suite] = {"metrics": metrics}
    return {
        "a": {"dir": [d[0] for d, *_ in loaded], "model": ", ".join(n[0] for _, n, _, _ in loaded)},
        "b": {"dir": [d[1] for d, *_ in loaded], "model": ", ".join(n[1] for _, n, _, _ in loaded)},
        "pairs": len(loaded),
        "suites": suites,
        "only_a": [],
        "only_b": [],
        "not_in_every_pair": sorted({s for _, _, ta, tb in loaded for s in (*ta, *tb)} - set(every), key=str),
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
    pooled = "pairs" in result  # compare_pairs: means over several pairs of runs
    what = (
        f"mean over {result['pairs']} pairs of runs of B - A (paired by prompt, 95% two-level bootstrap "
        "intervals)"
        if pooled
        else "B - A (paired by prompt, 95% bootstrap intervals)"
    )
    table = Table(title=f"{what}\nA = {a['model']}\nB = {b['model']}")
    columns = ["suite", "metric", "A", "B", "B - A [95% CI]", "pairs"] + (
        ["B - A, each pair"] if pooled else []
    )
    for col in columns:
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
            each = [", ".join("-" if v is None else sfmt(v) for v in m.get("per_pair", []))] if pooled else []
            table.add_row(
                label,
                METRIC_LABELS[key],
                "-" if m["a"]["value"] is None else fmt(m["a"]["value"]),
                "-" if m["b"]["value"] is None else fmt(m["b"]["value"]),
                diff,
                str(m.get("n_pairs", "")),
                *each,
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
    if result.get("not_in_every_pair"):
        notes.append(f"not compared (not in every pair): {', '.join(result['not_in_every_pair'])}")
    if a.get("judge") != b.get("judge"):
        notes.append(f"different judges: A {a.get('judge')}, B {b.get('judge')}")
    notes.append("* the interval excludes 0")
    table.caption = "; ".join(notes)
    return table
