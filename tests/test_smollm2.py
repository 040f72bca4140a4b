"""One real self-play step on the embedded default model (SmolLM2-135M-Instruct, from the GGUF package)."""

import json

import pytest

from conftest import smoke_overrides
from sparring.config import load_config
from sparring.rl.loop import train


@pytest.mark.slow
def test_one_real_smollm2_step(tmp_path):
    overrides = smoke_overrides(
        tmp_path,
        model="smollm2-135m-instruct",
        **{
            "train.steps": 1,
            "train.seeds_per_step": 2,
            "lora.r": 8,
            "lora.alpha": 16,
            "attacker.max_new_tokens": 24,
            "defender.max_new_tokens": 24,
            "eval.limit": 4,
        },
    )
    run = train(load_config(overrides=overrides))
    metrics = run.metrics()
    assert len(metrics) == 1 and metrics[0]["defender/grad_norm"] > 0
    episodes = [json.loads(line) for line in run.episodes_path.read_text().splitlines()]
    assert len(episodes) == 4
    answers = [ep["answer"] for ep in episodes]
    # A real instruction-tuned model answers in words, unlike the random test model.
    assert sum(len(a.split()) >= 3 for a in answers) >= 3
    assert (run.path / "adapters" / "defender" / "adapter_model.safetensors").is_file()
