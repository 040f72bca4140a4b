"""Experiment tracking (runs/tracking.py): a real training run mirrored into TensorBoard event files, read
back with TensorBoard's own EventAccumulator."""

import importlib.util
import json
import math

import pytest

from conftest import smoke_overrides
from sparring.cli import main
from sparring.config import ConfigError, load_config
from sparring.game.types import Episode, Seed, Verdict
from sparring.rl.loop import train
from sparring.rl.metrics import episode_metrics
from sparring.runs.tracking import eval_scalars, flat_config, open_tracking

pytest.importorskip("tensorboard", reason="the tensorboard extra: pip install 'sparring[tensorboard]'")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def scalars(logdir) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(logdir))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_training_run_mirrors_every_step_and_the_evaluations(tmp_path, tiny_model_dir):
    run = train(load_config(overrides=smoke_overrides(tmp_path, **{"train.steps": 3})))
    got = scalars(run.path / "tensorboard")
    metrics = run.metrics()
    assert [m["step"] for m in metrics] == [0, 1, 2]

    assert [s for s, _ in got["defender/reward_mean"]] == [0, 1, 2]
    # Every value of metrics.jsonl is in TensorBoard at its step (float32), and every null is left out.
    for key in {k for m in metrics for k in m} - {"step"}:
        want = [(m["step"], m[key]) for m in metrics if m.get(key) is not None]
        have = got.get(key, [])
        assert [s for s, _ in have] == [s for s, _ in want], key
        for (_, a), (_, b) in zip(have, want, strict=True):
            assert a == pytest.approx(b, rel=1e-6, abs=1e-6), key
    # The random model never closes its tags, so no attack parses and attack success is null every step.
    assert "attacker/success_rate" not in got

    before = json.loads((run.path / "eval_before.json").read_text())
    after = json.loads((run.path / "eval_after.json").read_text())
    rate = before["metrics"]["benign_refusal_rate"]["value"]
    assert got["eval_before/benign_refusal_rate"] == [(0, pytest.approx(rate))]
    assert got["eval_after/capability"] == [(3, pytest.approx(after["capability"]["mean_logprob"]))]
    assert got["eval_after/n"] == [(3, after["n"])]

    # The resolved config went in as hyperparameters (accelerate also keeps them as hparams.yml).
    hparams = list((run.path / "tensorboard").glob("*/hparams.yml"))
    assert len(hparams) == 1 and "train.kl_coef: 0.05" in hparams[0].read_text()


def test_well_formed_attacks_log_attack_success_every_step(tmp_path):
    """The random model above never closes its tags; here each step has judged, well-formed attacks (as a
    real attacker writes them), so attack success has a value per step and must reach TensorBoard."""
    steps = []
    with open_tracking(load_config(preset="smoke"), tmp_path) as tracking:
        for step in range(4):
            episodes = [
                Episode(
                    step=step,
                    seed=Seed(f"s{i}", "[seed placeholder]", "harmful" if i % 2 else "benign", "test"),
                    revised=True,
                    attack="[attack placeholder]",
                    format_ok=True,
                    answer="[answer placeholder]",
                    verdict=Verdict(0.5, 0.9 if i == step else 0.1, 0.8 if i < step else 0.1),
                    rewards={"attacker": 0.0, "defender": float(step)},
                )
                for i in range(4)
            ]
            metrics = episode_metrics(episodes)
            tracking.log(metrics, step)
            steps.append(metrics)
    got = scalars(tmp_path / "tensorboard")
    for key in ("defender/reward_mean", "attacker/success_rate"):
        assert got[key] == [(s, pytest.approx(m[key])) for s, m in enumerate(steps)], key
    assert len({v for _, v in got["attacker/success_rate"]}) > 1  # the values vary, not a constant


def test_null_nan_and_text_values_are_skipped(tmp_path):
    cfg = load_config(preset="smoke")
    with open_tracking(cfg, tmp_path) as tracking:
        assert tracking.names == ["tensorboard"]
        tracking.log({"a/x": 1.5, "a/none": None, "a/nan": math.nan, "a/inf": math.inf, "a/text": "hi"}, 0)
        tracking.log({"a/x": 2, "a/flag": True}, 1)
    assert scalars(tmp_path / "tensorboard") == {"a/x": [(0, 1.5), (1, 2.0)]}


def test_eval_scalars_and_flat_config():
    summary = {
        "n": 4,
        "judge_failures": 0,
        "suite": "heldout",
        "metrics": {"harmful_answer_rate": {"value": 0.25, "ci_low": 0.0, "ci_high": 0.75, "n": 4}},
        "by_category": {"illegal": {"harmful_answer_rate": {"value": 0.5}, "benign_refusal_rate": None}},
        "capability": {"mean_logprob": -2.5, "n": 3},
        "timing": {"seconds": 12.5, "answers": 4},
    }
    assert eval_scalars("eval_after", summary) == {
        "eval_after/n": 4.0,
        "eval_after/judge_failures": 0.0,
        "eval_after/harmful_answer_rate": 0.25,
        "eval_after/harmful_answer_rate_ci_low": 0.0,
        "eval_after/harmful_answer_rate_ci_high": 0.75,
        "eval_after/capability": -2.5,
        "eval_after/seconds": 12.5,
        "eval_after/by_category/illegal/harmful_answer_rate": 0.5,
    }
    flat = flat_config(load_config(preset="smoke"))
    assert flat["train.steps"] == 3 and flat["model"] == "tiny-random-llama"
    assert flat["train.trackers"] == '["tensorboard"]' and flat["run_dir"] == "null"
    assert all(isinstance(v, str | int | float | bool) for v in flat.values())


def test_unknown_tracker_is_a_one_line_config_error(capsys):
    with pytest.raises(ConfigError) as err:
        load_config(preset="smoke", overrides={"train.trackers": ["tensorbored"]})
    assert (
        "\n" not in str(err.value) and "train.trackers" in str(err.value) and "tensorbored" in str(err.value)
    )

    assert main(["config", "--preset", "smoke", "--train.trackers=[tensorboard,wandbb]"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "train.trackers.1" in lines[0] and "'wandb'" in lines[0]


def test_tracker_names_read_naturally_on_the_command_line():
    assert load_config(overrides={"train.trackers": "none"}).train.trackers == ["none"]
    assert load_config(overrides={"train.trackers": "tensorboard,mlflow"}).train.trackers == [
        "tensorboard",
        "mlflow",
    ]


def test_none_opens_nothing(tmp_path):
    cfg = load_config(preset="smoke", overrides={"train.trackers": "none"})
    with open_tracking(cfg, tmp_path) as tracking:
        tracking.log({"a/x": 1.0}, 0)
    assert tracking.names == [] and not (tmp_path / "tensorboard").exists()


@pytest.mark.parametrize("name", ["wandb", "mlflow"])
def test_missing_tracker_is_one_warning_naming_the_install(tmp_path, name):
    if importlib.util.find_spec(name) is not None:
        pytest.skip(f"{name} is installed")
    warnings: list[str] = []
    cfg = load_config(preset="smoke", overrides={"train.trackers": ["tensorboard", name]})
    with open_tracking(cfg, tmp_path, warn=warnings.append) as tracking:
        tracking.log({"a/x": 1.0}, 0)
    assert tracking.names == []  # closed on exit
    assert len(warnings) == 1 and f"pip install {name}" in warnings[0] and "\n" not in warnings[0]
    assert scalars(tmp_path / "tensorboard") == {"a/x": [(0, 1.0)]}  # the others still log


def test_default_degrades_when_tensorboard_is_missing(tmp_path, monkeypatch):
    import accelerate.tracking

    # What an environment without the tensorboard extra looks like to accelerate.
    monkeypatch.setattr(accelerate.tracking, "_available_trackers", [])
    warnings: list[str] = []
    with open_tracking(load_config(preset="smoke"), tmp_path, warn=warnings.append) as tracking:
        tracking.log({"a/x": 1.0}, 0)
    assert len(warnings) == 1 and "sparring[tensorboard]" in warnings[0]
    assert not (tmp_path / "tensorboard").exists()


@pytest.mark.skipif(importlib.util.find_spec("wandb") is None, reason="wandb is not installed")
def test_wandb_offline(tmp_path, monkeypatch, tiny_model_dir):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    overrides = smoke_overrides(tmp_path, **{"train.trackers": ["wandb"], "eval.before": False})
    run = train(load_config(overrides=overrides))
    ids = json.loads((run.path / "trackers.json").read_text())
    assert ids["wandb"]["id"]
    assert list((run.path / "wandb").glob(f"offline-run-*-{ids['wandb']['id']}"))
    assert not (run.path / "tensorboard").exists()
