"""The judge contract: a batch of exchanges in, one verdict (or ``None`` for a failed judgment) out each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from sparring.game.types import Exchange, Verdict

__all__ = ["Exchange", "Judge", "Verdict"]


@runtime_checkable
class Judge(Protocol):
    """Scores exchanges. Return ``None`` for an exchange it could not judge; callers exclude it."""

    name: str

    def __call__(self, exchanges: Sequence[Exchange]) -> list[Verdict | None]: ...
