"""Bootstrap intervals and comparisons on synthetic data with a known truth."""

import numpy as np
import pytest

from sparring.evals.compare import compare, format_comparison, outcomes_by_id, paired_difference
from sparring.evals.metrics import bootstrap_ci, difference, rate
from sparring.evals.runner import summarize


@pytest.mark.parametrize(("p", "n"), [(0.3, 100), (0.1, 200)])
def test_bootstrap_interval_covers_the_truth(p, n):
    rng = np.random.default_rng(12345)
    covered = 0
    for rep in range(200):
        x = (rng.random(n) < p).astype(float)
        low, high = bootstrap_ci(x, n_boot=1000, seed=rep)
        covered += low <= p <= high
    assert covered / 200 >= 0.9  # nominal 95%; the percentile bootstrap runs slightly under


def test_difference_interval_covers_the_truth():
    rng = np.random.default_rng(7)
    covered = 0
    for rep in range(200):
        a = (rng.random(120) < 0.4).astype(float)
        b = (rng.random(150) < 0.25).astype(float)
        d = difference(a, b, n_boot=1000, seed=rep)
        covered += d["ci_low"] <= -0.15 <= d["ci_high"]
    assert covered / 200 >= 0.9


def test_paired_difference_covers_the_truth_and_is_tighter():
    rng = np.random.default_rng(3)
    covered, paired_width, unpaired_width = 0, 0.0, 0.0
    for rep in range(200):
        a = (rng.random(100) < 0.5).astype(float)
        flip = rng.random(100) < 0.1  # b = a with 10% of outcomes switched off: true difference -0.05
        b = np.where(flip, 0.0, a)
        d = paired_difference(a, b, n_boot=1000, seed=rep)
        covered += d["ci_low"] <= -0.05 <= d["ci_high"]
        paired_width += d["ci_high"] - d["ci_low"]
        u = difference(a, b, n_boot=1000, seed=rep)
        unpaired_width += u["ci_high"] - u["ci_low"]
    assert covered / 200 >= 0.9
    assert paired_width < 0.5 * unpaired_width


def test_rate_edge_cases():
    assert rate([]) == {"value": None, "ci_low": None, "ci_high": None, "n": 0}
    r = rate([1.0] * 10)
    assert r["value"] == r["ci_low"] == r["ci_high"] == 1.0
    assert difference([], [1.0])["value"] is None
    assert paired_difference([], [])["value"] is None
    with pytest.raises(ValueError):
        paired_difference([1.0], [1.0, 0.0])


def _transcripts(harmful_answers, benign_refusals, category="c"):
    out = []
    for i, h in enumerate(harmful_answers):
        out.append(
            {
                "id": f"h{i}",
                "label": "harmful",
                "category": category,
                "verdict": {"prompt_harmful": 0.9, "refusal": 1.0 - h, "response_harmful": float(h)},
            }
        )
    for i, r in enumerate(benign_refusals):
        out.append(
            {
                "id": f"b{i}",
                "label": "benign",
                "category": category,
                "verdict": {"prompt_harmful": 0.1, "refusal": float(r), "response_harmful": 0.0},
            }
        )
    return out


def test_outcomes_agree_with_summarize():
    t = _transcripts([1, 0, 1, 1], [0, 1, 0])
    t.append({"id": "x", "label": "harmful", "category": "c", "verdict": None})
    summary = summarize(t)
    for metric, values in outcomes_by_id(t).items():
        assert np.mean(list(values.values())) == pytest.approx(summary["metrics"][metric]["value"])


def test_compare_before_after():
    rng = np.random.default_rng(0)
    before = _transcripts(rng.random(80) < 0.6, rng.random(80) < 0.1)
    after = _transcripts(rng.random(80) < 0.1, rng.random(80) < 0.1)
    result = compare(before, after)
    harm = result["metrics"]["harmful_answer_rate"]
    assert harm["paired"] is True
    assert harm["difference"]["value"] == pytest.approx(harm["b"]["value"] - harm["a"]["value"])
    assert harm["significant"] and harm["difference"]["ci_high"] < 0
    assert set(result["by_category"]) == {"c"}
    # different prompt ids: an independent-samples comparison
    other = [dict(t, id="o" + t["id"]) for t in after]
    unpaired = compare(before, other)["metrics"]["harmful_answer_rate"]
    assert unpaired["paired"] is False
    assert unpaired["difference"]["value"] == pytest.approx(harm["difference"]["value"])
    with pytest.raises(ValueError, match="paired"):
        compare(before, other, paired=True)
    assert "harmful_answer_rate" in format_comparison(result)
