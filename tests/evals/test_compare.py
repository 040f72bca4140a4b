"""Comparing two evaluation directories: B - A per metric, paired by prompt id, with honest intervals."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from sparring.evals.compare import compare_evals, comparison_table
from sparring.evals.metrics import difference
from sparring.evals.runner import summarize


def _write_eval(path, suites: dict[str, list[dict]], model: str, judge: str = "embedded") -> None:
    """An evaluation directory as ``sparring eval`` writes it (eval.json + transcripts/<suite>.jsonl)."""
    (path / "transcripts").mkdir(parents=True)
    result = {"schema_version": 1, "model": model, "judge": judge, "complete": True, "suites": {}}
    for spec, transcripts in suites.items():
        rel = f"transcripts/{spec}.jsonl"
        (path / rel).write_text("".join(json.dumps(t) + "\n" for t in transcripts))
        result["suites"][spec] = summarize(transcripts) | {"transcripts": rel}
    (path / "eval.json").write_text(json.dumps(result))


def _harmful(pid: str, success: float, score: float | None = None) -> dict:
    verdict = {"prompt_harmful": 0.9, "refusal": 1.0 - success, "response_harmful": success}
    if score is not None:
        verdict["score"] = score
    return {"id": pid, "label": "harmful", "category": "c", "verdict": verdict}


def _pair(rng, n: int = 150) -> tuple[list[dict], list[dict], dict[str, float], dict[str, float]]:
    """A: attack success with p=0.4. B: each success kept w.p. 0.5, each failure flipped w.p. 0.1.

    True E[B - A] = -0.4 * 0.5 + 0.6 * 0.1 = -0.14. B lists the prompts in another order and has five
    judge failures, so only pairing by id (not by position) gives the right answer.
    """
    a = (rng.random(n) < 0.4).astype(float)
    b = np.where(a == 1, (rng.random(n) < 0.5).astype(float), (rng.random(n) < 0.1).astype(float))
    ids = [f"p{i}" for i in range(n)]
    ta = [_harmful(i, x) for i, x in zip(ids, a, strict=True)]
    tb = [_harmful(i, x) for i, x in zip(ids, b, strict=True)]
    for j in rng.choice(n, 5, replace=False):
        tb[j] = {**tb[j], "verdict": None}
    order = rng.permutation(n)
    return ta, [tb[j] for j in order], dict(zip(ids, a, strict=True)), dict(zip(ids, b, strict=True))


def test_paired_difference_of_two_eval_dirs_covers_the_truth(tmp_path):
    rng = np.random.default_rng(11)
    reps, covered, paired_w, unpaired_w = 100, 0, 0.0, 0.0
    for rep in range(reps):
        ta, tb, xa, xb = _pair(rng)
        _write_eval(tmp_path / f"a{rep}", {"s": ta}, "A")
        _write_eval(tmp_path / f"b{rep}", {"s": tb}, "B")
        m = compare_evals(tmp_path / f"a{rep}", tmp_path / f"b{rep}", n_boot=1000, seed=rep)["suites"]["s"]
        m = m["metrics"]["harmful_answer_rate"]
        d = m["difference"]
        covered += d["ci_low"] <= -0.14 <= d["ci_high"]
        paired_w += d["ci_high"] - d["ci_low"]
        u = difference([t for t in xa.values()], [t for t in xb.values()], n_boot=1000, seed=rep)
        unpaired_w += u["ci_high"] - u["ci_low"]
        if rep == 0:  # exactly the mean of per-prompt differences over the prompts both sides judged
            judged = [t["id"] for t in tb if t["verdict"] is not None]
            assert m["paired"] and m["n_pairs"] == 145 and m["unpaired_a"] == 5 and m["unpaired_b"] == 0
            assert d["value"] == pytest.approx(np.mean([xb[i] - xa[i] for i in judged]))
    assert covered / reps >= 0.88  # nominal 95%; the percentile bootstrap runs slightly under
    assert paired_w < unpaired_w  # pairing removes the prompt-to-prompt variation


def test_compare_evals_scores_suites_in_common_and_refuses_unpairable(tmp_path):
    a = [_harmful(f"p{i}", float(i % 2), score=0.2) for i in range(20)]
    b = [_harmful(f"p{i}", 0.0, score=0.0) for i in range(20)]
    benign = [
        {"id": "q", "label": "benign", "category": "c", "verdict": {"refusal": 1.0, "response_harmful": 0.0}}
    ]
    _write_eval(tmp_path / "A", {"s": a, "only_a": benign}, "base")
    _write_eval(tmp_path / "B", {"s": b}, "trained", judge="other")
    result = compare_evals(tmp_path / "A", tmp_path / "B")
    metrics = result["suites"]["s"]["metrics"]
    assert metrics["harmful_answer_rate"]["difference"]["value"] == pytest.approx(-0.5)
    assert metrics["harmful_answer_rate"]["significant"]
    assert metrics["strongreject_score"]["difference"]["value"] == pytest.approx(-0.2)
    assert result["only_a"] == ["only_a"] and result["only_b"] == []
    caption = comparison_table(result).caption
    assert "only_a" in caption and "different judges" in caption

    _write_eval(tmp_path / "C", {"s": [_harmful(f"x{i}", 0.0) for i in range(5)]}, "other")
    with pytest.raises(ValueError, match="share no prompt"):
        compare_evals(tmp_path / "A", tmp_path / "C")
    _write_eval(tmp_path / "D", {"t": b}, "other")
    with pytest.raises(ValueError, match="share no suite"):
        compare_evals(tmp_path / "A", tmp_path / "D")
    with pytest.raises(FileNotFoundError, match=r"no eval\.json"):
        compare_evals(tmp_path / "A", tmp_path / "nowhere")


def test_compare_cli_prints_the_difference(tmp_path):
    a = [_harmful(f"p{i}", 1.0) for i in range(30)]
    b = [_harmful(f"p{i}", 0.0) for i in range(30)]
    _write_eval(tmp_path / "A", {"jbb": a}, "base")
    _write_eval(tmp_path / "B", {"jbb": b}, "trained")
    res = subprocess.run(
        [sys.executable, "-m", "sparring.cli", "compare", str(tmp_path / "A"), str(tmp_path / "B")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "-100.0% [-100.0%, -100.0%] *" in res.stdout and "attack success" in res.stdout
    res = subprocess.run(
        [sys.executable, "-m", "sparring.cli", "compare", str(tmp_path / "A")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2 and "two evaluation directories" in res.stderr


def test_compare_run_pairs_any_stage_of_one_run_with_another(tmp_path):
    from sparring.evals.compare import compare_run

    def write_stage(run, stage: str, success: float) -> None:
        run.mkdir(exist_ok=True)
        (run / "config.yaml").write_text("model: tiny-random-llama\n")
        rows = [_harmful(f"p{i}", success) | {"suite": "jbb"} for i in range(20)]
        (run / f"eval_{stage}_transcripts.jsonl").write_text("".join(json.dumps(t) + "\n" for t in rows))

    # a baseline run that started from a saved adapter: its "before" is that adapter alone
    write_stage(tmp_path / "base", "before", 1.0)
    write_stage(tmp_path / "base", "after", 0.0)
    write_stage(tmp_path / "selfplay", "after", 0.0)
    same_stage = compare_run(tmp_path / "base", tmp_path / "selfplay")
    assert same_stage["a"]["dir"].endswith("eval_after_transcripts.jsonl")
    assert same_stage["suites"]["jbb"]["metrics"]["harmful_answer_rate"]["difference"]["value"] == 0.0
    vs_before = compare_run(tmp_path / "base", tmp_path / "selfplay", baseline="before")
    assert vs_before["a"]["dir"].endswith("eval_before_transcripts.jsonl")
    assert vs_before["suites"]["jbb"]["metrics"]["harmful_answer_rate"]["difference"]["value"] == -1.0
    with pytest.raises(FileNotFoundError, match="eval_warmup_transcripts"):
        compare_run(tmp_path / "base", tmp_path / "selfplay", baseline="warmup")


def _write_run_stage(run, stage: str, outcomes: list[float], suite: str = "jbb", prefix: str = "p") -> None:
    """A training run directory holding one evaluation stage's transcripts (harmful prompts only)."""
    run.mkdir(exist_ok=True)
    (run / "config.yaml").write_text("model: tiny-random-llama\n")
    rows = [_harmful(f"{prefix}{i}", x) | {"suite": suite} for i, x in enumerate(outcomes)]
    (run / f"eval_{stage}_transcripts.jsonl").write_text("".join(json.dumps(t) + "\n" for t in rows))


def test_pooled_difference_puts_the_spread_between_repetitions_in_the_interval():
    from sparring.evals.compare import paired_difference, pooled_difference

    rng = np.random.default_rng(3)
    a, b = (rng.random(40) < 0.5).astype(float), (rng.random(40) < 0.3).astype(float)
    one, plain = pooled_difference([(a, b)], n_boot=4000), paired_difference(a, b, n_boot=4000)
    assert one["value"] == pytest.approx(plain["value"])
    assert one["ci_low"] == pytest.approx(plain["ci_low"], abs=0.03)
    assert one["ci_high"] == pytest.approx(plain["ci_high"], abs=0.03)

    # Two repetitions that disagree completely: every prompt +1 in one, -1 in the other. Resampling prompts
    # alone would give [0, 0]; the interval must span the disagreement.
    zeros, ones = np.zeros(20), np.ones(20)
    split = pooled_difference([(zeros, ones), (ones, zeros)])
    assert split["value"] == 0.0 and split["ci_low"] == -1.0 and split["ci_high"] == 1.0
    # Three repetitions that agree (each lowers the rate by 0.5-0.6) are significant; pairs weigh equally.
    agree = pooled_difference([(ones, np.r_[zeros[:10], ones[:10]]), (ones[:10], zeros[:10]), (ones, zeros)])
    assert agree["value"] == pytest.approx((-0.5 - 1.0 - 1.0) / 3) and agree["ci_high"] < 0
    with pytest.raises(ValueError, match="equal lengths"):
        pooled_difference([(ones, zeros[:3])])
    assert pooled_difference([([], [])])["value"] is None


def test_compare_cli_pools_pairs_of_runs_from_other_seeds(tmp_path):
    # three seeds; each evaluated its own prompts (other ids); B lowers attack success by 30, 10, 20 points
    truth = [-0.3, -0.1, -0.2]
    dirs = []
    for seed, effect in enumerate(truth):
        a_out = [1.0] * 10 + [0.0] * 10
        b_out = [0.0] * round(-effect * 20) + [1.0] * (10 - round(-effect * 20)) + [0.0] * 10
        _write_run_stage(tmp_path / f"noatk{seed}", "after", a_out, prefix=f"s{seed}-")
        _write_run_stage(tmp_path / f"selfplay{seed}", "after", b_out, prefix=f"s{seed}-")
        dirs.append((str(tmp_path / f"noatk{seed}"), str(tmp_path / f"selfplay{seed}")))
    cmd = [sys.executable, "-m", "sparring.cli", "compare", *dirs[0]]
    for pair in dirs[1:]:
        cmd += ["--pair", *pair]
    wide = {**os.environ, "COLUMNS": "200"}  # rich fits the table to the terminal
    res = subprocess.run(
        [*cmd, "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120, env=wide
    )
    assert res.returncode == 0, res.stderr
    assert "mean over 3 pairs of runs" in res.stdout and "-30.0%, -10.0%, -20.0%" in res.stdout
    m = json.loads((tmp_path / "out" / "compare.json").read_text())["suites"]["jbb"]["metrics"]
    m = m["harmful_answer_rate"]
    assert m["per_pair"] == pytest.approx(truth) and m["difference"]["value"] == pytest.approx(-0.2)
    assert m["n_pairs"] == 60 and m["significant"]

    _write_eval(tmp_path / "evaldir", {"jbb": [_harmful("p0", 1.0)]}, "base")
    res = subprocess.run(
        [*cmd[:-3], "--pair", dirs[1][0], str(tmp_path / "evaldir")], capture_output=True, text=True
    )
    assert res.returncode == 2
    assert "noatk1 is a training run and " in res.stderr and "evaldir is not" in res.stderr


def test_compare_pools_pairs_of_evaluation_directories(tmp_path):
    # each seed's adapters evaluated again with `sparring eval` on one larger suite: the same prompts in
    # every pair; B lowers over-refusal by 40 and 20 points and leaves attack success alone
    from sparring.evals.compare import compare_pairs

    def benign(pid: str, refused: float) -> dict:
        return {
            "id": pid,
            "label": "benign",
            "category": "c",
            "verdict": {"refusal": refused, "response_harmful": 0.0},
        }

    pairs = []
    for seed, cut in enumerate([8, 4]):
        harmful = [_harmful(f"h{i}", float(i < 5)) for i in range(20)]
        refused_a = [benign(f"b{i}", float(i < 10)) for i in range(20)]
        refused_b = [benign(f"b{i}", float(cut <= i < 10)) for i in range(20)]
        _write_eval(tmp_path / f"A{seed}", {"xstest": harmful + refused_a}, "noatk")
        _write_eval(tmp_path / f"B{seed}", {"xstest": harmful + refused_b}, "selfplay")
        pairs.append((tmp_path / f"A{seed}", tmp_path / f"B{seed}"))
    result = compare_pairs(pairs)
    m = result["suites"]["xstest"]["metrics"]
    assert m["benign_refusal_rate"]["per_pair"] == pytest.approx([-0.4, -0.2])
    assert m["benign_refusal_rate"]["difference"]["value"] == pytest.approx(-0.3)
    assert m["benign_refusal_rate"]["significant"] and m["benign_refusal_rate"]["n_pairs"] == 40
    assert m["harmful_answer_rate"]["difference"]["value"] == 0.0
    assert result["pairs"] == 2 and result["a"]["model"] == "A0, A1"

    wide = {**os.environ, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "sparring.cli", "compare", str(pairs[0][0]), str(pairs[0][1])]
    res = subprocess.run([*cmd, "--pair", *map(str, pairs[1])], capture_output=True, text=True, env=wide)
    assert res.returncode == 0, res.stderr
    assert "mean over 2 pairs" in res.stdout and "-40.0%, -20.0%" in res.stdout
    res = subprocess.run(
        [*cmd, "--pair", *map(str, pairs[1]), "--baseline", "before"], capture_output=True, text=True
    )
    assert res.returncode == 2 and "--baseline picks a stage of a training run" in res.stderr
    res = subprocess.run(
        [*cmd, "--pair", str(pairs[1][0]), str(tmp_path / "nowhere")], capture_output=True, text=True
    )
    assert res.returncode == 2 and "nowhere: no eval.json" in res.stderr
