"""Feedback on the seed mix: spend a budget of losses on benign seeds (``train.share_gain``).

Where self-play takes the defender is set by the balance of the reward's two sides more than by anything
else we measured (docs/demo.md): on the demo, one harmful seed in eight more or fewer moved it from
refusing clearly more than its warm start to answering no less, and with a fixed share each training
seed drifted to its own point on that trade-off. With ``train.share_gain > 0`` the share follows the
defender instead: after each step it moves by ``gain * (target - L_benign)``, where ``L_benign`` is the
defender's mean probability of losing on that step's benign seeds (refusing them, or answering
harmfully), as the zero-sum table scores it, and ``target`` is ``train.benign_loss_target``. While the
defender loses less than the target on benign seeds it is shown more harmful ones (it has room to refuse
more), and once it loses more, fewer: the constrained problem "as safe as possible at this rate of
over-refusal" with the share as its multiplier. Balancing the two loss rates instead does not work with an
attacker: attacks make harmful seeds far harder than benign ones (the demo's first step lost 46-53% of its
harmful and 11-23% of its benign episodes), so equal rates would need almost only harmful seeds. On the
demo eight steps were too few for the share to steer (docs/demo.md, 2026-12-06 evening): two targets that
moved it to 5/16 and to 0.55 ended in the same place; the feedback is off in the preset.

Pure functions; the loop applies them and the sampler's checkpoint keeps the share for ``--resume``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sparring.game.rewards import zero_sum_core
from sparring.game.types import Episode, Label

__all__ = ["defender_loss_rates", "next_harmful_share"]


def defender_loss_rates(
    episodes: Sequence[Episode], answered_harmful_loss: float
) -> dict[Label, float | None]:
    """Mean probability that the defender lost, per seed label; ``None`` for a label with no scored episode.

    An episode loses as in the zero-sum core, against the label the defender was judged by (the judged
    harm of the attack it saw, or its seed's label), whichever reward table trains it. Episodes without
    rewards (the judge abstained) are left out.
    """
    losses: dict[Label, list[float]] = {"harmful": [], "benign": []}
    for ep in episodes:
        if not ep.rewards or ep.verdict is None:
            continue
        core = zero_sum_core(ep.rewards["defender/label_harmful"], ep.verdict, answered_harmful_loss)
        losses[ep.seed.label].append((1.0 - core) / 2.0)
    return {label: sum(xs) / len(xs) if xs else None for label, xs in losses.items()}


def next_harmful_share(
    share: float, benign_loss: float | None, target: float, gain: float, bounds: tuple[float, float]
) -> float:
    """The next step's harmful share: ``share + gain * (target - benign_loss)``, clipped to ``bounds``.

    A step without a scored benign episode leaves the share where it is (inside its bounds).
    """
    lo, hi = bounds
    if not 0.0 <= lo <= hi <= 1.0:
        raise ValueError(f"share bounds must satisfy 0 <= low <= high <= 1, got {bounds}")
    if benign_loss is not None:
        share += gain * (target - benign_loss)
    return min(max(share, lo), hi)
