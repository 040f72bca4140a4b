"""Checkpoints: everything needed to continue a run exactly where it stopped.

    RUN/checkpoints/step-000008/
      adapters/attacker/, adapters/defender/   standard PEFT directories (cross-play reads these too)
      trainer_state.pt                         optimizers, RNG states, seed sampler position, step
      novelty.npy                              embeddings of every attack so far (novelty reward)

A checkpoint is written into a hidden temporary directory and renamed into place, so a directory named
``step-*`` is always complete; a crash mid-write leaves only a ``.step-*.tmp`` that is ignored and
replaced. On the CPU in fp32, a run resumed from a checkpoint with the same seed reproduces the
uninterrupted run's metrics and final adapters exactly. Under bf16 autocast it need not: on an AMD EPYC a
resumed run's sampled answers once parted from the uninterrupted run's by one token, three steps after
the resume (bf16 rounding near a tie), so the exactness tests run in fp32.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sparring.diversity import NoveltyArchive
from sparring.game.seeds import SeedSampler
from sparring.game.types import Role
from sparring.models.policy import Player, save_adapters

NOVELTY_FILE = "novelty.npy"


def checkpoint_dirs(run_path: Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    root = run_path / "checkpoints"
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("step-"))


def _rng_state(loop_rng: random.Random) -> dict[str, Any]:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "python": random.getstate(),
        "loop": loop_rng.getstate(),
        "numpy": (kind, keys.tolist(), pos, has_gauss, gauss),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _set_rng_state(state: dict[str, Any], loop_rng: random.Random) -> None:
    random.setstate(_tuples(state["python"]))
    loop_rng.setstate(_tuples(state["loop"]))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuples(x: Any) -> Any:
    """random.setstate wants tuples all the way down; serialisation may hand back lists."""
    return tuple(_tuples(v) for v in x) if isinstance(x, list | tuple) else x


def _distinct(optimizers: dict[Role, torch.optim.Optimizer]) -> dict[str, torch.optim.Optimizer]:
    """Optimizers keyed by the first role using each (shared mode has one optimizer for both roles)."""
    out: dict[str, torch.optim.Optimizer] = {}
    for role, opt in optimizers.items():
        if all(o is not opt for o in out.values()):
            out[role] = opt
    return out


def save_checkpoint(
    run_path: Path,
    step: int,
    players: dict[Role, Player],
    optimizers: dict[Role, torch.optim.Optimizer],
    loop_rng: random.Random,
    sampler: SeedSampler,
    novelty: NoveltyArchive,
) -> Path:
    """Write checkpoint ``step`` (the number of completed steps) atomically and return its directory."""
    final = run_path / "checkpoints" / f"step-{step:06d}"
    tmp = final.with_name(f".{final.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_adapters(players, tmp / "adapters")
    novelty_state = novelty.state_dict(npy_path=tmp / NOVELTY_FILE)
    novelty_state["embeddings_path"] = NOVELTY_FILE  # relative: the directory is renamed below
    torch.save(
        {
            "step": step,
            "optimizers": {role: opt.state_dict() for role, opt in _distinct(optimizers).items()},
            "rng": _rng_state(loop_rng),
            "sampler": sampler.state_dict(),
            "novelty": novelty_state,
        },
        tmp / "trainer_state.pt",
    )
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def load_adapter_weights(players: dict[Role, Player], adapters_dir: Path) -> None:
    """Copy the weights saved in ``adapters_dir/<role>`` into each role's live adapter, in place."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    done: set[tuple[int, str]] = set()
    for role, player in players.items():
        key = (id(player.model), player.adapter)
        if player.adapter is None or key in done:
            continue
        weights = load_file(str(adapters_dir / role / "adapter_model.safetensors"))
        result = set_peft_model_state_dict(player.model, weights, adapter_name=player.adapter)
        if getattr(result, "unexpected_keys", None):
            raise RuntimeError(
                f"{adapters_dir}: adapter for {role} does not fit the model: {result.unexpected_keys[:3]}"
            )
        done.add(key)


def load_checkpoint(
    path: Path,
    players: dict[Role, Player],
    optimizers: dict[Role, torch.optim.Optimizer],
    loop_rng: random.Random,
    sampler: SeedSampler,
    novelty: NoveltyArchive,
) -> int:
    """Restore adapters, optimizers, RNG, seed sampler and novelty archive in place; return the step."""
    load_adapter_weights(players, path / "adapters")
    state = torch.load(path / "trainer_state.pt", weights_only=False)
    for role, opt in _distinct(optimizers).items():
        opt.load_state_dict(state["optimizers"][role])
    _set_rng_state(state["rng"], loop_rng)
    sampler.load_state_dict(state["sampler"])
    novelty.load_state_dict(
        state["novelty"] | {"embeddings_path": str(path / state["novelty"]["embeddings_path"])}
    )
    return int(state["step"])
