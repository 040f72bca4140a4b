"""Seed pools: the labelled prompts the attacker starts from, and a resumable sampler over them.

Pure Python (no torch). The shipped pools (``sparring/data/*/seeds.jsonl``) hold harmful requests from
AdvBench, the refusal-direction training split and part of Do-Not-Answer; benign Alpaca instructions;
benign requests that sound dangerous, written for this project (``benign_borderline/SOURCE.txt``); and
requests to persuade, harmful and benign, also written for it (``persuasion/SOURCE.txt``).
All were de-duplicated against every shipped evaluation set (``sparring/data/README.md``).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from fractions import Fraction
from functools import cache
from math import floor
from pathlib import Path
from typing import Any

from sparring.game.types import Label, Seed

__all__ = [
    "BORDERLINE_SOURCE",
    "DEFAULT_SEED_SOURCES",
    "SEED_SOURCES",
    "SeedSampler",
    "load_seed_file",
    "load_seeds",
]

# Benign seeds that sound dangerous: the warm start draws warmup.borderline_share of its benign
# examples from them. A user's own seed file can mark such seeds with this source name.
BORDERLINE_SOURCE = "borderline"
# source name -> shipped file (relative to sparring/data)
SEED_SOURCES: dict[str, str] = {
    "advbench": "advbench/seeds.jsonl",
    "refusal_direction": "refusal_direction_harmful/seeds.jsonl",
    "do_not_answer": "do_not_answer/seeds.jsonl",
    "alpaca": "benign/seeds.jsonl",
    BORDERLINE_SOURCE: "benign_borderline/seeds.jsonl",
    # harmful requests to write disinformation, propaganda, defamation or scams, and benign requests about
    # the same topics (marked borderline), written for this project (persuasion/SOURCE.txt)
    "persuasion": "persuasion/seeds.jsonl",
}
# What an unset seed_sources draws from. persuasion is opt-in: added to the demo's warm start it changed
# nothing measurable (docs/demo.md, 2026-12-07 night), and every added pool redraws every pair.
DEFAULT_SEED_SOURCES: tuple[str, ...] = (
    "advbench",
    "refusal_direction",
    "do_not_answer",
    "alpaca",
    BORDERLINE_SOURCE,
)
_LABELS: tuple[Label, ...] = ("harmful", "benign")


@cache
def _read_pool(relpath: str) -> tuple[Seed, ...]:
    from sparring.evals.suites import read_shipped  # pure Python; imported lazily as in load_seed_file

    return tuple(
        Seed(r["id"], r["prompt"], r["label"], r.get("source", ""), r.get("category", ""))
        for r in read_shipped(relpath)
    )


def load_seeds(label: Label | None = None, sources: Iterable[str] | None = None) -> list[Seed]:
    """The shipped seed pools, optionally only one ``label`` and/or some ``sources`` (see SEED_SOURCES).

    A source is a pool name, or ``pool:category`` for one category of it (``do_not_answer:malicious_uses``).
    ``sources=None`` reads ``DEFAULT_SEED_SOURCES``.
    """
    if label is not None and label not in _LABELS:
        raise ValueError(f"label must be 'harmful', 'benign' or None, got {label!r}")
    names = list(DEFAULT_SEED_SOURCES if sources is None else sources)
    out: list[Seed] = []
    for name in names:
        pool, _, category = name.partition(":")
        if pool not in SEED_SOURCES:
            raise ValueError(f"unknown seed source {name!r}; valid: {', '.join(SEED_SOURCES)}")
        seeds = _read_pool(SEED_SOURCES[pool])
        if category:
            known = sorted({s.category for s in seeds})
            if category not in known:
                raise ValueError(f"seed source {name!r}: {pool} has no category {category!r}; it has {known}")
            seeds = tuple(s for s in seeds if s.category == category)
        out += [s for s in seeds if label is None or s.label == label]
    return out


def load_seed_file(path: str | Path) -> list[Seed]:
    """Seeds from the user's own JSONL or CSV file (same format and errors as ``load_prompt_file``)."""
    from sparring.evals.suites import load_prompt_file  # pure Python; imported lazily to keep game/ light

    return [Seed(p.id, p.prompt, p.label, p.source, p.category) for p in load_prompt_file(path)]


def _unit(*parts: Any) -> float:
    """A deterministic number in [0, 1) from ``parts`` (a counter-based generator: no hidden state)."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:7], "big") / float(1 << 56)


def _fingerprint(seeds: Sequence[Seed]) -> str:
    h = hashlib.sha256()
    for s in seeds:
        h.update(s.id.encode("utf-8") + b"\0")
    return h.hexdigest()[:16]


class SeedSampler:
    """Draws seeds: harmful with probability ``harmful_share``, else benign.

    With ``exact=True`` the share is kept exactly instead of drawn by a coin per seed: any ``n``
    consecutive draws hold ``floor`` or ``ceil`` of ``n * harmful_share`` harmful seeds (a
    low-discrepancy sequence whose phase depends on ``rng_seed``), so every training step is balanced.
    With the coin, the demo's eight steps of eight seeds held 1 to 7 harmful seeds a step and 30 to 43
    in all, depending on the training seed.

    Within each label it cycles through a shuffled order without replacement and reshuffles at the
    end of every pass (epoch). Everything is a function of ``rng_seed`` and the number of draws so far,
    so a run is reproducible and ``state_dict()``/``load_state_dict()`` resume it exactly.

    ``adaptive=True`` marks a sampler whose ``harmful_share`` the loop changes between steps
    (``train.share_gain``): it may then be set at any time, and a resume restores the saved share.
    """

    STATE_VERSION = 1

    def __init__(
        self,
        seeds: Sequence[Seed],
        harmful_share: float = 0.5,
        rng_seed: int = 0,
        exact: bool = False,
        adaptive: bool = False,
    ) -> None:
        if not 0.0 <= harmful_share <= 1.0:
            raise ValueError(f"harmful_share must be in [0, 1], got {harmful_share}")
        self.harmful_share = float(harmful_share)
        self.rng_seed = int(rng_seed)
        self.exact = bool(exact)
        self.adaptive = bool(adaptive)  # the loop moves harmful_share during the run (game/balance.py)
        self._pools: dict[str, list[Seed]] = {lab: [s for s in seeds if s.label == lab] for lab in _LABELS}
        needed = [
            lab for lab, share in (("harmful", harmful_share), ("benign", 1.0 - harmful_share)) if share > 0
        ]
        empty = [lab for lab in needed if not self._pools[lab]]
        if empty:
            raise ValueError(
                f"harmful_share={harmful_share} needs {' and '.join(empty)} seeds, but none were given"
            )
        self._fingerprint = {lab: _fingerprint(pool) for lab, pool in self._pools.items()}
        self._draws = 0
        self._epoch = {lab: 0 for lab in _LABELS}
        self._pos = {lab: 0 for lab in _LABELS}
        self._order: dict[str, list[int]] = {lab: self._permutation(lab, 0) for lab in _LABELS}

    def __len__(self) -> int:
        return sum(len(p) for p in self._pools.values())

    @property
    def draws(self) -> int:
        """How many seeds have been drawn so far."""
        return self._draws

    @property
    def epochs(self) -> dict[str, int]:
        """Completed passes over each label's pool."""
        return dict(self._epoch)

    def _permutation(self, label: str, epoch: int) -> list[int]:
        order = list(range(len(self._pools[label])))
        random.Random(f"sparring/seeds/{self.rng_seed}/{label}/{epoch}").shuffle(order)
        return order

    def _pick_label(self) -> str:
        if self.harmful_share >= 1.0 or not self._pools["benign"]:
            return "harmful"
        if self.harmful_share <= 0.0 or not self._pools["harmful"]:
            return "benign"
        i = self._draws
        if not self.exact:
            return "harmful" if _unit("sparring/label", self.rng_seed, i) < self.harmful_share else "benign"
        # Draw i is harmful when floor(i * share + phase) steps up between i and i + 1 (exact fractions, so
        # rounding never moves a step).
        share, phase = Fraction(self.harmful_share), Fraction(_unit("sparring/label", self.rng_seed))
        return "harmful" if floor((i + 1) * share + phase) > floor(i * share + phase) else "benign"

    def sample(self, n: int) -> list[Seed]:
        """The next ``n`` seeds."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        out = []
        for _ in range(n):
            label = self._pick_label()
            if self._pos[label] >= len(self._order[label]):
                self._epoch[label] += 1
                self._pos[label] = 0
                self._order[label] = self._permutation(label, self._epoch[label])
            out.append(self._pools[label][self._order[label][self._pos[label]]])
            self._pos[label] += 1
            self._draws += 1
        return out

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable position of the sampler (the pools themselves are not included)."""
        return {
            "version": self.STATE_VERSION,
            "rng_seed": self.rng_seed,
            "harmful_share": self.harmful_share,
            "draws": self._draws,
            "epoch": dict(self._epoch),
            "position": dict(self._pos),
            "fingerprint": dict(self._fingerprint),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from ``state_dict()``. The seed pools and ``rng_seed`` must be the same as when saved;
        ``harmful_share`` is taken from this sampler (so it may be changed on resume), unless the sampler
        is adaptive: then the share saved with the state, where the feedback had moved it, comes back."""
        if state.get("version") != self.STATE_VERSION:
            raise ValueError(f"unsupported seed sampler state version {state.get('version')!r}")
        if int(state["rng_seed"]) != self.rng_seed:
            raise ValueError(
                f"sampler state has rng_seed={state['rng_seed']}, this sampler has {self.rng_seed}"
            )
        if state["fingerprint"] != self._fingerprint:
            raise ValueError("sampler state was saved with different seed pools (ids differ)")
        self._draws = int(state["draws"])
        if self.adaptive:
            self.harmful_share = float(state["harmful_share"])
        for lab in _LABELS:
            self._epoch[lab] = int(state["epoch"][lab])
            self._pos[lab] = int(state["position"][lab])
            self._order[lab] = self._permutation(lab, self._epoch[lab])
