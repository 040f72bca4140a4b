"""Two-player zero-sum games over a payoff matrix (pure numpy/scipy).

Convention throughout sparring: rows are attackers, columns are defenders, and ``payoff[i, j]`` is the
attack success rate of attacker ``i`` against defender ``j``. The row player (attacker) maximises it,
the column player (defender) minimises it. A strategy is a probability vector over rows or columns.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "col_best_response",
    "exploitability",
    "nash_gap",
    "row_best_response",
    "row_exploitability",
    "solve_zero_sum",
]


def _matrix(payoff) -> np.ndarray:
    a = np.asarray(payoff, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"payoff must be a non-empty 2-D matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("payoff has non-finite entries (NaN or inf): every cell needs a value")
    return a


def _strategy(s, size: int, who: str) -> np.ndarray:
    x = np.asarray(s, dtype=np.float64)
    if x.shape != (size,):
        raise ValueError(f"{who} strategy must have shape ({size},), got {x.shape}")
    if np.any(x < -1e-9) or abs(x.sum() - 1.0) > 1e-6:
        raise ValueError(f"{who} strategy must be a probability vector (non-negative, sums to 1)")
    return x


def _clean(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, None)
    return x / x.sum()


def _maximin(a: np.ndarray) -> tuple[np.ndarray, float]:
    """The row player's maximin strategy and value: max_x min_j (x^T a)_j over the simplex."""
    from scipy.optimize import linprog

    m, n = a.shape
    # variables [x_1..x_m, v]; minimise -v  s.t.  v - (a^T x)_j <= 0,  sum x = 1,  x >= 0, v free
    c = np.zeros(m + 1)
    c[-1] = -1.0
    a_ub = np.hstack([-a.T, np.ones((n, 1))])
    a_eq = np.hstack([np.ones((1, m)), np.zeros((1, 1))])
    res = linprog(
        c,
        A_ub=a_ub,
        b_ub=np.zeros(n),
        A_eq=a_eq,
        b_eq=[1.0],
        bounds=[(0, None)] * m + [(None, None)],
        method="highs",
    )
    if not res.success:  # pragma: no cover - a finite matrix game always has a solution
        raise RuntimeError(f"linprog failed: {res.message}")
    return _clean(res.x[:m]), float(res.x[-1])


def solve_zero_sum(payoff) -> tuple[np.ndarray, np.ndarray, float]:
    """A Nash equilibrium ``(row_strategy, col_strategy, value)`` of the zero-sum game; rows maximise.

    Solved as two linear programs (``scipy.optimize.linprog``, HiGHS): the row player's maximin and the
    column player's minimax. By the minimax theorem both give the same value; the returned value is their
    mean (they agree to solver tolerance). When the equilibrium is not unique, one of them is returned.
    """
    a = _matrix(payoff)
    row, v_row = _maximin(a)
    col, neg_v = _maximin(-a.T)  # the column player maximises -payoff
    return row, col, 0.5 * (v_row - neg_v)


def row_best_response(payoff, col_strategy) -> tuple[int, float]:
    """The attacker (row) that does best against the defender mixture: ``(index, payoff)``."""
    a = _matrix(payoff)
    values = a @ _strategy(col_strategy, a.shape[1], "column")
    i = int(np.argmax(values))
    return i, float(values[i])


def col_best_response(payoff, row_strategy) -> tuple[int, float]:
    """The defender (column) with the lowest payoff against the attacker mixture: ``(index, payoff)``."""
    a = _matrix(payoff)
    values = _strategy(row_strategy, a.shape[0], "row") @ a
    j = int(np.argmin(values))
    return j, float(values[j])


def exploitability(payoff, col_strategy, value: float | None = None) -> float:
    """How much the best attacker gains against this defender mixture beyond the game value (>= 0).

    ``max_i (payoff @ col_strategy)_i - value``; 0 exactly for an equilibrium defender strategy.
    ``value`` defaults to the solved game value.
    """
    if value is None:
        value = solve_zero_sum(payoff)[2]
    return max(row_best_response(payoff, col_strategy)[1] - value, 0.0)


def row_exploitability(payoff, row_strategy, value: float | None = None) -> float:
    """How far the best defender pushes this attacker mixture below the game value (>= 0)."""
    if value is None:
        value = solve_zero_sum(payoff)[2]
    return max(value - col_best_response(payoff, row_strategy)[1], 0.0)


def nash_gap(payoff, row_strategy, col_strategy) -> float:
    """``max_i (A y)_i - min_j (x^T A)_j`` (NashConv of a zero-sum pair): 0 iff (x, y) is an equilibrium."""
    return row_best_response(payoff, col_strategy)[1] - col_best_response(payoff, row_strategy)[1]
