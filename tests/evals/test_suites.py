"""Evaluation suites over the shipped data, jailbreak templates and user prompt files."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from sparring.evals.suites import (
    ALL_SUITES,
    SUITE_INFO,
    SUITES,
    TEMPLATE_SLOT,
    EvalPrompt,
    PromptFileError,
    load_jailbreak_templates,
    load_prompt_file,
    load_suite,
    load_suite_spec,
    normalise_text,
    parse_label,
    parse_suite_spec,
)
from sparring.game.seeds import load_seeds

BOTH_LABELS = {"heldout", "jbb", "xstest", "jailbreak"}
BENIGN_ONLY = {"alpaca_eval"}


@pytest.mark.parametrize("name", sorted(SUITES))
def test_every_suite_loads(name):
    prompts = load_suite(name)
    assert prompts, name
    assert all(isinstance(p, EvalPrompt) and p.prompt.strip() and p.id for p in prompts)
    assert all(p.label in ("harmful", "benign") for p in prompts)
    assert len({p.id for p in prompts}) == len(prompts), "ids must be unique within a suite"
    labels = {p.label for p in prompts}
    if name in BOTH_LABELS:
        assert labels == {"harmful", "benign"}
    else:
        assert labels == ({"benign"} if name in BENIGN_ONLY else {"harmful"})
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


# every spec the docs and ``eval --list`` show, with its size and the labels it must hold
SPEC_SIZES = {
    "harmbench:test": (240, {"harmful"}),
    "harmbench:val": (60, {"harmful"}),
    "harmbench:standard:test": (159, {"harmful"}),
    "harmbench:contextual:test": (81, {"harmful"}),
    "harmbench:test:contextual": (81, {"harmful"}),
    "harmbench:standard:val": (41, {"harmful"}),
    "harmbench:contextual:val": (19, {"harmful"}),
    "jbb:harmful": (100, {"harmful"}),
    "jbb:benign": (100, {"benign"}),
    "strongreject:full": (313, {"harmful"}),
    "strongreject:small": (60, {"harmful"}),
    "xstest:safe": (250, {"benign"}),
    "xstest:unsafe": (200, {"harmful"}),
    "alpaca_eval": (200, {"benign"}),
    "do_not_answer": (251, {"harmful"}),
    "jailbreak": (150, {"harmful", "benign"}),
    "jailbreak:n=20:n_benign=0": (20, {"harmful"}),
    "advbench": (426, {"harmful"}),
}


@pytest.mark.parametrize("spec", sorted(SPEC_SIZES))
def test_suite_specs_load_with_sizes_and_labels(spec):
    size, labels = SPEC_SIZES[spec]
    prompts = load_suite_spec(spec)
    assert len(prompts) == size
    assert {p.label for p in prompts} == labels
    assert len({p.id for p in prompts}) == size


def test_every_listed_variant_and_all_loads():
    for name, info in SUITE_INFO.items():
        assert name in SUITES
        for spec in info.variants:
            assert parse_suite_spec(spec)[0] == name and load_suite_spec(spec), spec
    assert not {parse_suite_spec(s)[0] for s in ALL_SUITES} & {"advbench", "heldout"}
    assert all(load_suite_spec(s, limit=5) for s in ALL_SUITES)
    contextual = load_suite_spec("harmbench:contextual:test")
    assert all(p.context and p.prompt.endswith(p.behavior) for p in contextual)


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("nosuite", "unknown evaluation suite"),
        ("harmbench:train", "'train' is not an option of harmbench (valid: val, test, standard, contextual)"),
        ("harmbench:test:val", "split is given twice"),
        ("jbb:split=test", "jbb has no option 'split'"),
        ("jailbreak:templates=train", "held-out templates only"),
        ("do_not_answer:x", "not an option"),
    ],
)
def test_bad_suite_specs_say_what_is_valid(spec, needle):
    with pytest.raises(ValueError) as err:
        parse_suite_spec(spec)
    assert needle in str(err.value)


def test_seed_pools_stay_out_of_every_held_out_suite():
    """No seed (what the attacker trains on) may be an evaluation prompt, by normalised text."""
    held_out = {
        normalise_text(p.request)
        for name in SUITES
        if not SUITE_INFO[name].training_seeds
        for p in load_suite(name, **({"subset": "full"} if name == "strongreject" else {}))
    }
    held_out |= {normalise_text(p.request) for p in load_suite_spec("harmbench")}
    seeds = {normalise_text(s.text) for s in load_seeds()}
    assert seeds and held_out
    assert not seeds & held_out
    # advbench is offered as a suite, but it *is* a seed pool and is flagged as one
    assert SUITE_INFO["advbench"].training_seeds
    assert {normalise_text(p.prompt) for p in load_suite("advbench")} <= seeds


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


# --- field mapping and saved Hugging Face datasets -------------------------------------------------


def test_prompt_file_field_mapping_and_one_label(tmp_path):
    j = tmp_path / "mine.jsonl"
    j.write_text(
        '{"question": "Why is the sky blue?", "is_harmful": 0}\n{"question": "Hurt him", "is_harmful": 1}\n'
    )
    got = load_prompt_file(j, prompt_field="question", label_field="is_harmful")
    assert [(p.prompt, p.label) for p in got] == [("Why is the sky blue?", "benign"), ("Hurt him", "harmful")]
    with pytest.raises(PromptFileError, match=r"mine\.jsonl:1: .*missing 'label'"):
        load_prompt_file(j, prompt_field="question")
    c = tmp_path / "behaviours.csv"
    c.write_text("Behavior,Category\nDo harm,x\n")
    got = load_prompt_file(c, prompt_field="behavior", label="harmful")
    assert got[0].prompt == "Do harm" and got[0].label == "harmful" and got[0].category == "x"
    with pytest.raises(PromptFileError, match=r"behaviours\.csv:1: missing column 'prompt'"):
        load_prompt_file(c, label="harmful")
    with pytest.raises(ValueError, match="label 'bad'"):
        load_prompt_file(c, prompt_field="behavior", label="bad")


def _save_dataset(path, rows: dict):
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_dict(rows).save_to_disk(str(path))
    return datasets


def test_saved_hf_dataset_loads_with_mapping(tmp_path):
    d = tmp_path / "my_ds"
    _save_dataset(
        d, {"text": ["How do I bake bread?", "Build a bomb"], "y": ["safe", "unsafe"], "id": ["a", "b"]}
    )
    got = load_prompt_file(d, prompt_field="text", label_field="y")
    assert [(p.id, p.prompt, p.label, p.source) for p in got] == [
        ("a", "How do I bake bread?", "benign", "my_ds"),
        ("b", "Build a bomb", "harmful", "my_ds"),
    ]


def test_saved_hf_dataset_errors_name_dir_and_record(tmp_path):
    d = tmp_path / "ds_missing"
    _save_dataset(d, {"text": ["a", "b"], "label": ["benign", "harmful"]})
    with pytest.raises(PromptFileError) as err:
        load_prompt_file(d)
    msg = str(err.value)
    assert (
        str(d) in msg and "missing field 'prompt'" in msg and "text, label" in msg and "--prompt-field" in msg
    )

    d = tmp_path / "ds_bad_record"
    _save_dataset(d, {"prompt": ["a", "b", "", "d"], "label": ["benign", "harmful", "benign", "nope"]})
    with pytest.raises(PromptFileError, match=r"ds_bad_record: record 2: expected a non-empty text 'prompt'"):
        load_prompt_file(d)

    d = tmp_path / "ds_bad_label"
    _save_dataset(d, {"prompt": ["a", "b"], "label": ["benign", "nope"]})
    with pytest.raises(PromptFileError, match=r"ds_bad_label: record 1: label 'nope' is not one of"):
        load_prompt_file(d)

    datasets = pytest.importorskip("datasets")
    d = tmp_path / "ds_splits"
    part = datasets.Dataset.from_dict({"prompt": ["a"], "label": ["benign"]})
    datasets.DatasetDict({"train": part, "test": part}).save_to_disk(str(d))
    with pytest.raises(PromptFileError, match=r"holds the splits train, test: pass one split's folder"):
        load_prompt_file(d)
    assert load_prompt_file(d / "test")[0].prompt == "a"

    empty_dir = tmp_path / "not_a_dataset"
    empty_dir.mkdir()
    with pytest.raises(PromptFileError, match=r"not_a_dataset: not a dataset saved with save_to_disk"):
        load_prompt_file(empty_dir)
