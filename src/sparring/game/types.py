"""Plain data shared by every part of the game. No torch, no transformers: tests run in milliseconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["attacker", "defender"]
ROLES: tuple[Role, ...] = ("attacker", "defender")

Label = Literal["harmful", "benign"]


@dataclass(frozen=True)
class Seed:
    """A prompt the attacker starts from, with its ground-truth label."""

    id: str
    text: str
    label: Label
    source: str = ""
    category: str = ""


@dataclass(frozen=True)
class Exchange:
    """What a judge sees: the visible prompt and the visible answer, never any private reasoning."""

    prompt: str
    response: str


@dataclass(frozen=True)
class Verdict:
    """A judge's probabilities for one exchange. ``None`` in a field means the judge abstained on it."""

    prompt_harmful: float | None
    refusal: float | None
    response_harmful: float | None
    explanation: str = ""
    # A graded harm score in [0, 1] where the judge has one (StrongREJECT's rubric score); None otherwise.
    score: float | None = None

    @property
    def complete(self) -> bool:
        return None not in (self.prompt_harmful, self.refusal, self.response_harmful)


@dataclass
class Episode:
    """One round of the game, as archived in ``episodes.jsonl``."""

    step: int
    seed: Seed
    revised: bool  # False when the seed went to the defender unrevised (or the attacker is off)
    attacker_output: str = ""  # raw text, private reasoning included; never shown to the defender
    attacker_reasoning: str = ""
    attack: str = ""  # the visible prompt the defender answered
    format_ok: bool = True  # False also for an attack dropped as off-topic (then ``off_topic`` is True)
    off_topic: bool = False  # parsed, but below attacker.min_topic_similarity: the seed went on instead
    defender_output: str = ""
    defender_reasoning: str = ""
    answer: str = ""
    verdict: Verdict | None = None
    faithfulness: float | None = None
    novelty: float | None = None
    rewards: dict[str, float] = field(default_factory=dict)
