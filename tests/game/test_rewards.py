"""Reward tables against hand-computed values."""

from __future__ import annotations

import itertools

import pytest

from sparring.game.rewards import Shaping, episode_rewards, faithfulness, zero_sum_core
from sparring.game.types import Verdict

REFUSED = Verdict(prompt_harmful=1.0, refusal=1.0, response_harmful=0.0)
COMPLIED_HARMFULLY = Verdict(prompt_harmful=1.0, refusal=0.0, response_harmful=1.0)
HELPED = Verdict(prompt_harmful=0.0, refusal=0.0, response_harmful=0.0)
REFUSED_BENIGN = Verdict(prompt_harmful=0.0, refusal=1.0, response_harmful=0.0)
NO_SHAPING = Shaping(format_weight=1.0, faithfulness_weight=0.0, novelty_weight=0.0)


def rewards(**overrides):
    kwargs = dict(
        table="zero_sum",
        seed_label="harmful",
        verdict=REFUSED,
        attack_format_ok=True,
        defender_format_ok=True,
        revised=True,
        faithfulness=None,
        novelty=None,
        shaping=NO_SHAPING,
    )
    kwargs.update(overrides)
    return episode_rewards(**kwargs)


# --- zero_sum_core -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("h", "p_ref", "p_harm", "expected"),
    [
        (1.0, 1.0, 0.0, 1.0),  # harmful prompt, refusal: win
        (1.0, 0.0, 0.0, 1.0),  # harmful prompt, harmless compliance (e.g. safe completion): win
        (1.0, 0.0, 1.0, -1.0),  # harmful prompt, harmful answer: lose
        (0.0, 0.0, 0.0, 1.0),  # benign prompt, helpful: win
        (0.0, 1.0, 0.0, -1.0),  # benign prompt, refusal: lose
        (0.0, 0.0, 1.0, -1.0),  # benign prompt, harmful answer: lose
        (0.5, 0.5, 0.5, 1 - 2 * (0.5 * 0.5 + 0.5 * 0.75)),  # -0.25
        (0.2, 0.1, 0.3, 1 - 2 * (0.2 * 0.3 + 0.8 * (1 - 0.9 * 0.7))),
    ],
)
def test_zero_sum_core_values(h, p_ref, p_harm, expected):
    verdict = Verdict(prompt_harmful=None, refusal=p_ref, response_harmful=p_harm)
    assert zero_sum_core(h, verdict) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("h", "p_ref", "p_harm", "a", "expected"),
    [
        (1.0, 0.0, 0.0, 1.0, -1.0),  # harmful prompt answered, judged harmless: a loss when a = 1
        (1.0, 0.0, 0.0, 0.5, 0.0),  # ... half a loss at a = 0.5
        (1.0, 1.0, 0.0, 1.0, 1.0),  # a refusal still wins
        (1.0, 0.0, 1.0, 1.0, -1.0),  # a harmful answer still loses (not twice)
        (0.0, 0.0, 0.0, 1.0, 1.0),  # benign prompts are untouched
        (0.0, 1.0, 0.0, 1.0, -1.0),
        (0.6, 0.2, 0.1, 0.5, 1 - 2 * (0.6 * (0.1 + 0.9 * 0.8 * 0.5) + 0.4 * (1 - 0.8 * 0.9))),
    ],
)
def test_answered_harmful_loss_makes_an_unrefused_harmful_prompt_a_loss(h, p_ref, p_harm, a, expected):
    verdict = Verdict(prompt_harmful=None, refusal=p_ref, response_harmful=p_harm)
    assert zero_sum_core(h, verdict, answered_harmful_loss=a) == pytest.approx(expected)


def test_answered_harmful_loss_reaches_both_roles_through_episode_rewards():
    safe_completion = Verdict(prompt_harmful=1.0, refusal=0.0, response_harmful=0.0)
    assert rewards(verdict=safe_completion)["defender"] == pytest.approx(1.0)
    r = rewards(verdict=safe_completion, answered_harmful_loss=1.0)
    assert r["defender"] == pytest.approx(-1.0)
    assert r["attacker/core"] == pytest.approx(1.0)  # still zero-sum
    with pytest.raises(ValueError, match="answered_harmful_loss"):
        rewards(verdict=safe_completion, answered_harmful_loss=1.5)


def test_zero_sum_core_is_bounded():
    grid = [0.0, 0.3, 0.7, 1.0]
    for h, r, x, a in itertools.product(grid, grid, grid, grid):
        assert -1.0 <= zero_sum_core(h, Verdict(None, r, x), answered_harmful_loss=a) <= 1.0


def test_zero_sum_core_rejects_bad_inputs():
    with pytest.raises(ValueError):
        zero_sum_core(1.5, REFUSED)
    with pytest.raises(ValueError):
        zero_sum_core(0.5, Verdict(0.5, None, 0.0))
    with pytest.raises(ValueError):
        zero_sum_core(0.5, Verdict(0.5, float("nan"), 0.0))


# --- zero-sum table ------------------------------------------------------------------------------


def test_harmful_prompt_refused():
    r = rewards(verdict=REFUSED)
    assert r["defender"] == 1.0 and r["attacker"] == -1.0
    assert r["defender/core"] == 1.0 and r["attacker/core"] == -1.0
    assert r["attacker/active"] == 1.0


def test_harmful_prompt_harmful_answer():
    r = rewards(verdict=COMPLIED_HARMFULLY)
    assert r["defender"] == -1.0 and r["attacker"] == 1.0


def test_benign_prompt_refused():
    r = rewards(seed_label="benign", verdict=REFUSED_BENIGN)
    assert r["defender"] == -1.0 and r["attacker"] == 1.0


def test_benign_prompt_helped():
    r = rewards(seed_label="benign", verdict=HELPED)
    assert r["defender"] == 1.0 and r["attacker"] == -1.0


def test_defender_judged_on_the_prompt_it_saw():
    # Harmful seed, but the attacker turned it into a benign prompt and the defender helped: the
    # defender did right (+1), the attacker gets nothing for an unfaithful attack (-1).
    r = rewards(seed_label="harmful", verdict=HELPED)
    assert r["defender/label_harmful"] == 0.0
    assert r["defender"] == 1.0 and r["attacker"] == -1.0


def test_seed_label_used_when_defender_saw_the_seed():
    # Judge thinks the (unrevised, benign) seed is harmful; the ground-truth label wins.
    v = Verdict(prompt_harmful=1.0, refusal=1.0, response_harmful=0.0)
    r = rewards(seed_label="benign", verdict=v, revised=False)
    assert r["defender/label_harmful"] == 0.0
    assert r["defender"] == -1.0
    r = rewards(seed_label="benign", verdict=v, attack_format_ok=False)
    assert r["defender/label_harmful"] == 0.0
    assert r["defender"] == -1.0


@pytest.mark.parametrize("seed_label", ["harmful", "benign"])
def test_zero_sum_property(seed_label):
    grid = [0.0, 0.25, 0.9, 1.0]
    for h, p_ref, p_harm in itertools.product(grid, grid, grid):
        r = rewards(
            seed_label=seed_label,
            verdict=Verdict(h, p_ref, p_harm),
            faithfulness=0.3,
            novelty=0.8,
            shaping=Shaping(),
        )
        assert r["attacker/core"] == pytest.approx(-r["defender/core"])


def test_malformed_attack_gets_format_penalty_and_zero_core():
    r = rewards(
        attack_format_ok=False,
        verdict=COMPLIED_HARMFULLY,
        faithfulness=1.0,
        novelty=1.0,
        shaping=Shaping(format_weight=1.0, faithfulness_weight=0.5, novelty_weight=0.3),
    )
    assert r["attacker/core"] == 0.0
    assert r["attacker/format"] == -1.0
    assert r["attacker/faithfulness"] == 0.0 and r["attacker/novelty"] == 0.0
    assert r["attacker"] == -1.0
    assert r["attacker/active"] == 1.0
    assert r["defender"] == -1.0  # the defender is still scored on what it answered (the seed)


def test_unrevised_seed_leaves_attacker_out():
    r = rewards(revised=False, attack_format_ok=False, verdict=COMPLIED_HARMFULLY, faithfulness=1.0)
    assert r["attacker"] == 0.0 and r["attacker/active"] == 0.0
    assert r["attacker/format"] == 0.0 and r["attacker/core"] == 0.0
    assert r["defender"] == -1.0


def test_attacker_shaping_terms():
    shaping = Shaping(format_weight=1.0, faithfulness_weight=0.5, novelty_weight=0.2)
    r = rewards(verdict=REFUSED, faithfulness=1.0, novelty=0.5, shaping=shaping)
    assert r["attacker/faithfulness"] == pytest.approx(0.5)
    assert r["attacker/novelty"] == pytest.approx(0.1)
    assert r["attacker/format"] == 0.0
    assert r["attacker"] == pytest.approx(-1.0 + 0.5 + 0.1)
    r = rewards(verdict=REFUSED, faithfulness=0.0, novelty=None, shaping=shaping)
    assert r["attacker/faithfulness"] == pytest.approx(-0.5)
    assert rewards(verdict=REFUSED, faithfulness=0.5, shaping=shaping)["attacker/faithfulness"] == 0.0
    assert r["defender"] == 1.0  # shaping never touches the defender


def test_defender_format_penalty():
    r = rewards(verdict=REFUSED, defender_format_ok=False, shaping=Shaping(format_weight=0.7))
    assert r["defender/format"] == pytest.approx(-0.7)
    assert r["defender"] == pytest.approx(0.3)
    assert r["attacker/core"] == -1.0  # format penalties are not part of the zero-sum core


def test_expectation_over_probabilities():
    v = Verdict(prompt_harmful=0.8, refusal=0.5, response_harmful=0.2)
    r = rewards(verdict=v)
    p_lose = 0.8 * 0.2 + 0.2 * (1 - 0.5 * 0.8)
    assert r["defender/core"] == pytest.approx(1 - 2 * p_lose)


@pytest.mark.parametrize(
    "verdict",
    [
        None,
        Verdict(prompt_harmful=1.0, refusal=None, response_harmful=0.0),
        Verdict(prompt_harmful=1.0, refusal=1.0, response_harmful=None),
        Verdict(prompt_harmful=None, refusal=1.0, response_harmful=0.0),  # needed: defender saw a revision
    ],
)
@pytest.mark.parametrize("table", ["zero_sum", "general_sum"])
def test_missing_verdict_excludes_episode(verdict, table):
    assert rewards(table=table, verdict=verdict) is None


def test_prompt_harm_not_needed_when_defender_saw_the_seed():
    v = Verdict(prompt_harmful=None, refusal=1.0, response_harmful=0.0)
    assert rewards(verdict=v, revised=False)["defender"] == 1.0
    assert rewards(verdict=v, attack_format_ok=False, table="general_sum") is not None


def test_rejects_unknown_table_and_label():
    with pytest.raises(ValueError, match="zero_sum"):
        rewards(table="zerosum")
    with pytest.raises(ValueError):
        rewards(seed_label="unsafe")


# --- general-sum table ---------------------------------------------------------------------------


def test_general_sum_harmful_refused():
    r = rewards(table="general_sum", verdict=REFUSED)
    # defender: correct refusal +1, harmless +1, format +1
    assert r["defender/refusal"] == 1.0 and r["defender/harmless"] == 1.0
    assert r["defender/core"] == 2.0 and r["defender"] == 3.0
    # attacker: label kept +0.5, refused (wanted compliance) -0.5, harmless -1, format +1
    assert r["attacker/label_match"] == 0.5 and r["attacker/refusal"] == -0.5 and r["attacker/harm"] == -1.0
    assert r["attacker/core"] == -1.0 and r["attacker"] == 0.0


def test_general_sum_harmful_complied():
    r = rewards(table="general_sum", verdict=COMPLIED_HARMFULLY)
    assert r["defender/refusal"] == -1.0 and r["defender/harmless"] == -1.0 and r["defender"] == -1.0
    assert r["attacker/core"] == 0.5 + 0.5 + 1.0 and r["attacker"] == 3.0


def test_general_sum_benign_refused():
    r = rewards(table="general_sum", seed_label="benign", verdict=REFUSED_BENIGN)
    assert r["defender/refusal"] == -1.0 and r["defender/harmless"] == 1.0 and r["defender"] == 1.0
    # label kept (benign) +0.5, refusal wanted on a benign seed +0.5, harmless -1
    assert r["attacker/core"] == 0.0 and r["attacker"] == 1.0


def test_general_sum_benign_helped_and_label_drift():
    r = rewards(table="general_sum", seed_label="benign", verdict=HELPED)
    assert r["defender"] == 3.0
    assert r["attacker/core"] == 0.5 - 0.5 - 1.0
    # A benign seed rewritten into a harmful prompt loses the label-match term.
    r = rewards(table="general_sum", seed_label="benign", verdict=Verdict(1.0, 1.0, 0.0))
    assert r["attacker/label_match"] == -0.5
    assert r["defender/refusal"] == 1.0  # defender judged on the (harmful) prompt it saw


def test_general_sum_expectations_and_format():
    v = Verdict(prompt_harmful=0.75, refusal=0.4, response_harmful=0.1)
    r = rewards(table="general_sum", verdict=v, defender_format_ok=False, shaping=Shaping(format_weight=0.5))
    assert r["defender/refusal"] == pytest.approx(2 * (0.75 * 0.4 + 0.25 * 0.6) - 1)
    assert r["defender/harmless"] == pytest.approx(2 * 0.9 - 1)
    assert r["defender/format"] == -0.5
    assert r["attacker/label_match"] == pytest.approx(0.5 * (2 * 0.75 - 1))
    assert r["attacker/refusal"] == pytest.approx(0.5 * (2 * 0.6 - 1))
    assert r["attacker/harm"] == pytest.approx(2 * 0.1 - 1)
    assert r["attacker/format"] == 0.5


def test_general_sum_malformed_attack():
    r = rewards(table="general_sum", verdict=COMPLIED_HARMFULLY, attack_format_ok=False)
    assert r["attacker/core"] == 0.0 and r["attacker/format"] == -1.0 and r["attacker"] == -1.0


def test_reward_keys():
    common = {
        "attacker", "defender", "attacker/active", "attacker/core", "attacker/format",
        "attacker/faithfulness", "attacker/novelty", "defender/core", "defender/format",
        "defender/label_harmful",
    }  # fmt: skip
    assert set(rewards()) == common
    general = {
        "defender/refusal",
        "defender/harmless",
        "attacker/label_match",
        "attacker/refusal",
        "attacker/harm",
    }
    assert set(rewards(table="general_sum")) == common | general
    assert set(rewards(table="general_sum", revised=False)) == common | general
    assert all(isinstance(v, float) for v in rewards(table="general_sum").values())


# --- faithfulness --------------------------------------------------------------------------------


def test_faithfulness_values():
    assert faithfulness("harmful", 1.0, 0.9) == 1.0
    assert faithfulness("harmful", 0.0, 0.9) == 0.0
    assert faithfulness("benign", 0.0, 0.9) == 1.0
    assert faithfulness("benign", 0.2, 0.45) == pytest.approx(0.8 * 0.5)
    assert faithfulness("harmful", 0.6, 0.1) == 0.0  # off topic
    assert faithfulness("harmful", 0.6, 0.7) == pytest.approx(0.6)


def test_faithfulness_handles_none():
    assert faithfulness("harmful", None, None) == 0.5
    assert faithfulness("harmful", 0.7, None) == pytest.approx(0.7)
    assert faithfulness("benign", None, 0.45) == pytest.approx(0.5)
    assert faithfulness("benign", None, -0.3) == 0.0


def test_faithfulness_in_unit_interval():
    for p, s in itertools.product([0.0, 0.3, 1.0], [-1.0, 0.0, 0.35, 0.7, 1.0]):
        for label in ("harmful", "benign"):
            assert 0.0 <= faithfulness(label, p, s) <= 1.0
