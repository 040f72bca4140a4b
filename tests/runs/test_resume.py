"""Kill a training process mid-run with SIGKILL, resume it, and get exactly the uninterrupted result."""

import importlib.util
import itertools
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from conftest import smoke_overrides
from sparring.config import load_config
from sparring.rl.loop import train
from sparring.runs.report import build_html

STEPS = 5


def overrides(tmp_path, name):
    return smoke_overrides(
        tmp_path / name,
        **{
            "train.steps": STEPS,
            "train.checkpoint_every": 1,
            "eval.before": False,
            "eval.after": False,
            "attacker.max_new_tokens": 24,
            "defender.max_new_tokens": 24,
        },
    )


def flags(ov: dict) -> list[str]:
    return [f"--{k}={v}" for k, v in ov.items()]


def episodes(run_dir):
    return [json.loads(line) for line in (run_dir / "episodes.jsonl").read_text().splitlines()]


def test_sigkill_mid_step_then_resume_matches_uninterrupted_run(tmp_path, tiny_model_dir):
    reference = train(load_config(overrides=overrides(tmp_path, "reference"))).path

    ov = overrides(tmp_path, "killed")
    run_dir = tmp_path / "killed" / "run"
    cmd = [sys.executable, "-m", "sparring.cli", "train", *flags(ov)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline:  # wait until two steps are logged, then kill inside the third
        lines = (
            (run_dir / "metrics.jsonl").read_text().count("\n") if (run_dir / "metrics.jsonl").exists() else 0
        )
        if lines >= 2 or proc.poll() is not None:
            break
        time.sleep(0.01)
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    logged = (run_dir / "metrics.jsonl").read_text().count("\n")
    assert logged < STEPS, "the process finished before it could be killed"
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"  # it really died

    result = subprocess.run(
        [sys.executable, "-m", "sparring.cli", "train", "--resume", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"

    # The archive is readable, nothing duplicated or lost, and the replayed steps match exactly.
    got, want = episodes(run_dir), episodes(reference)
    assert [e["step"] for e in got] == [e["step"] for e in want]
    assert [(e["seed"]["id"], e["attack"], e["answer"]) for e in got] == [
        (e["seed"]["id"], e["attack"], e["answer"]) for e in want
    ]
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == list(range(STEPS))
    if importlib.util.find_spec("tensorboard"):
        # TensorBoard appends a second event file; the steps the crash logged past its checkpoint are
        # hidden (purge_step), so every step shows once, with the value of metrics.jsonl.
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        assert len(list((run_dir / "tensorboard").glob("events.out.tfevents.*"))) == 2
        acc = EventAccumulator(str(run_dir / "tensorboard"))
        acc.Reload()
        got = [(e.step, e.value) for e in acc.Scalars("defender/reward_mean")]
        assert got == [(m["step"], pytest.approx(m["defender/reward_mean"])) for m in metrics]
    for role in ("attacker", "defender"):
        a = load_file(str(reference / "adapters" / role / "adapter_model.safetensors"))
        b = load_file(str(run_dir / "adapters" / role / "adapter_model.safetensors"))
        assert a.keys() == b.keys()
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_checkpoints_are_complete_or_absent(tmp_path, tiny_model_dir):
    run = train(load_config(overrides=overrides(tmp_path, "ckpt") | {"train.steps": 2}))
    names = sorted(p.name for p in (run.path / "checkpoints").iterdir())
    assert names == ["step-000001", "step-000002"]  # no leftover temporary directories
    for name in names:
        ckpt = run.path / "checkpoints" / name
        assert (ckpt / "trainer_state.pt").is_file()
        for role in ("attacker", "defender"):
            assert (ckpt / "adapters" / role / "adapter_model.safetensors").is_file()


def test_time_budget_stops_self_play_early_and_resume_finishes_it(tmp_path, tiny_model_dir):
    from sparring.rl.loop import out_of_time

    # the rule: one more mean step must fit; before any step, the budget must be unspent; None never stops
    now = time.perf_counter()
    assert out_of_time(1.0, now - 55, [5.0, 9.0])  # 55 s used + 7 s mean > 60 s
    assert not out_of_time(1.0, now - 55, [3.0, 3.0])
    assert out_of_time(1.0, now - 61, []) and not out_of_time(1.0, now - 55, [])
    assert not out_of_time(None, now - 1e6, [5.0]) and not out_of_time(None, now - 1e6, [])

    reference = train(load_config(overrides=overrides(tmp_path, "reference"))).path
    # a budget of a few milliseconds, spent before self-play begins: no step starts
    ov = overrides(tmp_path, "budget") | {"train.max_minutes": 1e-4, "eval.after": True}
    run_dir = train(load_config(overrides=ov)).path
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "finished" and info["stopped_early_at_step"] == 0
    assert not (run_dir / "metrics.jsonl").exists() or not (run_dir / "metrics.jsonl").read_text().strip()
    assert (run_dir / "checkpoints" / "step-000000").is_dir()
    assert json.loads((run_dir / "eval_after.json").read_text())["n"] > 0  # evaluation still ran
    assert (run_dir / "adapters" / "defender" / "adapter_model.safetensors").is_file()

    cfg = load_config(
        path=run_dir / "config.yaml", overrides={"run_dir": str(run_dir), "train.max_minutes": None}
    )
    train(cfg, resume=True)
    info = json.loads((run_dir / "run.json").read_text())
    assert info["resumed_at_step"] == 0 and info["stopped_early_at_step"] is None
    # stopping on time and resuming loses nothing: the same episodes as the uninterrupted run
    got, want = episodes(run_dir), episodes(reference)
    assert [(e["step"], e["attack"], e["answer"]) for e in got] == [
        (e["step"], e["attack"], e["answer"]) for e in want
    ]


def _adapter(path):
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text("{}")


def test_run_budget_keeps_the_evaluation_before_and_cross_play_at_its_speed(tmp_path):
    from sparring.evals.crossplay import crossplay_samples
    from sparring.rl.loop import budget_spent, out_of_time, reserved_seconds
    from sparring.runs.rundir import RunDir

    run = RunDir(tmp_path / "run")
    for role in ("attacker", "defender"):
        _adapter(run.path / "warmstart" / role)
    # while training, before the final adapters: base, warm start and the coming final play, 3 x 3 on 12 seeds
    assert crossplay_samples(run.path, 12) == (3 * 12, 3 * 3 * 12)
    assert crossplay_samples(run.path, 12, include_base=False) == (2 * 12, 2 * 2 * 12)
    for step in (2, 4):  # the newest checkpoint is the final adapters' weights: only step 2 adds a player
        for role in ("attacker", "defender"):
            _adapter(run.path / "checkpoints" / f"step-{step:06d}" / "adapters" / role)
    assert crossplay_samples(run.path, 12) == (4 * 12, 4 * 4 * 12)
    for role in ("attacker", "defender"):  # after a stop on time: final adapters exist, counted once
        _adapter(run.path / "adapters" / role)
    assert crossplay_samples(run.path, 12) == (4 * 12, 4 * 4 * 12)

    cfg = load_config(overrides={"eval.crossplay_seeds": 12})
    assert reserved_seconds(run, cfg) is None  # nothing timed yet: nothing to judge by
    run.write_json("eval_before.json", {"n": 8, "timing": {"seconds": 90.0, "answers": 180}})
    crossplay_seconds = 0.5 * (4 * 12 + 4 * 4 * 12)  # 0.5 s per answer of the evaluation
    assert reserved_seconds(run, cfg) == pytest.approx(90.0 + crossplay_seconds)
    no_after = load_config(overrides={"eval.crossplay_seeds": 12, "eval.after": False})
    assert reserved_seconds(run, no_after) == pytest.approx(crossplay_seconds)
    assert reserved_seconds(run, load_config(overrides={"eval.crossplay_seeds": 0})) == pytest.approx(90.0)
    # 30 s used + a 5 s step + the reserve, against 60 s
    now = time.perf_counter()
    assert out_of_time(1.0, now - 30, [5.0], 26.0) and not out_of_time(1.0, now - 30, [5.0], 20.0)
    # the loop's check: a 90 s evaluation to keep stops self-play in a 1-minute run budget, not in 2 minutes
    for minutes, stops in ((1.0, True), (2.0, False)):
        budget = {"eval.crossplay_seeds": 0, "train.run_minutes": minutes}
        spent = budget_spent(load_config(overrides=budget), run, time.perf_counter(), [])
        kept = f"train.run_minutes={minutes:g} (1.5 min kept for what follows)"
        assert spent == (kept if stops else None)


def test_run_budget_stops_self_play_and_times_the_evaluation(tmp_path, tiny_model_dir):
    ov = overrides(tmp_path, "run_budget") | {"eval.before": True, "train.run_minutes": 1e-4}
    run_dir = train(load_config(overrides=ov)).path
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "finished" and info["stopped_early_at_step"] == 0
    assert info["stopped_by"].startswith("train.run_minutes=0.0001 (") and "min kept" in info["stopped_by"]
    html = build_html(run_dir)  # the report says where and why self-play stopped
    assert "self-play stopped" in html and "after step 0 (train.run_minutes=0.0001 (" in html
    timing = json.loads((run_dir / "eval_before.json").read_text())["timing"]
    transcripts = (run_dir / "eval_before_transcripts.jsonl").read_text().splitlines()
    assert timing["answers"] == len(transcripts) > 0 and timing["seconds"] > 0


def test_seed_mix_feedback_follows_its_rule_and_resumes_exactly(tmp_path, tiny_model_dir):
    from sparring.game.balance import next_harmful_share

    feedback = {"train.share_gain": 2.0, "train.exact_harmful_share": True, "train.seeds_per_step": 4}
    reference = train(load_config(overrides=overrides(tmp_path, "reference") | feedback)).path
    rows = [json.loads(line) for line in (reference / "metrics.jsonl").open()]
    shares = [r["train/harmful_share"] for r in rows]
    assert shares[0] == 0.5
    for before, after in itertools.pairwise(rows):  # each step's share is set from the step before
        want = next_harmful_share(
            before["train/harmful_share"], before["defender/loss_rate_benign"], 0.15, 2.0, (0.25, 0.75)
        )
        assert after["train/harmful_share"] == pytest.approx(want)
    assert len(set(shares)) > 1  # the random tiny model loses unevenly: the share moved

    ov = overrides(tmp_path, "budget") | feedback | {"train.max_minutes": 1e-4}
    run_dir = train(load_config(overrides=ov)).path
    cfg = load_config(
        path=run_dir / "config.yaml", overrides={"run_dir": str(run_dir), "train.max_minutes": None}
    )
    train(cfg, resume=True)
    resumed = [json.loads(line) for line in (run_dir / "metrics.jsonl").open()]
    assert [r["train/harmful_share"] for r in resumed] == shares  # the moved share came back on resume
    got, want = episodes(run_dir), episodes(reference)
    assert [(e["step"], e["seed"]["id"], e["answer"]) for e in got] == [
        (e["step"], e["seed"]["id"], e["answer"]) for e in want
    ]
