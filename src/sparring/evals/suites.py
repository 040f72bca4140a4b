"""Evaluation suites over the data shipped in ``sparring/data``, and the reader for user prompt files.

Pure Python (no torch): listing, loading and sampling prompts takes milliseconds.

A suite is a named, deterministic list of :class:`EvalPrompt`. ``load_suite("heldout")`` is the small
balanced default used before and after training; ``SUITES`` lists every name. Evaluation prompts are
never seed prompts: the shipped seed pools were de-duplicated against every set here (see
``sparring/data/README.md``).
"""

from __future__ import annotations

import csv
import inspect
import json
import random
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from sparring.game.types import Label

__all__ = [
    "ALL_SUITES",
    "LABELS",
    "SUITES",
    "SUITE_INFO",
    "EvalPrompt",
    "JailbreakTemplate",
    "PromptFileError",
    "SuiteInfo",
    "expand_suites",
    "load_jailbreak_templates",
    "load_prompt_file",
    "load_suite",
    "load_suite_spec",
    "normalise_text",
    "parse_label",
    "parse_suite_spec",
    "read_shipped",
]

LABELS: tuple[Label, ...] = ("harmful", "benign")
TEMPLATE_SLOT = "{{ prompt }}"
DQ = '"'
# HarmBench's own layout for contextual behaviours: the context, a separator line, then the request.
CONTEXT_SEPARATOR = "\n\n---\n\n"


@dataclass(frozen=True)
class EvalPrompt:
    """One evaluation prompt with its ground-truth label.

    ``behavior`` is the plain request behind ``prompt`` when the prompt wraps it (a jailbreak template,
    a HarmBench context); it is empty when the prompt is the request itself. Judges that need the bare
    request should use :attr:`request`. ``context`` is HarmBench's context string, if any.
    """

    id: str
    prompt: str
    label: Label
    category: str = ""
    source: str = ""
    behavior: str = ""
    context: str = ""

    @property
    def request(self) -> str:
        """The bare request the prompt carries (``behavior`` if set, else ``prompt``)."""
        return self.behavior or self.prompt


@dataclass(frozen=True)
class JailbreakTemplate:
    """A jailbreak wrapper with literal ``{{ prompt }}`` slots; ``split`` is ``train`` or ``heldout``."""

    id: str
    name: str
    template: str
    split: str
    group: str = ""
    family: str = ""

    def render(self, request: str) -> str:
        return self.template.replace(TEMPLATE_SLOT, request)


def normalise_text(text: str) -> str:
    """Lowercase and keep letters and digits only; the key used to de-duplicate prompts.

    Identical to the normalisation ``scripts/build_data.py`` used to de-duplicate the shipped seeds.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


# --------------------------------------------------------------------------------------------------
# shipped data


@cache
def read_shipped(relpath: str) -> tuple[dict[str, Any], ...]:
    """Rows of a JSONL file shipped in ``sparring/data`` (``relpath``: ``"xstest/eval.jsonl"``), cached."""
    node = resources.files("sparring").joinpath("data", *relpath.split("/"))
    with node.open("r", encoding="utf-8") as fh:
        return tuple(json.loads(line) for line in fh if line.strip())


def _to_prompt(row: dict[str, Any]) -> EvalPrompt:
    context = row.get("context", "")
    if context:
        return EvalPrompt(
            id=row["id"],
            prompt=context + CONTEXT_SEPARATOR + row["prompt"],
            label=row["label"],
            category=row.get("category", ""),
            source=row.get("source", ""),
            behavior=row["prompt"],
            context=context,
        )
    return EvalPrompt(row["id"], row["prompt"], row["label"], row.get("category", ""), row.get("source", ""))


def _choice(name: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(allowed)}")
    return value


def _dedup(prompts: Iterable[EvalPrompt]) -> list[EvalPrompt]:
    seen: set[str] = set()
    out = []
    for p in prompts:
        key = normalise_text(p.request)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def load_jailbreak_templates(split: str = "heldout") -> list[JailbreakTemplate]:
    """Shipped PyRIT jailbreak templates; ``split`` is ``train``, ``heldout`` or ``all``.

    ``train`` templates may be used to warm-start an attacker; ``heldout`` ones are for evaluation only
    (near-duplicate families never straddle the two).
    """
    _choice("split", split, ("train", "heldout", "all"))
    rows = read_shipped("jailbreak_templates_pyrit/templates.jsonl")
    return [
        JailbreakTemplate(
            r["id"], r["name"], r["template"], r["split"], r.get("group", ""), r.get("family", "")
        )
        for r in rows
        if split == "all" or r["split"] == split
    ]


# --------------------------------------------------------------------------------------------------
# suites


def harmbench(split: str = "all", functional: str = "all") -> list[EvalPrompt]:
    """HarmBench text behaviours (all harmful), filtered by ``split`` and ``functional`` category.

    ``split``: val, test or all; ``functional``: standard, contextual or all. Contextual behaviours
    are shown as context + separator + behaviour; copyright behaviours are not shipped.
    """
    _choice("split", split, ("val", "test", "all"))
    _choice("functional", functional, ("standard", "contextual", "all"))
    return [
        _to_prompt(r)
        for r in read_shipped("harmbench/eval.jsonl")
        if split in ("all", r["split"]) and functional in ("all", r["functional_category"])
    ]


def jbb(behaviors: str = "all") -> list[EvalPrompt]:
    """JailbreakBench JBB-Behaviors: 100 harmful and 100 topic-matched benign; ``behaviors`` filters."""
    _choice("behaviors", behaviors, ("harmful", "benign", "all"))
    return [_to_prompt(r) for r in read_shipped("jbb/eval.jsonl") if behaviors in ("all", r["label"])]


def strongreject(subset: str = "small") -> list[EvalPrompt]:
    """StrongREJECT forbidden prompts (harmful): ``subset`` small (60) or full (313)."""
    _choice("subset", subset, ("small", "full"))
    return [
        _to_prompt(r)
        for r in read_shipped("strongreject/eval.jsonl")
        if subset == "full" or r["subset"] == "small"
    ]


def xstest(subset: str = "all") -> list[EvalPrompt]:
    """XSTest v2: 250 safe prompts that look risky (benign; over-refusal) and 200 unsafe contrasts.

    ``subset``: safe (benign only), unsafe (harmful only) or all.
    """
    _choice("subset", subset, ("safe", "unsafe", "all"))
    keep = {"safe": ("benign",), "unsafe": ("harmful",), "all": LABELS}[subset]
    return [_to_prompt(r) for r in read_shipped("xstest/eval.jsonl") if r["label"] in keep]


def alpaca_eval() -> list[EvalPrompt]:
    """AlpacaEval instructions (benign): ordinary requests that do not look dangerous, for plain over-refusal.

    The 200 shipped with the capability check (``sparring/data/capability``): everyday questions and tasks
    from real users and instruction sets, none a seed or a prompt of another suite. XSTest's safe prompts
    and JBB's benign behaviours are chosen to resemble harmful ones; these are not.
    """
    return [
        EvalPrompt(r["id"], r["instruction"], "benign", r.get("dataset", ""), "alpaca_eval")
        for r in read_shipped("capability/alpaca_eval.jsonl")
    ]


def do_not_answer() -> list[EvalPrompt]:
    """Do-Not-Answer, evaluation part (harmful risk areas; the rest of the set is a seed source)."""
    return [_to_prompt(r) for r in read_shipped("do_not_answer/eval.jsonl")]


def advbench() -> list[EvalPrompt]:
    """AdvBench harmful behaviours as shipped: sparring's default *training seeds* (426 of 520).

    Not held out: a defender trained on the shipped seed pools has seen these prompts. The 94 behaviours
    that were dropped from the seeds are near-duplicates of other evaluation sets, so no held-out
    AdvBench part exists. Useful for a model that never trained on the shipped seeds (a base model).
    """
    return [_to_prompt(r) for r in read_shipped("advbench/seeds.jsonl")]


def jailbreak(
    n: int = 100,
    n_benign: int | None = None,
    templates: str = "heldout",
    max_template_chars: int | None = 4000,
    seed: int = 0,
) -> list[EvalPrompt]:
    """Jailbreak templates applied to held-out requests, deterministic for a given ``seed``.

    ``n`` harmful prompts: HarmBench test standard and JBB harmful behaviours, each wrapped in a
    template from ``templates`` (``heldout`` by default: never used to train an attacker). ``n_benign``
    benign prompts (default ``n // 2``): JBB benign and XSTest safe requests in the same wrappers, to
    catch a defender that refuses anything shaped like a jailbreak. Templates longer than
    ``max_template_chars`` are skipped (None keeps all) to keep CPU evaluation affordable.
    """
    if n < 0 or (n_benign is not None and n_benign < 0):
        raise ValueError("n and n_benign must be >= 0")
    n_benign = n // 2 if n_benign is None else n_benign
    pool = [
        t
        for t in load_jailbreak_templates(templates)
        if max_template_chars is None or len(t.template) <= max_template_chars
    ]
    if not pool:
        raise ValueError(f"no {templates} template is at most {max_template_chars} characters long")
    harmful = _dedup(harmbench(split="test", functional="standard") + jbb("harmful"))
    benign = _dedup(jbb("benign") + [p for p in xstest() if p.label == "benign"])
    rng = random.Random(f"sparring/jailbreak/{seed}")
    out: list[EvalPrompt] = []
    for requests, count in ((harmful, n), (benign, n_benign)):
        requests = list(requests)
        rng.shuffle(requests)
        order = list(pool)
        rng.shuffle(order)
        for i in range(count):
            base, tmpl = requests[i % len(requests)], order[i % len(order)]
            out.append(
                EvalPrompt(
                    id=f"jailbreak-{tmpl.id}-{base.id}",
                    prompt=tmpl.render(base.request),
                    label=base.label,
                    category=base.category,
                    source=f"jailbreak/{base.source}",
                    behavior=base.request,
                )
            )
    return out


def heldout(per_label: int = 100) -> list[EvalPrompt]:
    """Small balanced default suite for before/after evaluation during training (deterministic).

    Harmful: HarmBench test standard behaviours and JBB harmful; benign: JBB benign and XSTest safe.
    ``per_label`` prompts of each label (fewer if a pool is smaller), harmful first.
    """
    pools = {
        "harmful": _dedup(harmbench(split="test", functional="standard") + jbb("harmful")),
        "benign": _dedup(jbb("benign") + [p for p in xstest() if p.label == "benign"]),
    }
    out: list[EvalPrompt] = []
    for label in LABELS:
        pool = pools[label]
        chosen = set(
            random.Random(f"sparring/heldout/{label}").sample(range(len(pool)), min(per_label, len(pool)))
        )
        out.extend(p for i, p in enumerate(pool) if i in chosen)
    return out


SUITES: dict[str, Callable[..., list[EvalPrompt]]] = {
    "heldout": heldout,
    "harmbench": harmbench,
    "jbb": jbb,
    "strongreject": strongreject,
    "xstest": xstest,
    "alpaca_eval": alpaca_eval,
    "do_not_answer": do_not_answer,
    "jailbreak": jailbreak,
    "advbench": advbench,
}


@dataclass(frozen=True)
class SuiteInfo:
    """What a suite measures and where it comes from (for ``sparring eval --list`` and the docs).

    ``choices`` are the options that can be named by value in a suite spec (``harmbench:contextual:test``);
    ``variants`` are the specs worth listing. ``training_seeds`` marks prompts that are also seeds.
    """

    measures: str
    source: str
    licence: str
    choices: dict[str, tuple[str, ...]]
    variants: tuple[str, ...] = ()
    training_seeds: bool = False


SUITE_INFO: dict[str, SuiteInfo] = {
    "heldout": SuiteInfo(
        "balanced default for before/after training: attack success and over-refusal",
        "HarmBench test standard + JBB harmful; JBB benign + XSTest safe",
        "MIT; CC-BY-4.0",
        {},
    ),
    "harmbench": SuiteInfo(
        "attack success on harmful behaviours (contextual ones carry a context passage)",
        "HarmBench text behaviours (Mazeika et al. 2024), copyright behaviours not shipped",
        "MIT",
        {"split": ("val", "test"), "functional": ("standard", "contextual")},
        (
            "harmbench:test",
            "harmbench:val",
            "harmbench:standard:test",
            "harmbench:contextual:test",
            "harmbench:standard:val",
            "harmbench:contextual:val",
        ),
    ),
    "jbb": SuiteInfo(
        "attack success (harmful) and over-refusal on topic-matched benign behaviours",
        "JailbreakBench JBB-Behaviors (Chao et al. 2024)",
        "MIT",
        {"behaviors": ("harmful", "benign")},
        ("jbb:harmful", "jbb:benign"),
    ),
    "strongreject": SuiteInfo(
        "attack success on forbidden prompts; StrongREJECT score with a rubric judge",
        "StrongREJECT (Souly et al. 2024)",
        "MIT",
        {"subset": ("small", "full")},
        ("strongreject:full",),
    ),
    "xstest": SuiteInfo(
        "over-refusal on safe prompts that look risky; attack success on unsafe contrasts",
        "XSTest v2 (Roettger et al. 2024)",
        "CC-BY-4.0",
        {"subset": ("safe", "unsafe")},
        ("xstest:safe", "xstest:unsafe"),
    ),
    "alpaca_eval": SuiteInfo(
        "over-refusal on ordinary requests that do not look dangerous (plain benign)",
        "AlpacaEval instructions (Li et al. 2023), the 200 of the capability check",
        "CC-BY-NC-4.0",
        {},
    ),
    "do_not_answer": SuiteInfo(
        "attack success on requests a model should not answer (four harmful risk areas)",
        "Do-Not-Answer (Wang et al. 2023), the 30% evaluation part",
        "Apache-2.0",
        {},
    ),
    "jailbreak": SuiteInfo(
        "robustness: held-out jailbreak templates (DAN-style, in-the-wild) around harmful and benign "
        "requests",
        "PyRIT templates (held-out families) x HarmBench test standard, JBB, XSTest safe",
        "MIT; CC-BY-4.0",
        {},
    ),
    "advbench": SuiteInfo(
        "TRAINING SEEDS, not held out: attack success on AdvBench behaviours (426 of 520)",
        "AdvBench harmful behaviours (Zou et al. 2023) as shipped in the seed pool",
        "MIT",
        {},
        training_seeds=True,
    ),
}

# ``--suite all``: one standard configuration of every held-out benchmark. ``heldout`` repeats parts of
# harmbench/jbb/xstest, and ``advbench`` is a training seed pool, so neither is in it.
ALL_SUITES: tuple[str, ...] = (
    "harmbench:test",
    "jbb",
    "strongreject:full",
    "xstest",
    "alpaca_eval",
    "do_not_answer",
    "jailbreak",
)


def parse_suite_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"harmbench:contextual:test"`` -> ``("harmbench", {"functional": "contextual", "split": "test"})``.

    A spec is a suite name, then ``:``-separated options: a bare value of one of the suite's choices
    (see ``SUITE_INFO``) or ``key=value`` for any option of its builder (``jailbreak:n=200``).
    """
    name, *tokens = [t.strip() for t in spec.strip().split(":")]
    if name not in SUITES:
        raise ValueError(f"unknown evaluation suite {name!r}; valid names: {', '.join(sorted(SUITES))}")
    info = SUITE_INFO[name]
    params = inspect.signature(SUITES[name]).parameters
    options: dict[str, Any] = {}
    for token in tokens:
        if "=" in token:
            key, _, raw = token.partition("=")
            key = key.strip()
            if key not in params or key == "seed":
                valid = ", ".join(k for k in params if k != "seed") or "none"
                raise ValueError(f"suite {spec!r}: {name} has no option {key!r} (options: {valid})")
            value: Any = _option_value(raw.strip())
        else:
            matches = [k for k, allowed in info.choices.items() if token in allowed]
            if not matches:
                valid = ", ".join(v for allowed in info.choices.values() for v in allowed) or "none"
                raise ValueError(f"suite {spec!r}: {token!r} is not an option of {name} (valid: {valid})")
            key, value = matches[0], token
        if key in options:
            raise ValueError(f"suite {spec!r}: {key} is given twice")
        options[key] = value
    if name == "jailbreak" and options.get("templates", "heldout") != "heldout":
        # train templates may have warm-started the attacker; scoring on them would flatter a defender
        raise ValueError(f"suite {spec!r}: the jailbreak suite evaluates held-out templates only")
    return name, options


def _option_value(raw: str) -> Any:
    if raw.lower() == "none":
        return None
    try:
        return int(raw)
    except ValueError:
        return raw


def expand_suites(specs: str | Sequence[str]) -> list[str]:
    """``"a,b"`` or ``["a", "b"]`` -> checked specs; ``all`` expands to :data:`ALL_SUITES`."""
    items = [s.strip() for s in (specs.split(",") if isinstance(specs, str) else specs) if s.strip()]
    if not items:
        raise ValueError("no suite given: name one or more (comma-separated), or 'all'")
    out: list[str] = []
    for item in items:
        for spec in ALL_SUITES if item == "all" else (item,):
            parse_suite_spec(spec)
            if spec not in out:
                out.append(spec)
    return out


def load_suite_spec(spec: str, limit: int | None = None, seed: int = 0) -> list[EvalPrompt]:
    """Load a suite spec such as ``harmbench:contextual:test`` (see :func:`parse_suite_spec`)."""
    name, options = parse_suite_spec(spec)
    return load_suite(name, limit=limit, seed=seed, **options)


def load_suite(name: str, limit: int | None = None, seed: int = 0, **options: Any) -> list[EvalPrompt]:
    """Load the suite ``name`` (see ``SUITES``); ``options`` go to its builder (e.g. ``split="test"``).

    With ``limit``, a deterministic sample (given ``seed``) of at most ``limit`` prompts that keeps
    each label's share roughly as in the full suite (every label keeps at least one prompt when
    ``limit`` allows), in the suite's original order. ``seed`` also reaches builders that sample
    (``jailbreak``), unless ``options`` set their own.
    """
    if name not in SUITES:
        raise ValueError(f"unknown evaluation suite {name!r}; valid names: {', '.join(sorted(SUITES))}")
    builder = SUITES[name]
    if "seed" in inspect.signature(builder).parameters:
        options.setdefault("seed", seed)
    return limit_prompts(builder(**options), limit, seed, name)


def limit_prompts(
    prompts: list[EvalPrompt], limit: int | None, seed: int = 0, name: str = "file"
) -> list[EvalPrompt]:
    """At most ``limit`` prompts, sampled deterministically with each label's share kept (see load_suite)."""
    if limit is None or limit >= len(prompts):
        return prompts
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    return _stratified_sample(prompts, limit, random.Random(f"sparring/limit/{name}/{seed}"))


def _stratified_sample(prompts: list[EvalPrompt], limit: int, rng: random.Random) -> list[EvalPrompt]:
    by_label: dict[str, list[int]] = {}
    for i, p in enumerate(prompts):
        by_label.setdefault(p.label, []).append(i)
    labels = sorted(by_label)
    total = len(prompts)
    quota = {lab: round(limit * len(by_label[lab]) / total) for lab in labels}
    if limit >= len(labels):
        for lab in labels:
            quota[lab] = max(quota[lab], 1)
    # fix rounding so the quotas add up to ``limit``: trim from, or add to, the largest labels first
    while sum(quota.values()) > limit:
        lab = max(labels, key=lambda x: (quota[x], x))
        quota[lab] -= 1
    while sum(quota.values()) < limit:
        lab = max(
            (x for x in labels if quota[x] < len(by_label[x])), key=lambda x: len(by_label[x]) - quota[x]
        )
        quota[lab] += 1
    chosen: set[int] = set()
    for lab in labels:
        chosen.update(rng.sample(by_label[lab], quota[lab]))
    return [p for i, p in enumerate(prompts) if i in chosen]


# --------------------------------------------------------------------------------------------------
# user prompt files

_LABEL_ALIASES: dict[str, Label] = {
    "harmful": "harmful",
    "unsafe": "harmful",
    "1": "harmful",
    "true": "harmful",
    "yes": "harmful",
    "benign": "benign",
    "safe": "benign",
    "0": "benign",
    "false": "benign",
    "no": "benign",
}
_LABEL_HELP = "harmful, benign (or unsafe/safe, 1/0, true/false, yes/no)"


class PromptFileError(ValueError):
    """A prompt file could not be read; the message reads ``FILE:LINE: what was expected``.

    For a saved Hugging Face dataset the position is a record index (``DIR: record 7: ...``, 0-based as
    in ``dataset[7]``) and ``line`` holds that index.
    """

    def __init__(self, path: str | Path, line: int | None, message: str, unit: str = "line") -> None:
        self.path = str(path)
        self.line = line
        self.reason = message
        if line is None:
            where = self.path
        elif unit == "line":
            where = f"{self.path}:{line}"
        else:
            where = f"{self.path}: {unit} {line}"
        super().__init__(f"{where}: {message}")


def parse_label(value: Any) -> Label | None:
    """Map a user label (harmful/benign, unsafe/safe, 1/0, true/false, yes/no; any case) to a Label."""
    if isinstance(value, bool):
        return "harmful" if value else "benign"
    if isinstance(value, int) and value in (0, 1):
        return "harmful" if value else "benign"
    if isinstance(value, str):
        return _LABEL_ALIASES.get(value.strip().lower())
    return None


def load_prompt_file(
    path: str | Path,
    prompt_field: str = "prompt",
    label_field: str = "label",
    label: str | None = None,
) -> list[EvalPrompt]:
    """Read the user's own labelled prompts: JSONL (``.jsonl``/``.ndjson``), CSV (``.csv``/``.tsv``), or a
    directory holding a Hugging Face dataset saved with ``Dataset.save_to_disk``.

    Each record needs a prompt (field ``prompt_field``) and a label (field ``label_field``, see
    :func:`parse_label`), unless ``label`` gives one label for every record; ``id``, ``category`` and
    ``source`` are optional (ids default to ``<file stem>-<line>``, or ``<dir name>-<index>``). CSV needs a
    header row; column names are matched case-insensitively. Any problem raises :class:`PromptFileError`
    naming the file and the 1-based line (the 0-based record index for a dataset).
    """
    path = Path(path)
    fixed_label: Label | None = None
    if label is not None:
        fixed_label = parse_label(label)
        if fixed_label is None:
            raise ValueError(f"label {label!r} is not one of {_LABEL_HELP}")
    fields = _Fields(prompt_field, None if fixed_label else label_field)
    if path.is_dir():
        return _to_prompts(path, _dataset_records(path, fields), fields, fixed_label, unit="record")
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".ndjson", ".csv", ".tsv"):
        raise PromptFileError(
            path,
            None,
            f"unsupported file type {suffix or '(none)'!r}: use .jsonl, .csv or a saved dataset directory",
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PromptFileError(path, None, "no such file") from None
    except UnicodeDecodeError as err:
        raise PromptFileError(path, None, f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    if not text.strip():
        what = (
            f"one JSON object per line with {fields.describe(quote=DQ)}"
            if suffix in (".jsonl", ".ndjson")
            else f"a header row naming {fields.describe()}, then one row per prompt"
        )
        raise PromptFileError(path, None, f"file is empty: expected {what}")
    records = (
        _jsonl_records(path, text, fields)
        if suffix in (".jsonl", ".ndjson")
        else _csv_records(path, text, suffix, fields)
    )
    return _to_prompts(path, records, fields, fixed_label, unit="line")


@dataclass(frozen=True)
class _Fields:
    prompt: str
    label: str | None  # None: the caller gave one label for every record

    @property
    def required(self) -> tuple[str, ...]:
        return (self.prompt,) if self.label is None else (self.prompt, self.label)

    def describe(self, quote: str = "'") -> str:
        return " and ".join(f"{quote}{f}{quote}" for f in self.required)


def _to_prompts(
    path: Path,
    records: Iterable[tuple[int, dict[str, Any]]],
    fields: _Fields,
    fixed_label: Label | None,
    unit: str,
) -> list[EvalPrompt]:
    out: list[EvalPrompt] = []
    first: dict[str, int] = {}
    stem = path.stem if unit == "line" else path.name
    for pos, rec in records:
        prompt = rec.get(fields.prompt)
        if not isinstance(prompt, str) or not prompt.strip():
            raise PromptFileError(path, pos, f"expected a non-empty text {fields.prompt!r}", unit)
        if fixed_label is not None:
            lab = fixed_label
        else:
            raw_label = rec.get(fields.label)
            lab = parse_label(raw_label)
            if lab is None:
                raise PromptFileError(
                    path, pos, f"{fields.label} {raw_label!r} is not one of {_LABEL_HELP}", unit
                )
        raw_id = rec.get("id")
        pid = f"{stem}-{pos}" if raw_id is None or str(raw_id).strip() == "" else str(raw_id).strip()
        if pid in first:
            where = f"first used on {unit} {first[pid]}"
            raise PromptFileError(path, pos, f"duplicate id {pid!r} ({where})", unit)
        first[pid] = pos
        category = rec.get("category")
        source = rec.get("source")
        out.append(
            EvalPrompt(
                id=pid,
                prompt=prompt.strip(),
                label=lab,
                category="" if category is None else str(category),
                source=str(source) if source not in (None, "") else stem,
            )
        )
    if not out:
        raise PromptFileError(path, None, "no prompts found (only blank lines or a header)")
    return out


def _dataset_records(path: Path, fields: _Fields) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        import datasets
    except ImportError:
        raise PromptFileError(
            path, None, "reading a saved dataset needs the datasets package: pip install datasets"
        ) from None
    try:
        ds = datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as err:
        raise PromptFileError(
            path, None, f"not a dataset saved with save_to_disk, nor a .jsonl/.csv file ({err})"
        ) from None
    if isinstance(ds, datasets.DatasetDict):
        splits = list(ds)
        if len(splits) != 1:
            raise PromptFileError(
                path,
                None,
                f"holds the splits {', '.join(splits)}: pass one split's folder, e.g. {path / splits[0]}",
            )
        ds = ds[splits[0]]
    columns = list(ds.column_names)
    missing = [f for f in fields.required if f not in columns]
    if missing:
        raise PromptFileError(
            path,
            None,
            f"missing field {', '.join(map(repr, missing))} (fields: {', '.join(columns) or 'none'}); "
            "map yours with --prompt-field/--label-field",
        )
    keep = [c for c in (*fields.required, "id", "category", "source") if c in columns]
    yield from enumerate(ds.select_columns(keep))


def _jsonl_records(path: Path, text: str, fields: _Fields) -> Iterator[tuple[int, dict[str, Any]]]:
    expected = f"expected a JSON object with {fields.describe(quote=DQ)}"
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as err:
            raise PromptFileError(
                path, line, f"{expected} (invalid JSON: {err.msg} at column {err.colno})"
            ) from None
        if not isinstance(obj, dict):
            raise PromptFileError(path, line, f"{expected}, got a JSON {type(obj).__name__}")
        missing = [k for k in fields.required if k not in obj]
        if missing:
            raise PromptFileError(path, line, f"{expected}; missing {', '.join(repr(k) for k in missing)}")
        yield line, obj


def _csv_records(path: Path, text: str, suffix: str, fields: _Fields) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(text.splitlines(keepends=True), delimiter="\t" if suffix == ".tsv" else ",")
    try:
        header = next(reader)
        while not any(h.strip() for h in header):
            header = next(reader)
    except StopIteration:
        raise PromptFileError(path, None, "file is empty: expected a header row") from None
    except csv.Error as err:
        raise PromptFileError(path, reader.line_num, f"malformed CSV: {err}") from None
    header_line = reader.line_num
    columns = [h.strip().lower() for h in header]
    for required in fields.required:
        if required.lower() not in columns:
            found = ", ".join(repr(h) for h in header) or "none"
            raise PromptFileError(
                path,
                header_line,
                f"missing column {required!r}: expected a header naming {fields.describe()} (found {found})",
            )
    index = {
        name: columns.index(name.lower())
        for name in (*fields.required, "id", "category", "source")
        if name.lower() in columns
    }
    prev_end = header_line
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise PromptFileError(path, prev_end + 1, f"malformed CSV: {err}") from None
        line, prev_end = prev_end + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(columns):
            raise PromptFileError(
                path, line, f"expected {len(columns)} fields as in the header, found {len(row)}"
            )
        if len(row) > len(columns):
            raise PromptFileError(
                path,
                line,
                f"expected {len(columns)} fields as in the header, found {len(row)} "
                "(quote fields that contain commas)",
            )
        yield line, {name: row[i] for name, i in index.items()}
