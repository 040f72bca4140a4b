"""Attacker B minus attacker A over several runs' saved cross-play (records as crossplay writes them)."""

import json
import subprocess
import sys

import pytest

from sparring.evals.crossplay_compare import compare_attackers, format_attacker_comparison


def write_run(path, successes, info=True):
    """A run dir whose crossplay_transcripts.jsonl holds ``{(attacker, defender): [success per seed]}``;
    seeds h0, h1 are harmful and b0, b1 benign."""
    path.mkdir(parents=True)
    (path / "config.yaml").write_text("model: tiny-random-llama\n")
    ids = [("h0", "harmful"), ("h1", "harmful"), ("b0", "benign"), ("b1", "benign")]
    with (path / "crossplay_transcripts.jsonl").open("w") as fh:
        for (attacker, defender), values in successes.items():
            for (seed_id, label), s in zip(ids, values, strict=True):
                record = {"attacker": attacker, "defender": defender, "seed_id": seed_id, "label": label}
                fh.write(json.dumps({**record, "attack": "...", "answer": "...", "success": s}) + "\n")
    if info:
        infos = [
            {"name": n, "format_ok_rate": 0.5, "faithful_rate": f, "self_bleu_2": 0.7}
            for n, f in (("warmstart", 0.25), ("final", 0.75))
        ]
        (path / "crossplay.json").write_text(json.dumps({"attacker_info": infos}))
    return path


@pytest.fixture
def runs(tmp_path):
    one = write_run(
        tmp_path / "seed0",
        {
            ("warmstart", "base"): [0, 0, 1, 0],
            ("final", "base"): [1, 1, 1, 0],  # +2 of 4 seeds, both harmful
            ("warmstart", "final"): [0, 0, 0, 0],
            ("final", "final"): [0, 0, 0, 0],
        },
    )
    two = write_run(
        tmp_path / "seed1",
        {
            ("warmstart", "base"): [0, 1, 0, 0],
            # +1 of 3 judged seeds: b1's judgment failed (None) and is left out for both attackers
            ("final", "base"): [1, 1, 0, None],
            ("warmstart", "final"): [0, 0, 0, 1],
            ("final", "final"): [0, 0, 0, 0],
        },
    )
    return one, two


def test_pools_the_paired_difference_over_runs(runs):
    result = compare_attackers(list(runs), "warmstart", "final", n_boot=500)
    assert list(result["defenders"]) == ["base", "final"]
    base = result["defenders"]["base"]
    assert base["all"]["n"] == [4, 3]
    assert base["all"]["per_run"] == pytest.approx([0.5, 1 / 3])
    assert base["all"]["difference"]["value"] == pytest.approx((0.5 + 1 / 3) / 2)
    assert base["all"]["a"] == pytest.approx((0.25 + 1 / 3) / 2)
    assert base["harmful"]["per_run"] == pytest.approx([1.0, 0.5])
    assert base["harmful"]["significant"]  # never negative in any resample
    assert base["benign"]["per_run"] == pytest.approx([0.0, 0.0]) and base["benign"]["n"] == [2, 1]
    assert not base["benign"]["significant"]
    final = result["defenders"]["final"]["all"]
    assert final["per_run"] == pytest.approx([0.0, -0.25]) and not final["significant"]
    assert result["attackers"][0]["final"]["faithful_rate"] == 0.75

    text = format_attacker_comparison(result)
    assert "2 run(s) pooled" in text
    assert "vs base defender, harmful seeds (n=2/2): 25.0% -> 100.0%  +75.0" in text
    assert "(+100.0, +50.0)" in text
    assert "warmstart: well-formed 50.0%, faithful 25.0%, Self-BLEU-2 0.70; final:" in text


def test_one_run_is_the_paired_bootstrap_and_the_order_of_a_b_flips_the_sign(runs):
    forward = compare_attackers([runs[0]], "warmstart", "final", n_boot=500)["defenders"]["base"]["all"]
    back = compare_attackers([runs[0]], "final", "warmstart", n_boot=500)["defenders"]["base"]["all"]
    assert forward["difference"]["value"] == pytest.approx(0.5)
    assert back["difference"]["value"] == pytest.approx(-0.5)


def test_errors_name_the_file_and_what_is_missing(tmp_path, runs):
    with pytest.raises(ValueError, match=r"seed0/crossplay_transcripts.jsonl: no attacker 'step-3'"):
        compare_attackers([runs[0]], "step-3", "final")
    empty = tmp_path / "fresh"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"run `sparring crossplay .*fresh` first"):
        compare_attackers([runs[0], empty])
    lonely = write_run(tmp_path / "lonely", {("warmstart", "base"): [0] * 4, ("final", "step-2"): [1] * 4})
    with pytest.raises(ValueError, match="no defender faced both 'warmstart' and 'final'"):
        compare_attackers([lonely])
    broken = write_run(tmp_path / "broken", {("warmstart", "base"): [0, 0, 0, 0]}, info=False)
    with (broken / "crossplay_transcripts.jsonl").open("a") as fh:
        fh.write('{"attacker": "final"}\n')
    with pytest.raises(ValueError, match=r"broken/crossplay_transcripts.jsonl, line 5: expected"):
        compare_attackers([broken])


def test_cli_compares_saved_runs_and_refuses_several_runs_without_compare(runs):
    cmd = [sys.executable, "-m", "sparring.cli", "crossplay", *map(str, runs)]
    res = subprocess.run([*cmd, "--compare", "warmstart", "final"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "attacker final minus attacker warmstart" in res.stdout and "(+50.0, +33.3)" in res.stdout
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 2 and "several runs go with --compare A B" in res.stderr
    played = [*cmd, "--compare", "warmstart", "final", "--seeds", "64", "--bf16"]
    res = subprocess.run(played, capture_output=True, text=True)
    assert res.returncode == 2 and "only when playing (sparring crossplay RUN_DIR ...): --seeds, --bf16" in (
        res.stderr
    )
    res = subprocess.run([*cmd, "--compare", "warmstart", "nobody"], capture_output=True, text=True)
    assert res.returncode == 2 and "no attacker 'nobody'" in res.stderr and "Traceback" not in res.stderr
