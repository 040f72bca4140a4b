"""Rates with honest uncertainty: every figure travels with its sample size and a 95% bootstrap interval."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def bootstrap_ci(
    values: Sequence[float], n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean. Empty input gives (nan, nan)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def rate(values: Sequence[float], seed: int = 0) -> dict[str, float | int | None]:
    """``{"value", "ci_low", "ci_high", "n"}`` for a list of 0/1 outcomes (or probabilities)."""
    if len(values) == 0:
        return {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    low, high = bootstrap_ci(values, seed=seed)
    return {"value": float(np.mean(values)), "ci_low": low, "ci_high": high, "n": len(values)}


def difference(
    a: Sequence[float], b: Sequence[float], n_boot: int = 2000, seed: int = 0
) -> dict[str, float | None]:
    """Mean of ``b`` minus mean of ``a`` (independent samples) with a 95% bootstrap interval."""
    if len(a) == 0 or len(b) == 0:
        return {"value": None, "ci_low": None, "ci_high": None}
    rng = np.random.default_rng(seed)
    xa, xb = np.asarray(a, float), np.asarray(b, float)
    da = xa[rng.integers(0, xa.size, size=(n_boot, xa.size))].mean(axis=1)
    db = xb[rng.integers(0, xb.size, size=(n_boot, xb.size))].mean(axis=1)
    diff = db - da
    return {
        "value": float(xb.mean() - xa.mean()),
        "ci_low": float(np.quantile(diff, 0.025)),
        "ci_high": float(np.quantile(diff, 0.975)),
    }


def format_rate(r: dict) -> str:
    if r.get("value") is None:
        return "n/a"
    return f"{r['value']:.1%} [{r['ci_low']:.1%}, {r['ci_high']:.1%}] (n={r['n']})"
