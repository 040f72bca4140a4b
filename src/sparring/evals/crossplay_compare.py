"""Did the attacker get stronger? Two attackers of saved cross-play results, paired by seed, over runs.

``sparring crossplay RUN`` plays every attacker of one run against every defender on the same seeds and
saves each exchange (``crossplay_transcripts.jsonl``). One run is one training draw; whether training
made the attacker stronger is a question about the method, so this reads the saved exchanges of several
runs (the same recipe with other training seeds) and, against each defender, pools attacker ``b`` minus
attacker ``a`` over them with :func:`~sparring.evals.compare.pool_groups` (pairs within a run are
the same seed played by both attackers). Nothing is generated or judged again.

    sparring crossplay RUN_SEED0 RUN_SEED1 RUN_SEED2 --compare warmstart final
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sparring.evals.compare import pool_groups

__all__ = ["compare_attackers", "format_attacker_comparison", "load_crossplay_successes"]

TRANSCRIPTS = "crossplay_transcripts.jsonl"
# which seeds a success rate is taken over: all, or one label
SEED_GROUPS = ("all", "harmful", "benign")

# {(attacker, defender): {seed_id: (label, success)}}
Successes = dict[tuple[str, str], dict[str, tuple[str, float]]]


def load_crossplay_successes(run_dir: str | os.PathLike) -> Successes:
    """Each judged exchange of a run's saved cross-play, keyed by attacker, defender and seed."""
    path = Path(run_dir) / TRANSCRIPTS
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no saved cross-play; run `sparring crossplay {run_dir}` first")
    out: Successes = {}
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                key, seed_id, label, success = (
                    (row["attacker"], row["defender"]),
                    row["seed_id"],
                    row["label"],
                    row["success"],
                )
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise ValueError(
                    f"{path}, line {lineno}: expected a cross-play record with attacker, defender, "
                    f"seed_id, label and success ({e})"
                ) from None
            if success is not None:  # a failed judgment is left out, as in the run's own matrix
                out.setdefault(key, {})[seed_id] = (label, float(success))
    return out


def _attacker_info(run_dir: Path) -> dict[str, dict[str, Any]]:
    path = run_dir / "crossplay.json"
    if not path.is_file():
        return {}
    return {info["name"]: info for info in json.loads(path.read_text()).get("attacker_info", [])}


def compare_attackers(
    run_dirs: list[str | os.PathLike],
    a: str = "warmstart",
    b: str = "final",
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Attack success of attacker ``b`` minus attacker ``a`` against every defender all runs played.

    Per defender and seed group (all seeds, harmful ones, benign ones): both attackers' success rates
    averaged over runs, the pooled difference with its two-level 95% interval, whether that interval
    excludes 0, and each run's own difference (``per_run``). ``attackers`` gives each run's well-formed,
    faithful and Self-BLEU-2 figures of both attackers, from its ``crossplay.json``.
    """
    if not run_dirs:
        raise ValueError("compare_attackers needs at least one run directory")
    runs = [Path(d) for d in run_dirs]
    loaded = [load_crossplay_successes(r) for r in runs]
    for run, successes in zip(runs, loaded, strict=True):
        names = sorted({att for att, _ in successes})
        missing = [x for x in (a, b) if x not in names]
        if missing:
            raise ValueError(
                f"{run / TRANSCRIPTS}: no attacker {', '.join(map(repr, missing))}; it has {', '.join(names)}"
            )
    defenders = [
        d
        for d in dict.fromkeys(dfn for _, dfn in loaded[0])
        if all((a, d) in s and (b, d) in s for s in loaded)
    ]
    if not defenders:
        raise ValueError(f"no defender faced both {a!r} and {b!r} in every run: {', '.join(map(str, runs))}")
    result: dict[str, Any] = {}
    for defender in defenders:
        per_group: dict[str, Any] = {}
        for group in SEED_GROUPS:
            pairs = []
            for successes in loaded:
                xa, xb = successes[(a, defender)], successes[(b, defender)]
                ids = [i for i in xa if i in xb and group in ("all", xa[i][0])]
                pairs.append(([xa[i][1] for i in ids], [xb[i][1] for i in ids]))
            pooled = pool_groups(pairs, n_boot=n_boot, seed=seed)
            per_group[group] = {
                **{k: pooled[k] for k in ("a", "b", "difference", "significant")},
                "n": [len(x) for x, _ in pairs],
                "per_run": pooled["per_group"],
            }
        result[defender] = per_group
    return {
        "runs": [str(r) for r in runs],
        "a": a,
        "b": b,
        "defenders": result,
        "attackers": [{name: info.get(name) for name in (a, b)} for info in map(_attacker_info, runs)],
    }


def _pct(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{100 * x:+.1f}" if signed else f"{100 * x:.1f}%"


def format_attacker_comparison(result: dict[str, Any]) -> str:
    """One line per defender and seed group: ``a -> b  difference [interval] (per run)``."""
    a, b, runs = result["a"], result["b"], result["runs"]
    lines = [
        f"attack success, attacker {b} minus attacker {a}, paired by seed; {len(runs)} run(s) pooled "
        "(95% two-level bootstrap; * = interval excludes 0; each run's own difference in brackets)"
    ]
    for defender, groups in result["defenders"].items():
        for group, m in groups.items():
            d = m["difference"]
            interval = ""
            if d["value"] is not None:
                star = "*" if m["significant"] else ""
                interval = f" [{_pct(d['ci_low'], True)}, {_pct(d['ci_high'], True)}]{star}"
            per_run = ", ".join(_pct(x, True) for x in m["per_run"])
            lines.append(
                f"  vs {defender} defender, {group} seeds (n={'/'.join(map(str, m['n']))}): "
                f"{_pct(m['a'])} -> {_pct(m['b'])}  {_pct(d['value'], True)}{interval}  ({per_run})"
            )
    for run, info in zip(runs, result["attackers"], strict=True):
        parts = []
        for name in (a, b):
            x = info.get(name)
            if x:
                bleu = x.get("self_bleu_2")
                parts.append(
                    f"{name}: well-formed {_pct(x.get('format_ok_rate'))}, "
                    f"faithful {_pct(x.get('faithful_rate'))}"
                    + ("" if bleu is None else f", Self-BLEU-2 {bleu:.2f}")
                )
        if parts:
            lines.append(f"  {run}: " + "; ".join(parts))
    return "\n".join(lines)
