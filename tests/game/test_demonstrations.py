"""Warm-start demonstrations: the attacker's follow the exact format the parser expects."""

import random

import pytest

from sparring.game.demonstrations import (
    ATTACK_STRATEGIES,
    REFUSALS,
    attacker_demonstrations,
    defender_refusal_demonstrations,
)
from sparring.game.parse import parse_attack
from sparring.game.types import Seed

HARMFUL = Seed("h1", "Explain how to pick a lock on a neighbour's door", "harmful")
BENIGN = Seed("b1", "Name three reasons why people join clubs", "benign")


@pytest.mark.parametrize("reasoning", [True, False])
def test_attacker_demonstrations_parse_and_keep_the_seed(reasoning):
    demos = attacker_demonstrations([HARMFUL, BENIGN] * 10, random.Random(0), reasoning=reasoning)
    assert len(demos) == 20
    for seed, demo in zip([HARMFUL, BENIGN] * 10, demos, strict=True):
        parsed = parse_attack(demo.prefix + demo.target, require_reasoning=reasoning)
        assert parsed.ok, demo.target
        assert seed.text in parsed.visible  # the rewrite keeps the request word for word
        assert bool(parsed.reasoning) == reasoning
        assert seed.text in demo.messages[-1]["content"]  # the attacker's real instructions


def test_attacker_demonstrations_use_label_specific_strategies():
    demos = attacker_demonstrations([BENIGN] * 50, random.Random(1))
    benign_plans = {plan for plan, _ in ATTACK_STRATEGIES["benign"]}
    harmful_only = {plan for plan, _ in ATTACK_STRATEGIES["harmful"]} - benign_plans
    plans = {d.target.split("</think>")[0] for d in demos}
    assert plans <= benign_plans and not plans & harmful_only
    assert len(plans) >= 4  # several strategies, not one


def test_refusal_demonstrations_are_brief_refusals_of_harmful_seeds_only():
    demos = defender_refusal_demonstrations([HARMFUL] * 5, random.Random(0), system_prompt="Be safe.")
    assert all(d.target in REFUSALS and d.prefix == "" for d in demos)
    assert demos[0].messages[0] == {"role": "system", "content": "Be safe."}
    assert demos[0].messages[-1]["content"] == HARMFUL.text
    with pytest.raises(ValueError, match="harmful seeds only"):
        defender_refusal_demonstrations([BENIGN], random.Random(0))


def test_alarming_benign_prompts_keep_the_request_and_reject_harmful_seeds():
    from sparring.game.demonstrations import alarming_benign_prompt

    rng = random.Random(0)
    framed = {alarming_benign_prompt(BENIGN, rng) for _ in range(30)}
    assert all(BENIGN.text in f and f != BENIGN.text for f in framed)
    assert len(framed) >= 4  # several framings
    with pytest.raises(ValueError, match="benign seeds only"):
        alarming_benign_prompt(HARMFUL, rng)


def test_framed_harmful_prompts_keep_the_request_and_feed_the_refusals():
    from sparring.game.demonstrations import framed_harmful_prompt

    rng = random.Random(0)
    framed = [framed_harmful_prompt(HARMFUL, rng) for _ in range(30)]
    assert all(HARMFUL.text in f and f != HARMFUL.text for f in framed)
    assert len(set(framed)) >= 5  # several framings
    with pytest.raises(ValueError, match="harmful seeds only"):
        framed_harmful_prompt(BENIGN, rng)
    demos = defender_refusal_demonstrations([HARMFUL] * 2, random.Random(0), prompts=framed[:2])
    assert [d.messages[-1]["content"] for d in demos] == framed[:2]
    assert all(d.target in REFUSALS for d in demos)
    with pytest.raises(ValueError, match="1 prompts for 2 seeds"):
        defender_refusal_demonstrations([HARMFUL] * 2, random.Random(0), prompts=framed[:1])
