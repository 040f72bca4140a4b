"""Seed pools and the resumable seed sampler."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter

import pytest

from sparring.evals.suites import SUITE_INFO, SUITES, PromptFileError, load_suite, normalise_text
from sparring.game.seeds import DEFAULT_SEED_SOURCES, SEED_SOURCES, SeedSampler, load_seed_file, load_seeds
from sparring.game.types import Seed


def _pool(n_harmful: int = 5, n_benign: int = 7) -> list[Seed]:
    return [Seed(f"h{i}", f"harmful {i}", "harmful") for i in range(n_harmful)] + [
        Seed(f"b{i}", f"benign {i}", "benign") for i in range(n_benign)
    ]


# --- shipped pools ---------------------------------------------------------------------------------


def test_shipped_pools_load_with_both_labels():
    seeds = load_seeds()
    counts = Counter(s.label for s in seeds)
    assert counts["harmful"] >= 500 and counts["benign"] >= 500
    assert all(isinstance(s, Seed) and s.text.strip() and s.id for s in seeds)
    assert len({s.id for s in seeds}) == len(seeds)
    assert {s.source for s in seeds} == set(DEFAULT_SEED_SOURCES) < set(SEED_SOURCES)
    assert all(s.label == "harmful" for s in load_seeds("harmful"))
    assert all(s.label == "benign" for s in load_seeds("benign"))


def test_load_seeds_filters_by_source_and_rejects_unknown():
    adv = load_seeds(sources=["advbench"])
    assert adv and {s.source for s in adv} == {"advbench"}
    with pytest.raises(ValueError, match="advbench"):
        load_seeds(sources=["nope"])
    with pytest.raises(ValueError):
        load_seeds("maybe")  # type: ignore[arg-type]


def test_load_seeds_takes_one_category_of_a_pool():
    mal = load_seeds(sources=["do_not_answer:malicious_uses"])
    everything = load_seeds(sources=["do_not_answer"])
    assert mal and len(mal) < len(everything)
    assert {(s.source, s.category) for s in mal} == {("do_not_answer", "malicious_uses")}
    with pytest.raises(ValueError, match="no category 'spam'"):
        load_seeds(sources=["do_not_answer:spam"])


def test_no_seed_is_an_evaluation_prompt():
    eval_keys = set()
    held_out = [name for name in SUITES if not SUITE_INFO[name].training_seeds]
    assert "advbench" not in held_out and {"heldout", "jailbreak", "xstest"} <= set(held_out)
    for name in held_out:  # advbench is offered as a suite but flagged: it *is* the seed pool
        for p in load_suite(name):
            eval_keys.add(normalise_text(p.prompt))
            eval_keys.add(normalise_text(p.request))
    every_pool = load_seeds(sources=SEED_SOURCES)  # opt-in pools too
    seed_keys = [normalise_text(s.text) for s in every_pool]
    clashes = [k for k in seed_keys if k in eval_keys]
    assert not clashes, f"{len(clashes)} seeds equal an evaluation prompt"
    assert len(set(seed_keys)) == len(seed_keys), "seed pools hold duplicates"


# --- sampler ---------------------------------------------------------------------------------------


def test_sampler_is_deterministic_and_seed_dependent():
    seeds = load_seeds()
    a = [s.id for s in SeedSampler(seeds, 0.5, rng_seed=3).sample(200)]
    b = [s.id for s in SeedSampler(seeds, 0.5, rng_seed=3).sample(200)]
    c = [s.id for s in SeedSampler(seeds, 0.5, rng_seed=4).sample(200)]
    assert a == b
    assert a != c


def test_sampler_respects_harmful_share():
    seeds = load_seeds()
    for share in (0.2, 0.5, 0.8):
        drawn = SeedSampler(seeds, share, rng_seed=0).sample(2000)
        frac = sum(s.label == "harmful" for s in drawn) / len(drawn)
        assert abs(frac - share) < 0.05, (share, frac)
    assert all(s.label == "harmful" for s in SeedSampler(seeds, 1.0).sample(50))
    assert all(s.label == "benign" for s in SeedSampler(seeds, 0.0).sample(50))
    # The default is a coin per seed: some step of eight is unbalanced.
    sampler = SeedSampler(seeds, 0.5, rng_seed=0)
    assert any(sum(s.label == "harmful" for s in sampler.sample(8)) != 4 for _ in range(8))


def test_exact_sampler_keeps_harmful_share_in_every_window():
    # Not a coin per seed: any n consecutive draws (a training step's seeds, or the run so far) hold
    # floor or ceil of n * share harmful seeds, whatever the rng seed, also across calls to sample().
    seeds = load_seeds()
    for share in (0.2, 0.3, 0.5, 0.625, 0.8):
        for rng_seed in range(4):
            sampler = SeedSampler(seeds, share, rng_seed=rng_seed, exact=True)
            labels = [s.label == "harmful" for _ in range(50) for s in sampler.sample(7)]
            for n in (1, 7, 8, 64, len(labels)):
                expected = {math.floor(n * share), math.ceil(n * share)}
                for start in range(len(labels) - n + 1):
                    assert sum(labels[start : start + n]) in expected, (share, rng_seed, n, start)
    steps = [SeedSampler(seeds, 0.5, rng_seed=r, exact=True).sample(8) for r in range(5)]
    assert all(sum(s.label == "harmful" for s in step) == 4 for step in steps)
    # The phase depends on the rng seed, so single draws do not always start on the same label.
    firsts = {SeedSampler(seeds, 0.3, rng_seed=r, exact=True).sample(1)[0].label for r in range(20)}
    assert firsts == {"harmful", "benign"}
    assert all(s.label == "harmful" for s in SeedSampler(seeds, 1.0, exact=True).sample(50))
    assert all(s.label == "benign" for s in SeedSampler(seeds, 0.0, exact=True).sample(50))


def test_sampler_cycles_without_replacement_per_label():
    seeds = _pool(5, 7)
    sampler = SeedSampler(seeds, 1.0, rng_seed=1)
    first, second = sampler.sample(5), sampler.sample(5)
    assert sorted(s.id for s in first) == sorted(s.id for s in second) == [f"h{i}" for i in range(5)]
    assert sampler.epochs["harmful"] == 1
    mixed = SeedSampler(seeds, 0.5, rng_seed=2).sample(60)
    for label, size in (("harmful", 5), ("benign", 7)):
        ids = [s.id for s in mixed if s.label == label]
        full_passes = len(ids) // size
        for k in range(full_passes):
            assert len(set(ids[k * size : (k + 1) * size])) == size


@pytest.mark.parametrize("exact", [False, True])
def test_sampler_state_round_trip_resumes_exactly(exact):
    seeds = load_seeds()
    ref = SeedSampler(seeds, 0.3, rng_seed=9, exact=exact)
    ref.sample(137)
    state = json.loads(json.dumps(ref.state_dict()))  # must survive JSON
    expected = [s.id for s in ref.sample(300)]

    resumed = SeedSampler(seeds, 0.3, rng_seed=9, exact=exact)
    resumed.load_state_dict(state)
    assert resumed.draws == 137
    assert [s.id for s in resumed.sample(300)] == expected


def test_sampler_state_rejects_other_pools_or_seed():
    state = SeedSampler(_pool(), 0.5, rng_seed=1).state_dict()
    with pytest.raises(ValueError, match="rng_seed"):
        SeedSampler(_pool(), 0.5, rng_seed=2).load_state_dict(state)
    with pytest.raises(ValueError, match="different seed pools"):
        SeedSampler(_pool(6, 7), 0.5, rng_seed=1).load_state_dict(state)


def test_sampler_validates_arguments():
    with pytest.raises(ValueError, match="harmful_share"):
        SeedSampler(_pool(), 1.5)
    with pytest.raises(ValueError, match="benign"):
        SeedSampler(_pool(3, 0), 0.5)
    assert len(SeedSampler(_pool(3, 0), 1.0).sample(4)) == 4
    with pytest.raises(ValueError):
        SeedSampler(_pool(), 0.5).sample(-1)


# --- user seed files -------------------------------------------------------------------------------


def test_load_seed_file_csv_and_jsonl(tmp_path):
    csv_path = tmp_path / "mine.csv"
    csv_path.write_text('prompt,label,category\n"Write a poem, please",safe,art\nDo a bad thing,unsafe,\n')
    seeds = load_seed_file(csv_path)
    assert [(s.text, s.label, s.category) for s in seeds] == [
        ("Write a poem, please", "benign", "art"),
        ("Do a bad thing", "harmful", ""),
    ]
    assert seeds[0].id == "mine-2" and seeds[0].source == "mine"

    jsonl_path = tmp_path / "mine.jsonl"
    jsonl_path.write_text('{"id": "x", "prompt": "hello", "label": 0}\n\n{"prompt": "p", "label": true}\n')
    seeds = load_seed_file(jsonl_path)
    assert [(s.id, s.label) for s in seeds] == [("x", "benign"), ("mine-3", "harmful")]


def test_load_seed_file_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "seeds.jsonl"
    bad.write_text('{"prompt": "a", "label": "harmful"}\n{"prompt": "b"}\n')
    with pytest.raises(PromptFileError, match=r"seeds\.jsonl:2: .*label"):
        load_seed_file(bad)


def test_game_seeds_imports_no_torch():
    code = (
        "import sys, sparring.game.seeds as s; s.load_seeds(); "
        "bad = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
