"""Split a policy's raw output into private reasoning and the visible text the other side sees.

The attacker is asked to write::

    <think>private plan</think>
    <prompt>the rewritten prompt shown to the defender</prompt>

and the defender, when it reasons, ``<think>...</think>`` followed by its answer.

Two guarantees matter more than leniency, so the parser is strict about them:

* Private reasoning never becomes visible. No ``<think>`` content and no ``<think>``/``</think>`` tag
  ever appears in ``ParsedTurn.visible``.
* Malformed attacker output is never passed on as raw text (Self-RedTeam falls back to the raw text,
  which leaks the plan to the defender). A malformed attack has ``visible == ""``; the caller sends
  the seed instead and the reward table charges the attacker a format penalty.

Chat-template leftovers are cleaned first: the text is cut at the first end-of-turn token
(``<|im_end|>``, ``<|endoftext|>``, ``<|eot_id|>``, ``</s>``...), since anything after it is a
hallucinated next turn, and any other ``<|...|>`` special token is removed. Tags are matched
case-insensitively and may carry inner whitespace (``< /Think >``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ParsedTurn", "clean_template_leftovers", "parse_answer", "parse_attack"]


@dataclass(frozen=True)
class ParsedTurn:
    """One parsed turn. ``visible`` is all the other player (or the judge) may ever see."""

    reasoning: str
    visible: str
    ok: bool
    error: str = ""


# End-of-turn markers: the turn is over, whatever follows belongs to an imagined next turn.
_END_OF_TURN = re.compile(r"<\|(?:im_end|endoftext|eot_id|end|end_of_text)\|>|</s>", re.IGNORECASE)
# Any other special token, with the role name that follows a turn opener (``<|im_start|>assistant``).
_SPECIAL = re.compile(
    r"<\|(?:im_start|start_header_id)\|>\s*(?:system|user|assistant)?(?:<\|end_header_id\|>)?"
    r"|<\|[a-z_]+\|>",
    re.IGNORECASE,
)
_TAG = re.compile(r"<\s*(/?)\s*(think|prompt)\s*>", re.IGNORECASE)
_ANY_THINK_TAG = re.compile(r"<\s*/?\s*think\s*>", re.IGNORECASE)


def clean_template_leftovers(text: str) -> str:
    """Cut ``text`` at its first end-of-turn token and drop any other chat-template special token."""
    end = _END_OF_TURN.search(text)
    if end is not None:
        text = text[: end.start()]
    return _SPECIAL.sub("", text)


def _tags(text: str) -> list[tuple[str, re.Match[str]]]:
    """Every think/prompt tag in order, as (kind, match) with kind in {"<think>", "</think>", ...}."""
    return [(f"<{m.group(1)}{m.group(2).lower()}>", m) for m in _TAG.finditer(text)]


def parse_attack(text: str, require_reasoning: bool = True) -> ParsedTurn:
    """Parse the attacker's output into its private plan and the visible attack.

    ok only if there is exactly one non-empty ``<prompt>...</prompt>`` block, every ``<think>`` block
    is closed, no think tag sits inside the prompt block, and (when ``require_reasoning``) a think
    block comes before the prompt block. Tags inside a think block are plan text and are ignored.
    Text outside the blocks is dropped. When not ok, ``visible`` is ``""`` (the caller substitutes
    the seed), ``reasoning`` holds whatever plan could be recovered and ``error`` says why.
    """
    text = clean_template_leftovers(text)
    thoughts: list[str] = []
    prompts: list[str] = []
    state = "outside"  # outside | think | prompt
    start = 0  # where the content of the open block starts
    error = ""
    for kind, m in _tags(text):
        if state == "think":
            if kind == "</think>":
                thoughts.append(text[start : m.start()].strip())
                state = "outside"
            continue  # anything else inside a think block is part of the private plan
        if state == "prompt":
            if kind == "</prompt>":
                prompts.append(text[start : m.start()].strip())
                state = "outside"
                continue
            error = "think tag inside <prompt>" if "think" in kind else "nested <prompt>"
            break
        # outside any block
        if kind == "<think>":
            state, start = "think", m.end()
        elif kind == "<prompt>":
            if prompts:
                error = "several <prompt> blocks"
                break
            if require_reasoning and not thoughts:
                error = "missing <think> block before <prompt>"
                break
            state, start = "prompt", m.end()
        else:
            error = f"stray {kind}"
            break
    if not error:
        if state == "think":
            thoughts.append(text[start:].strip())
            error = "unclosed <think>"
        elif state == "prompt":
            error = "unclosed <prompt>"
        elif not prompts:
            error = "missing <prompt> block"
        elif not prompts[0]:
            error = "empty prompt"
    reasoning = "\n\n".join(t for t in thoughts if t)
    if error:
        return ParsedTurn(reasoning=reasoning, visible="", ok=False, error=error)
    return ParsedTurn(reasoning=reasoning, visible=prompts[0], ok=True)


def parse_answer(text: str, reasoning_enabled: bool) -> ParsedTurn:
    """Parse the defender's output into private reasoning and the visible answer the judge sees.

    Think blocks are always removed from ``visible`` (an unclosed ``<think>`` hides everything after
    it; a stray ``</think>`` hides everything before it), so private reasoning never reaches the
    judge. With ``reasoning_enabled=False`` the turn is always ok. With ``reasoning_enabled=True`` it
    is ok only for ``<think>...</think>`` first (nothing but whitespace before it), exactly once,
    followed by a non-empty answer; otherwise ``ok`` is False but ``visible`` still holds the answer
    with think fragments removed (it is judged as is; the reward table applies the format penalty).
    """
    text = clean_template_leftovers(text)
    thoughts: list[str] = []
    pieces: list[str] = []  # visible text between think blocks
    errors: list[str] = []
    inside, pos, blocks = False, 0, 0
    for m in _ANY_THINK_TAG.finditer(text):
        closing = "/" in m.group(0)
        if inside:
            if closing:
                thoughts.append(text[pos : m.start()].strip())
                inside, pos, blocks = False, m.end(), blocks + 1
            continue  # a nested <think> is reasoning text
        if closing:  # stray </think>: what came before it was reasoning without an opening tag
            thoughts.append(text[pos : m.start()].strip())
            errors.append("stray </think>")
            pieces = []
            pos = m.end()
            continue
        if blocks == 0 and text[pos : m.start()].strip():
            errors.append("text before <think>")
        pieces.append(text[pos : m.start()])
        inside, pos = True, m.end()
    if inside:
        thoughts.append(text[pos:].strip())
        errors.append("unclosed <think>")
    else:
        pieces.append(text[pos:])
    visible = re.sub(r"\n{3,}", "\n\n", "".join(pieces)).strip()
    reasoning = "\n\n".join(t for t in thoughts if t)
    if not reasoning_enabled:
        return ParsedTurn(reasoning=reasoning, visible=visible, ok=True)
    if blocks == 0 and not errors:
        errors.append("missing <think> block")
    elif blocks > 1:
        errors.append("several <think> blocks")
    if not errors and not visible:
        errors.append("empty answer")
    return ParsedTurn(reasoning=reasoning, visible=visible, ok=not errors, error="; ".join(errors))
