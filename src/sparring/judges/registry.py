"""Judges by name: a dict of factories, plugins from the ``sparring.judges`` entry-point group, and a dotted
import path as a fallback (``mypkg.judges:MyJudge``). Unknown names list the valid ones."""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable
from typing import Any

from sparring.judges.base import Judge


def _embedded(**options: Any) -> Judge:
    from sparring.judges.embedded import EmbeddedJudge

    return EmbeddedJudge(**options)


JUDGES: dict[str, Callable[..., Judge]] = {"embedded": _embedded}


def judge_names() -> list[str]:
    plugins = [ep.name for ep in importlib.metadata.entry_points(group="sparring.judges")]
    return sorted(set(JUDGES) | set(plugins))


def build_judge(kind: str, **options: Any) -> Judge:
    if kind in JUDGES:
        return JUDGES[kind](**options)
    for ep in importlib.metadata.entry_points(group="sparring.judges"):
        if ep.name == kind:
            return ep.load()(**options)
    if "." in kind or ":" in kind:
        module, _, attr = kind.replace(":", ".").rpartition(".")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise ValueError(f"judge.kind: cannot import {kind!r} ({e})") from None
        return factory(**options)
    raise ValueError(f"judge.kind: unknown judge {kind!r}; available: {', '.join(judge_names())}")
