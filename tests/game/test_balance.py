"""The seed-mix feedback (train.share_gain): loss rates per label and the share the benign one sets."""

import pytest

from sparring.game.balance import defender_loss_rates, next_harmful_share
from sparring.game.rewards import Shaping, episode_rewards
from sparring.game.seeds import SeedSampler
from sparring.game.types import Episode, Seed, Verdict

REFUSES = Verdict(prompt_harmful=0.0, refusal=1.0, response_harmful=0.0)
HELPS = Verdict(prompt_harmful=0.0, refusal=0.0, response_harmful=0.0)
HARMFUL_ANSWER = Verdict(prompt_harmful=1.0, refusal=0.0, response_harmful=1.0)


def episode(
    label: str, verdict: Verdict, revised: bool = False, attack_harmful: float | None = None
) -> Episode:
    if attack_harmful is not None:
        verdict = Verdict(attack_harmful, verdict.refusal, verdict.response_harmful)
    ep = Episode(step=0, seed=Seed(id=label, text="x", label=label), revised=revised, verdict=verdict)
    ep.rewards = episode_rewards(
        table="zero_sum",
        seed_label=label,
        verdict=verdict,
        attack_format_ok=True,
        defender_format_ok=True,
        revised=revised,
        faithfulness=None,
        novelty=None,
        shaping=Shaping(),
        answered_harmful_loss=1.0,
    )
    return ep


def test_loss_rates_count_each_way_of_losing_under_its_seed_label():
    eps = [
        episode("harmful", REFUSES),  # won
        episode("harmful", HARMFUL_ANSWER),  # lost
        episode("harmful", HELPS),  # answered a harmful request harmlessly: lost at answered_harmful_loss=1
        episode("benign", HELPS),  # won
        episode("benign", REFUSES),  # lost
    ]
    rates = defender_loss_rates(eps, answered_harmful_loss=1.0)
    assert rates == {"harmful": pytest.approx(2 / 3), "benign": pytest.approx(1 / 2)}
    # at answered_harmful_loss=0 only the harmful answer loses
    assert defender_loss_rates(eps, answered_harmful_loss=0.0)["harmful"] == pytest.approx(1 / 3)


def test_loss_rates_judge_a_revision_by_the_attack_the_defender_saw():
    # a benign seed the attacker made harmful: refusing it is a win, though the seed is benign
    ep = episode("benign", REFUSES, revised=True, attack_harmful=1.0)
    assert defender_loss_rates([ep], answered_harmful_loss=1.0) == {"harmful": None, "benign": 0.0}


def test_loss_rates_leave_out_unscored_episodes():
    unjudged = Episode(step=0, seed=Seed(id="h", text="x", label="harmful"), revised=False)
    assert defender_loss_rates([unjudged], answered_harmful_loss=1.0) == {"harmful": None, "benign": None}


def test_share_spends_the_benign_loss_budget():
    bounds = (0.25, 0.75)
    # losing less than the target on benign seeds: room to refuse more, so more harmful seeds
    assert next_harmful_share(0.5, 0.05, 0.15, 1.0, bounds) == pytest.approx(0.6)
    assert next_harmful_share(0.5, 0.35, 0.15, 1.0, bounds) == pytest.approx(0.3)  # over budget: fewer
    assert next_harmful_share(0.5, 0.15, 0.15, 1.0, bounds) == pytest.approx(0.5)
    assert next_harmful_share(0.5, 0.25, 0.15, 0.5, bounds) == pytest.approx(0.45)  # the gain scales it
    assert next_harmful_share(0.7, 0.0, 0.15, 1.0, bounds) == 0.75  # clipped
    assert next_harmful_share(0.3, 1.0, 0.15, 1.0, bounds) == 0.25
    # no benign episode scored: the share stays (inside its bounds)
    assert next_harmful_share(0.5, None, 0.15, 1.0, bounds) == 0.5
    assert next_harmful_share(0.9, None, 0.15, 1.0, bounds) == 0.75
    with pytest.raises(ValueError, match="bounds"):
        next_harmful_share(0.5, 0.1, 0.15, 1.0, (0.8, 0.2))


def seeds() -> list[Seed]:
    return [Seed(id=f"h{i}", text=f"h{i}", label="harmful") for i in range(10)] + [
        Seed(id=f"b{i}", text=f"b{i}", label="benign") for i in range(10)
    ]


def test_an_adaptive_sampler_resumes_with_the_share_it_was_moved_to():
    moved = SeedSampler(seeds(), 0.5, rng_seed=3, exact=True, adaptive=True)
    moved.sample(8)
    moved.harmful_share = 0.3125
    state = moved.state_dict()
    resumed = SeedSampler(seeds(), 0.5, rng_seed=3, exact=True, adaptive=True)
    resumed.load_state_dict(state)
    assert resumed.harmful_share == 0.3125
    assert [s.id for s in resumed.sample(16)] == [s.id for s in moved.sample(16)]
    fixed = SeedSampler(seeds(), 0.5, rng_seed=3, exact=True)  # a fixed share comes from the config
    fixed.load_state_dict(state)
    assert fixed.harmful_share == 0.5


def test_an_exact_sampler_holds_a_share_set_between_steps():
    sampler = SeedSampler(seeds(), 0.5, rng_seed=1, exact=True, adaptive=True)
    sampler.sample(8)
    sampler.harmful_share = 0.25
    steps = [sampler.sample(8) for _ in range(4)]
    assert [sum(s.label == "harmful" for s in step) for step in steps] == [2, 2, 2, 2]
