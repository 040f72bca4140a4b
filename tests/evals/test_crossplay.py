"""Cross-play on a fake run of the tiny random Llama: two step checkpoints plus the final adapters."""

import json

import pytest
import torch

from sparring.config import load_config
from sparring.evals.crossplay import (
    crossplay,
    crossplay_seeds,
    format_crossplay,
    list_checkpoints,
    load_checkpoint_players,
)
from sparring.evals.crossplay_compare import compare_attackers
from sparring.models.policy import Sample, build_players, save_adapters


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_model_dir):
    run = tmp_path_factory.mktemp("crossplay") / "run"
    run.mkdir()
    cfg = load_config(
        overrides={
            "model": "tiny-random-llama",
            "run_dir": str(run),
            "lora.r": 4,
            "lora.alpha": 8,
            "train.bf16": False,
            "attacker.max_new_tokens": 8,
            "defender.max_new_tokens": 8,
            "device": "cpu",
        }
    )
    (run / "config.yaml").write_text(cfg.to_yaml())
    torch.manual_seed(0)
    players = build_players(cfg)
    params = [p for n, p in players["attacker"].model.named_parameters() if "lora_B" in n]
    # Checkpoints as training writes them; the newest checkpoint (step 3) duplicates the final adapters, and
    # step 0 (left by a run stopped on time before its first step) the weights self-play started from.
    save_adapters(players, run / "checkpoints" / "step-000000" / "adapters")
    for step in (1, 2, 3):
        with torch.no_grad():  # move every adapter so that checkpoints differ from each other and the base
            for p in params:
                p.add_(0.5 * torch.randn_like(p))
        save_adapters(players, run / "checkpoints" / f"step-{step:06d}" / "adapters")
    save_adapters(players, run / "adapters")
    return run


def test_list_checkpoints(run_dir):
    names = [c.name for c in list_checkpoints(run_dir, "defender")]
    assert names == ["base", "step-1", "step-2", "final"]
    assert [c.name for c in list_checkpoints(run_dir, "attacker", include_base=False, steps=[2])] == [
        "step-2",
        "final",
    ]


def test_seeds_are_fixed_and_balanced():
    seeds = crossplay_seeds(5)
    assert [s.label for s in seeds] == ["harmful"] * 3 + ["benign"] * 2
    assert [s.id for s in seeds] == [s.id for s in crossplay_seeds(5)]


def test_checkpoint_players_switch_adapters(run_dir):
    cfg = load_config(path=run_dir / "config.yaml")
    cks = list_checkpoints(run_dir, "defender")
    players = load_checkpoint_players(cfg, cks, device="cpu")
    tok = players[("defender", "base")].tokenizer
    sample = Sample(
        tok("hello there", add_special_tokens=False)["input_ids"],
        tok(" general", add_special_tokens=False)["input_ids"],
        "",
        False,
    )
    with torch.no_grad():
        scores = {c.name: players[("defender", c.name)].logprobs([sample])[0].sum().item() for c in cks}
    assert len({round(v, 5) for v in scores.values()}) == 4  # four different policies
    from sparring.models.policy import load_base

    base, _ = load_base("tiny-random-llama", None, torch.device("cpu"))
    from sparring.models.policy import Player

    with torch.no_grad():
        plain = Player("defender", base, tok).logprobs([sample])[0].sum().item()
    assert scores["base"] == pytest.approx(plain, abs=1e-5)


def test_crossplay_matrix_and_report(run_dir):
    report = crossplay(
        run_dir,
        seeds=4,
        attacker_max_new_tokens=8,
        defender_max_new_tokens=8,
        bf16=False,
        device="cpu",
        include_unrevised=True,
    )
    assert report["attackers"] == ["unrevised", "base", "step-1", "step-2", "final"]
    assert report["defenders"] == ["base", "step-1", "step-2", "final"]
    matrix = report["matrix"]
    assert len(matrix) == 5 and all(len(row) == 4 for row in matrix)
    assert all(0.0 <= x <= 1.0 for row in matrix for x in row)
    assert report["n_seeds"] == 4 and report["n_harmful"] == 2 and report["n_benign"] == 2
    eq = report["equilibrium"]
    assert sum(eq["attacker"]) == pytest.approx(1.0) and sum(eq["defender"]) == pytest.approx(1.0)
    ex = report["exploitability"]
    assert ex["final_defender"] == "final"
    assert ex["success_vs_final_defender"] == pytest.approx(max(row[3] for row in matrix))
    assert ex["success_vs_final_defender"] >= eq["value"] - 1e-9
    assert ex["gap_vs_equilibrium"] == pytest.approx(ex["success_vs_final_defender"] - eq["value"], abs=1e-9)
    saved = json.loads((run_dir / "crossplay.json").read_text())
    assert saved["matrix"] == matrix and saved["equilibrium"] == eq
    table = format_crossplay(report)
    assert "equilibrium value" in table and "unrevised" in table
    lines = (run_dir / "crossplay_transcripts.jsonl").read_text().splitlines()
    assert len(lines) == 5 * 4 * 4
    first = json.loads(lines[0])
    assert first["attacker"] == "unrevised" and first["attack"] == first["seed"]
    # a malformed attack passes the seed on, never the raw attacker text
    for r in map(json.loads, lines):
        if not r["format_ok"]:
            assert r["attack"] == r["seed"]
    # what `crossplay --compare` reads back from the saved exchanges agrees with the matrix
    compared = compare_attackers([run_dir], "base", "final", n_boot=200)["defenders"]
    for j, defender in enumerate(report["defenders"]):
        assert compared[defender]["all"]["per_run"] == [pytest.approx(matrix[4][j] - matrix[1][j])]


def test_crossplay_shows_a_progress_bar_per_player_and_judging_pass(run_dir):
    import io

    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(file=io.StringIO())) as progress:
        crossplay(
            run_dir,
            seeds=2,
            attacker_max_new_tokens=4,
            defender_max_new_tokens=4,
            bf16=False,
            device="cpu",
            include_base=False,
            diversity=False,
            write=False,
            progress=progress,
        )
    tasks = {t.description: (t.completed, t.total) for t in progress.tasks}
    names = ("step-1", "step-2", "final")
    assert set(tasks) == {f"{kind} {n}" for kind in ("attacker", "defender", "judge vs") for n in names}
    assert all(done == total and total >= 1 for done, total in tasks.values())
    assert all(tasks[f"attacker {n}"] == (2, 2) for n in names)
