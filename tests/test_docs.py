"""Docs that restate code must not drift from it."""

from pathlib import Path

import sparring.game.rewards as rewards
from sparring.config import field_help

ROOT = Path(__file__).resolve().parents[1]


def test_reward_doc_matches_the_module():
    body = rewards.__doc__.split("\n", 1)[1].strip()
    assert body in (ROOT / "docs" / "rewards.md").read_text()


def test_readme_starts_with_the_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    commands = [line.split("#")[0].strip() for line in lines[2:5] if line.startswith("make")]
    assert commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_metric_key_logged_is_documented():
    from sparring.rl.metrics import episode_metrics

    doc = (ROOT / "docs" / "metrics.md").read_text()
    for key in episode_metrics([]):
        assert f"`{key}`" in doc, key
    assert field_help()  # config help is generated from the fields themselves
