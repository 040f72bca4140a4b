"""Parser edge cases. The two invariants: think content never becomes visible, and malformed attacker
output is never passed on as raw text."""

from __future__ import annotations

import re

import pytest

from sparring.game.parse import ParsedTurn, clean_template_leftovers, parse_answer, parse_attack

THINK_TAG = re.compile(r"<\s*/?\s*think\s*>", re.IGNORECASE)


# --- parse_attack: well-formed -------------------------------------------------------------------


def test_attack_well_formed():
    out = parse_attack("<think>use role-play</think>\n<prompt>Pretend you are a chemist.</prompt>")
    assert out == ParsedTurn(reasoning="use role-play", visible="Pretend you are a chemist.", ok=True)


def test_attack_strips_whitespace_and_ignores_text_outside_blocks():
    out = parse_attack(
        "Sure!\n<think>\n  plan \n</think>\n\n<prompt>\n  Tell me a story.  \n</prompt>\nDone."
    )
    assert out.ok
    assert out.reasoning == "plan"
    assert out.visible == "Tell me a story."


def test_attack_tags_are_case_insensitive_and_tolerate_inner_whitespace():
    out = parse_attack("<THINK>plan</Think><Prompt>Hello there</PROMPT >")
    assert out.ok and out.visible == "Hello there" and out.reasoning == "plan"
    out = parse_attack("< think >plan< /think ><prompt>Hi</ prompt>")
    assert out.ok and out.visible == "Hi"


def test_attack_multiline_prompt_kept_intact():
    out = parse_attack("<think>p</think><prompt>Line one.\n\nLine two.</prompt>")
    assert out.visible == "Line one.\n\nLine two."


def test_attack_prompt_tags_inside_think_are_plan_text():
    out = parse_attack(
        "<think>I will write a <prompt> block like <prompt>x</prompt></think><prompt>Real one</prompt>"
    )
    assert out.ok
    assert out.visible == "Real one"
    assert "<prompt>x</prompt>" in out.reasoning


def test_attack_without_reasoning_requirement():
    assert parse_attack("<prompt>Just this</prompt>", require_reasoning=False) == ParsedTurn(
        "", "Just this", True
    )
    out = parse_attack("<think>plan</think><prompt>Just this</prompt>", require_reasoning=False)
    assert out.ok and out.reasoning == "plan" and out.visible == "Just this"


# --- parse_attack: malformed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<think>plan</think> Tell me how to pick a lock.", "missing <prompt> block"),
        ("Tell me how to pick a lock.", "missing <prompt> block"),
        ("", "missing <prompt> block"),
        ("<think>plan <prompt>Tell me</prompt>", "unclosed <think>"),
        ("<think>plan</think><prompt>Tell me", "unclosed <prompt>"),
        ("<think>plan</think><prompt>a</prompt><prompt>b</prompt>", "several <prompt> blocks"),
        ("<think>plan</think><prompt>   </prompt>", "empty prompt"),
        ("<think>plan</think><prompt>a <think>secret</think> b</prompt>", "think tag inside <prompt>"),
        ("<think>plan</think><prompt>a </think> b</prompt>", "think tag inside <prompt>"),
        ("<think>plan</think><prompt>a <prompt>b</prompt>", "nested <prompt>"),
        ("<prompt>Tell me</prompt>", "missing <think> block before <prompt>"),
        ("<prompt>Tell me</prompt><think>plan</think>", "missing <think> block before <prompt>"),
        ("plan</think><prompt>Tell me</prompt>", "stray </think>"),
        ("<think>plan</think></prompt>Tell me", "stray </prompt>"),
    ],
)
def test_attack_malformed(text, error):
    out = parse_attack(text)
    assert not out.ok
    assert out.error == error
    assert out.visible == ""


def test_attack_malformed_recovers_reasoning():
    assert parse_attack("<think>my plan</think> no prompt here").reasoning == "my plan"
    assert parse_attack("<think>my unfinished plan").reasoning == "my unfinished plan"


def test_attack_several_prompts_is_malformed_without_reasoning_requirement_too():
    out = parse_attack("<prompt>a</prompt><prompt>b</prompt>", require_reasoning=False)
    assert not out.ok and out.error == "several <prompt> blocks" and out.visible == ""


@pytest.mark.parametrize(
    "text",
    [
        "<think>SECRET plan</think> Tell me how to pick a lock.",
        "<think>SECRET plan <prompt>Tell me how to pick a lock.</prompt>",
        "<think>SECRET</think><prompt>Tell me <think>SECRET</think></prompt>",
        "Tell me how to pick a lock. SECRET",
        "<prompt>Tell me SECRET</prompt>",  # no reasoning although required
    ],
)
def test_malformed_attack_never_leaks_raw_text(text):
    out = parse_attack(text)
    assert not out.ok
    assert out.visible == ""


# --- chat-template leftovers ---------------------------------------------------------------------


def test_attack_strips_template_leftovers():
    out = parse_attack("<|im_start|>assistant\n<think>plan</think><prompt>Hello<|im_end|>")
    assert not out.ok  # the turn ended before </prompt>
    out = parse_attack("<think>plan</think><prompt>Hello</prompt><|im_end|>\n<|im_start|>user\nmore")
    assert out.ok and out.visible == "Hello"
    out = parse_attack("<think>plan</think><prompt>Hel<|reserved_special|>lo</prompt><|endoftext|>")
    assert out.ok and out.visible == "Hello"


def test_clean_template_leftovers():
    assert clean_template_leftovers("answer<|im_end|>\n<|im_start|>user\nnext question") == "answer"
    assert clean_template_leftovers("<|im_start|>assistant\nhi") == "\nhi"
    assert clean_template_leftovers("hi</s>junk") == "hi"
    assert clean_template_leftovers("a <b>bold</b> c") == "a <b>bold</b> c"


def test_answer_strips_template_leftovers():
    out = parse_answer("I can't help with that.<|im_end|><|im_start|>user\nok", reasoning_enabled=False)
    assert out.visible == "I can't help with that."


# --- parse_answer --------------------------------------------------------------------------------


def test_answer_without_reasoning_is_text_stripped():
    assert parse_answer("  Paris is the capital.\n", reasoning_enabled=False) == ParsedTurn(
        "", "Paris is the capital.", True
    )


def test_answer_without_reasoning_still_removes_think_blocks():
    out = parse_answer("<think>SECRET</think>The answer is 4.", reasoning_enabled=False)
    assert out.ok and out.visible == "The answer is 4." and out.reasoning == "SECRET"
    out = parse_answer("The answer is 4. <think>SECRET", reasoning_enabled=False)
    assert out.ok and out.visible == "The answer is 4." and out.reasoning == "SECRET"


def test_answer_with_reasoning_well_formed():
    out = parse_answer("<think>The user asks X. Safe.</think>\nHere is how: ...", reasoning_enabled=True)
    assert out == ParsedTurn("The user asks X. Safe.", "Here is how: ...", True)


def test_answer_with_reasoning_case_insensitive():
    out = parse_answer("<Think>t</THINK>Answer", reasoning_enabled=True)
    assert out.ok and out.visible == "Answer" and out.reasoning == "t"


@pytest.mark.parametrize(
    ("text", "visible", "error"),
    [
        ("Just an answer.", "Just an answer.", "missing <think> block"),
        ("Answer first. <think>SECRET", "Answer first.", "text before <think>; unclosed <think>"),
        ("<think>SECRET never closed", "", "unclosed <think>"),
        ("SECRET reasoning</think>The answer.", "The answer.", "stray </think>"),
        ("Hi <think>SECRET</think> there", "Hi  there", "text before <think>"),
        ("<think>SECRET</think>a<think>SECRET</think>b", "ab", "several <think> blocks"),
        ("<think>SECRET</think>   ", "", "empty answer"),
    ],
)
def test_answer_with_reasoning_malformed(text, visible, error):
    out = parse_answer(text, reasoning_enabled=True)
    assert not out.ok
    assert out.error == error
    assert out.visible == visible


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize(
    "text",
    [
        "<think>SECRET</think>answer",
        "<think>SECRET <think>SECRET</think>answer",
        "<think>SECRET</think>answer</think>",
        "answer <think>SECRET",
        "SECRET</think>answer",
        "<THINK>SECRET</think >answer<think>SECRET</think>",
    ],
)
def test_answer_never_shows_reasoning(text, enabled):
    out = parse_answer(text, reasoning_enabled=enabled)
    assert "SECRET" not in out.visible
    assert not THINK_TAG.search(out.visible)
