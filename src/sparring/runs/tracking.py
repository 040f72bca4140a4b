"""Experiment tracking through accelerate's trackers: TensorBoard by default, W&B and MLflow on request.

    sparring train --preset demo                                  # TensorBoard: RUN_DIR/tensorboard
    sparring train --preset demo --train.trackers=[tensorboard,wandb]
    tensorboard --logdir runs/demo-.../tensorboard

``metrics.jsonl`` stays the source of truth (the report and resume read it); trackers mirror it. Per-step
metrics keep their names (``attacker/...``, ``defender/...``, ``judge/...``, ``time/...``,
``diversity/...``); the before/after evaluations become ``eval_before/...`` and ``eval_after/...``. Null and
NaN values (e.g. no benign seed this step) are skipped rather than drawn as zeros. The resolved config is
logged once as hyperparameters.

Resume: TensorBoard appends to the same directory and hides what was logged after the checkpoint
(``purge_step``), W&B continues the same run id and MLflow the same run (ids kept in ``trackers.json``).

A tracker that is not installed is skipped with one warning line naming the pip install; it never stops a
run, because nothing is lost: every value is in ``metrics.jsonl``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sparring.config import Config

__all__ = ["INSTALL", "Tracking", "eval_scalars", "flat_config", "open_tracking"]

# How to get each tracker; train.trackers (config.py) accepts these names and "none".
INSTALL = {
    "tensorboard": "pip install 'sparring[tensorboard]' (or pip install tensorboard)",
    "wandb": "pip install wandb",
    "mlflow": "pip install mlflow",
}
IDS_FILE = "trackers.json"


def _warn(msg: str) -> None:
    print(f"sparring: warning: {msg}", file=sys.stderr)


class Tracking:
    """The open trackers of a run; with none open every call is a no-op, so the loop never branches."""

    def __init__(self, trackers: list[Any]):
        self.trackers = trackers

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.trackers]

    def log(self, metrics: Mapping[str, Any], step: int) -> None:
        values = {k: float(v) for k, v in metrics.items() if _finite(v)}
        if values and self.trackers:
            for t in self.trackers:
                t.log(values, step=step)

    def log_eval(self, prefix: str, summary: Mapping[str, Any], step: int) -> None:
        self.log(eval_scalars(prefix, summary), step)

    def close(self) -> None:
        for t in self.trackers:
            t.finish()
        self.trackers = []


@contextmanager
def open_tracking(
    cfg: Config, run_dir: str | os.PathLike, start: int = 0, warn: Callable[[str], None] = _warn
) -> Iterator[Tracking]:
    """Open the trackers named in ``cfg.train.trackers`` for the run in ``run_dir``, starting at step
    ``start`` (> 0 when resuming); finish them on exit."""
    names = [n for n in dict.fromkeys(cfg.train.trackers) if n != "none"]
    if not names:
        yield Tracking([])
        return
    from accelerate.state import PartialState
    from accelerate.tracking import filter_trackers

    # accelerate's trackers log through its multi-process logger, which needs the (single-process) state.
    PartialState()
    run = Path(run_dir)
    available = {str(t) for t in filter_trackers(names, logging_dir=run)}
    for name in names:
        if name not in available:
            warn(f"train.trackers: {name} is not installed, not logging to it; {INSTALL[name]}")
    ids = _read_ids(run)
    tracking = Tracking([])
    try:
        for name in names:
            if name in available:
                tracker = _FACTORIES[name](run, start, ids.get(name, {}))
                tracker.start()
                tracking.trackers.append(tracker)
        if start == 0:  # a resumed run already stored its config (MLflow refuses to change a param)
            config = flat_config(cfg)
            for tracker in tracking.trackers:
                tracker.store_init_configuration(config)
        _write_ids(run, ids | {t.name: _tracker_ids(t) for t in tracking.trackers if _tracker_ids(t)})
        yield tracking
    finally:
        tracking.close()


# ----------------------------------------------------------------------------------------------------------
# One factory per tracker: where it writes and how a resumed run finds its earlier log.


def _tensorboard(run: Path, start: int, ids: dict[str, Any]):
    from accelerate.tracking import TensorBoardTracker

    # purge_step: events at or after the resume step (logged before a crash, replayed now) are hidden.
    kwargs = {"purge_step": start} if start > 0 else {}
    return TensorBoardTracker("", logging_dir=run / "tensorboard", **kwargs)


def _wandb(run: Path, start: int, ids: dict[str, Any]):
    from accelerate.tracking import WandBTracker

    # A stable id per run directory, so a resume continues the same W&B run (WANDB_MODE=offline works).
    info = _read_json(run / "run.json")
    run_id = ids.get("id") or hashlib.sha1(f"{run.resolve()}:{info.get('started')}".encode()).hexdigest()[:12]
    return WandBTracker(
        os.environ.get("WANDB_PROJECT", "sparring"), name=run.name, id=run_id, resume="allow", dir=str(run)
    )


def _mlflow(run: Path, start: int, ids: dict[str, Any]):
    from accelerate.tracking import MLflowTracker

    # MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_NAME choose the server and experiment, as usual.
    return MLflowTracker(experiment_name="sparring", run_name=run.name, run_id=ids.get("run_id"))


_FACTORIES: dict[str, Callable[[Path, int, dict[str, Any]], Any]] = {
    "tensorboard": _tensorboard,
    "wandb": _wandb,
    "mlflow": _mlflow,
}


def _tracker_ids(tracker) -> dict[str, str]:
    if tracker.name == "wandb":
        return {"id": tracker.run.id}
    if tracker.name == "mlflow":
        return {"run_id": tracker.active_run.info.run_id}
    return {}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _read_ids(run: Path) -> dict[str, Any]:
    return _read_json(run / IDS_FILE)


def _write_ids(run: Path, ids: dict[str, Any]) -> None:
    if ids:
        from sparring.runs.rundir import write_json_atomic

        write_json_atomic(run / IDS_FILE, ids)


# ----------------------------------------------------------------------------------------------------------
# Values: trackers take flat dicts of numbers (metrics) or of scalars (hyperparameters).


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def flat_config(cfg: Config) -> dict[str, str | int | float | bool]:
    """The resolved config as dotted keys (``train.kl_coef``); lists and mappings as JSON text, null as
    "null", because hyperparameter panels take scalars only."""
    out: dict[str, str | int | float | bool] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict) and node:
            for k, v in node.items():
                walk(v, f"{prefix}{k}.")
        elif isinstance(node, bool | int | float | str):
            out[prefix[:-1]] = node
        else:
            out[prefix[:-1]] = json.dumps(node)

    walk(cfg.model_dump(mode="json"), "")
    return out


def eval_scalars(prefix: str, summary: Mapping[str, Any]) -> dict[str, float]:
    """An evaluation summary (evals/runner.py) as flat scalars: ``{prefix}/harmful_answer_rate`` with its
    ``_ci_low``/``_ci_high``, ``{prefix}/capability``, ``{prefix}/n``, ``{prefix}/judge_failures``,
    ``{prefix}/seconds`` (wall time) and ``{prefix}/by_category/<category>/<metric>``."""
    out: dict[str, Any] = {
        f"{prefix}/n": summary.get("n"),
        f"{prefix}/judge_failures": summary.get("judge_failures"),
    }
    for key, r in (summary.get("metrics") or {}).items():
        if isinstance(r, Mapping):
            out[f"{prefix}/{key}"] = r.get("value")
            out[f"{prefix}/{key}_ci_low"] = r.get("ci_low")
            out[f"{prefix}/{key}_ci_high"] = r.get("ci_high")
    cap = summary.get("capability")
    if isinstance(cap, Mapping):
        out[f"{prefix}/capability"] = cap.get("mean_logprob")
    timing = summary.get("timing")
    if isinstance(timing, Mapping):
        out[f"{prefix}/seconds"] = timing.get("seconds")
    for cat, metrics in (summary.get("by_category") or {}).items():
        for key, r in (metrics or {}).items():
            if isinstance(r, Mapping):
                out[f"{prefix}/by_category/{cat}/{key}"] = r.get("value")
    return {k: float(v) for k, v in out.items() if _finite(v)}
