"""Evaluation suites over the shipped data, jailbreak templates and user prompt files."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from sparring.evals.suites import (
    SUITES,
    TEMPLATE_SLOT,
    EvalPrompt,
    PromptFileError,
    load_jailbreak_templates,
    load_prompt_file,
    load_suite,
    normalise_text,
    parse_label,
)

BOTH_LABELS = {"heldout", "jbb", "xstest", "jailbreak"}


@pytest.mark.parametrize("name", sorted(SUITES))
def test_every_suite_loads(name):
    prompts = load_suite(name)
    assert prompts, name
    assert all(isinstance(p, EvalPrompt) and p.prompt.strip() and p.id for p in prompts)
    assert all(p.label in ("harmful", "benign") for p in prompts)
    assert len({p.id for p in prompts}) == len(prompts), "ids must be unique within a suite"
    labels = {p.label for p in prompts}
    assert labels == ({"harmful", "benign"} if name in BOTH_LABELS else {"harmful"})
    assert load_suite(name) == prompts  # deterministic


def test_suite_sizes_and_options():
    assert len(load_suite("harmbench")) == 300
    assert len(load_suite("harmbench", split="val")) + len(load_suite("harmbench", split="test")) == 300
    assert len(load_suite("harmbench", split="test", functional="standard")) == 159
    assert Counter(p.label for p in load_suite("jbb")) == {"harmful": 100, "benign": 100}
    assert len(load_suite("strongreject")) == 60
    assert len(load_suite("strongreject", subset="full")) == 313
    assert Counter(p.label for p in load_suite("xstest")) == {"benign": 250, "harmful": 200}
    with pytest.raises(ValueError, match="split"):
        load_suite("harmbench", split="train")


def test_harmbench_contextual_prompt_is_context_then_behaviour():
    ctx = [p for p in load_suite("harmbench", functional="contextual")]
    assert ctx and all(p.context and p.behavior for p in ctx)
    p = ctx[0]
    assert p.prompt.startswith(p.context) and p.prompt.endswith(p.behavior)
    assert p.request == p.behavior
    std = load_suite("harmbench", functional="standard")[0]
    assert std.context == "" and std.request == std.prompt


def test_heldout_is_balanced_and_from_the_named_sets():
    prompts = load_suite("heldout")
    assert Counter(p.label for p in prompts) == {"harmful": 100, "benign": 100}
    assert {p.source for p in prompts if p.label == "harmful"} <= {"harmbench", "jbb"}
    assert {p.source for p in prompts if p.label == "benign"} <= {"jbb", "xstest"}
    small = load_suite("heldout", per_label=10)
    assert Counter(p.label for p in small) == {"harmful": 10, "benign": 10}


def test_limit_is_deterministic_and_keeps_label_balance():
    a = load_suite("xstest", limit=45, seed=1)
    assert a == load_suite("xstest", limit=45, seed=1)
    assert a != load_suite("xstest", limit=45, seed=2)
    counts = Counter(p.label for p in a)
    assert len(a) == 45 and abs(counts["benign"] - 25) <= 1
    tiny = load_suite("heldout", limit=2)
    assert Counter(p.label for p in tiny) == {"harmful": 1, "benign": 1}
    assert len(load_suite("jbb", limit=10_000)) == 200
    assert load_suite("jbb", limit=0) == []


def test_unknown_suite_lists_valid_names():
    with pytest.raises(ValueError) as err:
        load_suite("nope")
    for name in SUITES:
        assert name in str(err.value)


def test_jailbreak_suite_uses_heldout_templates_only():
    heldout = load_jailbreak_templates("heldout")
    train = load_jailbreak_templates("train")
    assert heldout and train
    assert not {t.id for t in heldout} & {t.id for t in train}
    assert not {t.family for t in heldout} & {t.family for t in train}, "a family straddles the split"
    assert not {normalise_text(t.template) for t in heldout} & {normalise_text(t.template) for t in train}
    assert all(TEMPLATE_SLOT in t.template for t in heldout + train)
    assert len(load_jailbreak_templates("all")) == len(heldout) + len(train)

    heldout_ids = {t.id for t in heldout}
    prompts = load_suite("jailbreak", n=40, n_benign=10)
    assert Counter(p.label for p in prompts) == {"harmful": 40, "benign": 10}
    for p in prompts:
        assert p.behavior and p.behavior in p.prompt and TEMPLATE_SLOT not in p.prompt
        assert any(p.id.startswith(f"jailbreak-{tid}-") for tid in heldout_ids)
    assert prompts == load_suite("jailbreak", n=40, n_benign=10)
    assert prompts != load_suite("jailbreak", n=40, n_benign=10, seed=1)


# --- prompt files ----------------------------------------------------------------------------------


def test_parse_label_aliases():
    for v in ("harmful", "UNSAFE", " 1 ", "true", 1, True, "yes"):
        assert parse_label(v) == "harmful", v
    for v in ("benign", "Safe", "0", "false", 0, False, "no"):
        assert parse_label(v) == "benign", v
    for v in ("maybe", 2, None, 1.5, ""):
        assert parse_label(v) is None, v


def test_prompt_file_jsonl_and_csv(tmp_path):
    j = tmp_path / "prompts.jsonl"
    j.write_text(
        '{"id": "a", "prompt": "Hi there", "label": "safe", "category": "greet"}\n'
        "\n"
        '{"prompt": "Do harm", "label": "unsafe", "source": "me"}\n'
    )
    got = load_prompt_file(j)
    assert got == [
        EvalPrompt("a", "Hi there", "benign", "greet", "prompts"),
        EvalPrompt("prompts-3", "Do harm", "harmful", "", "me"),
    ]
    c = tmp_path / "data.csv"
    c.write_text('\ufeffID,Prompt,Label\nx1,"multi\nline, with comma",1\nx2,plain,false\n', encoding="utf-8")
    got = load_prompt_file(c)
    assert [(p.id, p.prompt, p.label) for p in got] == [
        ("x1", "multi\nline, with comma", "harmful"),
        ("x2", "plain", "benign"),
    ]
    t = tmp_path / "data.tsv"
    t.write_text("prompt\tlabel\nhello\tbenign\n")
    assert load_prompt_file(t)[0].label == "benign"


@pytest.mark.parametrize(
    ("name", "content", "pattern"),
    [
        (
            "prompts.jsonl",
            '{"prompt": "a", "label": "benign"}\n\nnot json\n',
            r"prompts\.jsonl:3: expected a JSON object with \"prompt\" and \"label\"",
        ),
        (
            "prompts.jsonl",
            '{"prompt": "a", "label": "benign"}\n["a", "b"]\n',
            r"prompts\.jsonl:2: expected a JSON",
        ),
        ("prompts.jsonl", '{"prompt": "a"}\n', r"prompts\.jsonl:1: .*missing 'label'"),
        ("prompts.jsonl", '{"prompt": "", "label": "benign"}\n', r"prompts\.jsonl:1: .*non-empty"),
        (
            "prompts.jsonl",
            '{"prompt": "a", "label": "maybe"}\n',
            r"prompts\.jsonl:1: label 'maybe' is not one of",
        ),
        (
            "prompts.jsonl",
            '{"id": 1, "prompt": "a", "label": 1}\n{"id": "1", "prompt": "b", "label": 0}\n',
            r"prompts\.jsonl:2: duplicate id '1' \(first used on line 1\)",
        ),
        ("prompts.jsonl", "", r"prompts\.jsonl: file is empty"),
        ("prompts.jsonl", "\n  \n", r"prompts\.jsonl: file is empty"),
        (
            "data.csv",
            "prompt,label\na,benign\nb,maybe\n",
            r"data\.csv:3: label 'maybe' is not one of harmful, benign",
        ),
        ("data.csv", "text,label\na,benign\n", r"data\.csv:1: missing column 'prompt'"),
        ("data.csv", "prompt,label\n", r"data\.csv: no prompts found"),
        ("data.csv", "", r"data\.csv: file is empty"),
        ("data.csv", "prompt,label\na,benign,extra\n", r"data\.csv:2: expected 2 fields"),
        ("data.csv", 'prompt,label\n"a\nb",benign\nc\n', r"data\.csv:4: expected 2 fields"),
        ("prompts.txt", "hello\n", r"prompts\.txt: unsupported file type '\.txt'"),
    ],
)
def test_prompt_file_errors_name_file_and_line(tmp_path, name, content, pattern):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(PromptFileError, match=pattern) as err:
        load_prompt_file(path)
    assert isinstance(err.value, ValueError)
    assert str(path) in str(err.value)


def test_prompt_file_missing_and_binary(tmp_path):
    with pytest.raises(PromptFileError, match="no such file"):
        load_prompt_file(tmp_path / "absent.csv")
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(PromptFileError, match="UTF-8"):
        load_prompt_file(binary)


def test_suites_import_no_torch():
    code = (
        "import sys, sparring.evals.suites as s; s.load_suite('heldout'); s.load_suite('jailbreak'); "
        "bad = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
