"""scripts/build_authored_seeds.py: the seed pool written for this project is up to date and held out."""

import importlib.util
from pathlib import Path

import pytest

from sparring.game.seeds import BORDERLINE_SOURCE, load_seeds

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_authored_seeds.py"


def load_script():
    spec = importlib.util.spec_from_file_location("build_authored_seeds", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_persuasion_pool_is_what_its_sources_build(capsys):
    # --check re-embeds every written prompt against every evaluation prompt: a prompt added by hand to
    # seeds.jsonl, or one too close to an evaluation prompt, makes it fail
    assert load_script().main(["--check"]) == 0, capsys.readouterr().err


def test_persuasion_pool_has_both_labels_and_its_benign_half_counts_as_borderline():
    seeds = load_seeds(sources=["persuasion"])
    harmful = [s for s in seeds if s.label == "harmful"]
    benign = [s for s in seeds if s.label == "benign"]
    assert len(harmful) >= 80 and len(benign) >= 30
    assert {s.source for s in harmful} == {"persuasion"}
    assert {s.source for s in benign} == {BORDERLINE_SOURCE}


def test_a_malformed_source_line_names_its_file_and_line(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("# comment\nhealth\tA fine prompt.\nno tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.tsv:3: expected 'category<TAB>prompt'"):
        load_script().read_source(bad)
