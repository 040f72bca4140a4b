"""Zero-sum solver on games with known equilibria."""

import numpy as np
import pytest

from sparring.evals.game import (
    col_best_response,
    exploitability,
    nash_gap,
    row_best_response,
    row_exploitability,
    solve_zero_sum,
)


def test_matching_pennies():
    a = np.array([[1.0, -1.0], [-1.0, 1.0]])
    row, col, value = solve_zero_sum(a)
    np.testing.assert_allclose(row, [0.5, 0.5], atol=1e-8)
    np.testing.assert_allclose(col, [0.5, 0.5], atol=1e-8)
    assert value == pytest.approx(0.0, abs=1e-9)


def test_matching_pennies_as_success_rates():
    # the same game shifted to [0, 1]: value 0.5, same strategies
    row, col, value = solve_zero_sum([[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(row, [0.5, 0.5], atol=1e-8)
    np.testing.assert_allclose(col, [0.5, 0.5], atol=1e-8)
    assert value == pytest.approx(0.5)


def test_rock_paper_scissors():
    a = np.array([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], dtype=float)
    row, col, value = solve_zero_sum(a)
    np.testing.assert_allclose(row, [1 / 3] * 3, atol=1e-8)
    np.testing.assert_allclose(col, [1 / 3] * 3, atol=1e-8)
    assert value == pytest.approx(0.0, abs=1e-9)
    assert nash_gap(a, row, col) == pytest.approx(0.0, abs=1e-8)


def test_dominated_strategies_get_no_weight():
    # row 2 is dominated by row 0; column 2 is dominated (for the minimiser) by column 0.
    # What is left is [[3, 1], [0, 2]] with x = (1/2, 1/2), y = (1/4, 3/4), value 3/2.
    a = np.array([[3.0, 1.0, 4.0], [0.0, 2.0, 3.0], [2.0, 0.0, 3.5]])
    row, col, value = solve_zero_sum(a)
    np.testing.assert_allclose(row, [0.5, 0.5, 0.0], atol=1e-8)
    np.testing.assert_allclose(col, [0.25, 0.75, 0.0], atol=1e-8)
    assert value == pytest.approx(1.5)


def test_pure_saddle_point():
    # entry (1, 0) = 0.6 is the min of its row and the max of its column
    a = np.array([[0.2, 0.9, 0.5], [0.6, 0.8, 0.7], [0.1, 0.3, 0.95]])
    row, col, value = solve_zero_sum(a)
    np.testing.assert_allclose(row, [0, 1, 0], atol=1e-8)
    np.testing.assert_allclose(col, [1, 0, 0], atol=1e-8)
    assert value == pytest.approx(0.6)


def test_best_responses_and_exploitability():
    a = np.array([[0.2, 0.9], [0.7, 0.3]])
    _, col, value = solve_zero_sum(a)
    # the equilibrium defender cannot be exploited; a pure defender can
    assert exploitability(a, col) == pytest.approx(0.0, abs=1e-8)
    assert row_best_response(a, [1.0, 0.0]) == (1, pytest.approx(0.7))
    assert exploitability(a, [1.0, 0.0]) == pytest.approx(0.7 - value)
    assert col_best_response(a, [1.0, 0.0]) == (0, pytest.approx(0.2))
    assert row_exploitability(a, [1.0, 0.0]) == pytest.approx(value - 0.2)
    # value of [[.2,.9],[.7,.3]]: x = (0.4/1.1, 0.7/1.1), v = (0.2*0.3 - 0.9*0.7) / (0.2+0.3-0.9-0.7)
    assert value == pytest.approx((0.2 * 0.3 - 0.9 * 0.7) / (0.2 + 0.3 - 0.9 - 0.7))


def test_one_by_n_and_rejects_bad_input():
    row, col, value = solve_zero_sum([[0.4, 0.1, 0.3]])
    np.testing.assert_allclose(row, [1.0])
    np.testing.assert_allclose(col, [0, 1, 0], atol=1e-8)
    assert value == pytest.approx(0.1)
    with pytest.raises(ValueError, match="non-finite"):
        solve_zero_sum([[0.1, float("nan")]])
    with pytest.raises(ValueError, match="probability"):
        exploitability([[0.1, 0.2]], [0.7, 0.7])


def test_random_games_satisfy_minimax():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = rng.random((rng.integers(1, 6), rng.integers(1, 6)))
        row, col, value = solve_zero_sum(a)
        assert nash_gap(a, row, col) == pytest.approx(0.0, abs=1e-7)
        assert row @ a @ col == pytest.approx(value, abs=1e-7)
