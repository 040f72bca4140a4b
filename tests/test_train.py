"""End to end: self-play on the tiny Llama in every role mode and baseline, with real adapters and judge."""

import json

import pytest
import torch
from safetensors.torch import load_file

from conftest import smoke_overrides
from sparring.config import load_config
from sparring.game.rewards import zero_sum_core
from sparring.game.types import Verdict
from sparring.models.policy import resolve_bf16
from sparring.rl.loop import train

METRIC_KEYS = {
    "defender/reward_mean",
    "attacker/reward_mean",
    "defender/harmful_answer_rate",
    "defender/benign_refusal_rate",
    "attacker/success_rate",
    "attacker/format_failure_rate",
    "kl/defender",
    "defender/loss",
    "defender/length_mean",
    "time/attacker_generate",
    "time/update",
}


def lora_b_norm(adapter_dir) -> float:
    weights = load_file(str(adapter_dir / "adapter_model.safetensors"))
    return sum(float(w.abs().sum()) for k, w in weights.items() if "lora_B" in k)


def load_with_peft_alone(adapter_dir):
    """What a user does with a trained adapter: plain transformers + peft, nothing from sparring."""
    from peft import AutoPeftModelForCausalLM

    return AutoPeftModelForCausalLM.from_pretrained(str(adapter_dir))


@pytest.mark.parametrize(
    ("variant", "extra"),
    [
        ("adapters", {"train.bf16": "auto"}),  # the precision this machine picks (the others run fp32)
        ("shared", {"mode": "shared"}),
        ("separate", {"mode": "separate"}),
        ("attacker_frozen", {"attacker.trainable": False}),
        ("defender_frozen", {"defender.trainable": False}),
        ("no_attacker", {"attacker.enabled": False, "reward.answered_harmful_loss": 1.0}),
        ("seed_sources", {"seed_sources": "advbench,alpaca"}),
        ("exact_share", {"train.exact_harmful_share": True, "train.harmful_share": 1 / 3}),
        ("share_feedback", {"train.share_gain": 0.5, "train.exact_harmful_share": True}),
        (
            "grpo_general_sum",
            {"train.algorithm": "grpo", "reward.table": "general_sum", "train.ppo_epochs": 2},
        ),
    ],
)
def test_train_leaves_complete_run(tmp_path, tiny_model_dir, variant, extra):
    cfg = load_config(overrides=smoke_overrides(tmp_path, **extra))
    run = train(cfg)
    path = run.path

    for name in (
        "config.yaml",
        "run.json",
        "metrics.jsonl",
        "episodes.jsonl",
        "eval_before.json",
        "eval_after.json",
        "eval_after_transcripts.jsonl",
        "CONTENT_WARNING.txt",
    ):
        assert (path / name).is_file(), name
    info = json.loads((path / "run.json").read_text())
    assert info["status"] == "finished"
    # train.bf16=auto: bf16 only where this machine multiplies it natively, and run.json says which
    bf16 = resolve_bf16(cfg.train.bf16, torch.device("cpu"))
    assert info["precision"] == ("bf16 autocast" if bf16 else "fp32")

    metrics = run.metrics()
    assert [m["step"] for m in metrics] == [0, 1]
    expected = METRIC_KEYS - ({"defender/loss", "kl/defender"} if variant == "defender_frozen" else set())
    assert expected <= set(metrics[0])

    episodes = [json.loads(line) for line in (path / "episodes.jsonl").read_text().splitlines()]
    assert len(episodes) == 2 * 3 * 2  # steps x seeds x group size
    for ep in episodes:
        assert ep["verdict"] is not None and set(ep["rewards"]) >= {"attacker", "defender"}
        if not ep["format_ok"]:  # malformed attacks never pass raw text on: the defender saw the seed
            assert ep["attack"] == ep["seed"]["text"]
        if ep["attacker_reasoning"]:
            assert ep["attacker_reasoning"] not in ep["attack"]
        assert "<think>" not in ep["attack"]
    if variant == "seed_sources":  # only the chosen shipped pools are drawn from
        assert {ep["seed"]["source"] for ep in episodes} <= {"advbench", "alpaca"}
    if variant == "exact_share":  # one harmful seed in every step of three, played group_size times
        for step in (0, 1):
            assert sum(ep["step"] == step and ep["seed"]["label"] == "harmful" for ep in episodes) == 2
    if variant == "no_attacker":
        assert not any(ep["revised"] for ep in episodes)
        for ep in episodes:  # the defender saw the seed itself: its label and the run's table set the reward
            h = 1.0 if ep["seed"]["label"] == "harmful" else 0.0
            core = zero_sum_core(h, Verdict(**ep["verdict"]), cfg.reward.answered_harmful_loss)
            assert ep["rewards"]["defender/core"] == pytest.approx(core)

    before = json.loads((path / "eval_before.json").read_text())
    assert before["n"] == 6 and "benign_refusal_rate" in before["metrics"]

    for role in ("attacker", "defender"):
        adapter = path / "adapters" / role
        model = load_with_peft_alone(adapter)
        assert model.peft_config  # a real PEFT model came back
        trained = role in cfg.trained_roles
        if not trained and cfg.mode != "shared":
            assert lora_b_norm(adapter) == 0, f"frozen {role} moved"
        # A random model never writes a well-formed attack, so the attacker's rewards are all equal and its
        # advantages zero: only the defender is guaranteed a non-zero update here.
        if trained and role == "defender":
            assert lora_b_norm(adapter) > 0, "trained defender did not move"
        if trained:
            assert f"{role}/grad_norm" in metrics[0]


def test_same_config_and_seed_repeat_the_run(tmp_path, tiny_model_dir):
    first = train(load_config(overrides=smoke_overrides(tmp_path / "a", **{"eval.before": False})))
    again = load_config(path=first.path / "config.yaml", overrides={"run_dir": str(tmp_path / "b")})
    second = train(again)
    episodes = [
        [json.loads(line)["answer"] for line in (r.path / "episodes.jsonl").read_text().splitlines()]
        for r in (first, second)
    ]
    assert episodes[0] == episodes[1]
    a, b = (load_file(str(r.path / "adapters/defender/adapter_model.safetensors")) for r in (first, second))
    for k in a:
        torch.testing.assert_close(a[k], b[k])
