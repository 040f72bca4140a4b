"""Docs that restate code must not drift from it."""

import re
from functools import cache
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


def _github_anchor(heading: str) -> str:
    # GitHub's rule: lower-case, drop punctuation except '-' and '_', spaces become '-'.
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@cache  # docs/demo.md alone links to itself dozens of times
def _anchors(path: Path) -> frozenset[str]:
    anchors, in_code = set(), False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif line.startswith("#") and not in_code:
            anchors.add(_github_anchor(line.lstrip("#")))
    return frozenset(anchors)


def test_every_link_to_a_section_finds_it():
    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target, anchor in re.findall(r"\]\(([^)#\s]*)#([^)\s]+)\)", page.read_text()):
            linked = page.parent / target if target else page
            if not linked.exists() or anchor not in _anchors(linked):
                broken.append(f"{page.relative_to(ROOT)} -> {target}#{anchor}")
    assert not broken, broken
