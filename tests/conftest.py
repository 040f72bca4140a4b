"""Shared fixtures. Models come from the offline aliases (built once into the sparring cache)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_model_dir() -> str:
    from sparring.models.resolve import resolve_model

    return resolve_model("tiny-random-llama")


def smoke_overrides(tmp_path, **extra) -> dict:
    """A fast configuration of the tiny model: two steps, short turns, small eval."""
    return {
        "model": "tiny-random-llama",
        "run_dir": str(tmp_path / "run"),
        "lora.r": 4,
        "lora.alpha": 8,
        "attacker.max_new_tokens": 12,
        "defender.max_new_tokens": 12,
        "attacker.lr": 1e-3,
        "defender.lr": 1e-3,
        "train.steps": 2,
        "train.seeds_per_step": 3,
        "train.group_size": 2,
        "eval.limit": 6,
        "eval.max_new_tokens": 8,
        "eval.capability_items": 3,
        # fp32 whatever train.bf16=auto would pick here: the resume tests compare runs token for token, and
        # under bf16 autocast a resumed run once parted from the uninterrupted one by a token (checkpoint.py)
        "train.bf16": False,
        **extra,
    }
