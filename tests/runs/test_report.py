"""The HTML report: a pure, self-contained function of a (synthetic) run directory, checked in real Chromium.

Chromium is Debian's package (``apt-get install -y chromium``; .ci/run installs it). Without it the
browser test is skipped; everything else runs anyway.
"""

import json
import math
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from sparring.game.types import Episode, Seed, Verdict
from sparring.runs.archive import EpisodeArchive
from sparring.runs.report import CHARTS, build_html, line_chart, nice_ticks, render_report
from sparring.runs.rundir import episode_record

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
STEPS = 48
CATEGORIES = ("cybercrime", "fraud", "harassment", "benign-howto")
SCRIPT = "<script>alert('x')</script>"


def wave(step, start, end, wobble=0.06, phase=0.0):
    """A deterministic noisy trend from ``start`` to ``end`` over the run."""
    t = step / (STEPS - 1)
    return start + (end - start) * t + wobble * math.sin(1.7 * step + phase) * math.cos(0.31 * step)


def metrics_rows():
    rows = []
    for s in range(STEPS):
        rows.append(
            {
                "step": s,
                "attacker/reward_mean": wave(s, -0.4, 0.1, 0.15),
                "defender/reward_mean": wave(s, 0.4, -0.05, 0.15, 1.0),
                "defender/harmful_answer_rate": max(0.0, wave(s, 0.45, 0.12, 0.08, 2.0)),
                "defender/harmful_refusal_rate": min(1.0, wave(s, 0.4, 0.8, 0.08, 3.0)),
                # Some steps draw no benign seed: the rate is null there and must be skipped.
                "defender/benign_refusal_rate": None if s % 7 == 3 else max(0.0, wave(s, 0.1, 0.18, 0.05)),
                "attacker/success_rate": max(0.0, wave(s, 0.2, 0.42, 0.1, 4.0)),
                "attacker/format_failure_rate": max(0.0, wave(s, 0.5, 0.04, 0.04, 5.0)),
                "attacker/novelty_mean": wave(s, 0.55, 0.35, 0.05, 6.0),
                "diversity/attack_cosine_distance": wave(s, 0.7, 0.5, 0.04, 7.0),
                "kl/attacker": None if s == 0 else wave(s, 0.0, 0.08, 0.01) + 0.01,
                "kl/defender": None if s == 0 else wave(s, 0.0, 0.05, 0.008, 1.0) + 0.008,
                "attacker/length_mean": wave(s, 60, 95, 8),
                "defender/length_mean": wave(s, 80, 70, 6, 2.0),
                "judge/failures": 0.0,
            }
        )
    return rows


def rate(value, n, half):
    return {"value": value, "ci_low": max(0.0, value - half), "ci_high": min(1.0, value + half), "n": n}


def eval_json(harm, over, refuse, cap):
    by_cat = {
        c: {"harmful_answer_rate": rate(harm * f, 24, 0.15), "harmful_refusal_rate": rate(refuse, 24, 0.15)}
        for c, f in (("cybercrime", 1.2), ("fraud", 0.8), ("harassment", 0.6))
    }
    by_cat["benign"] = {"benign_refusal_rate": rate(over, 64, 0.08)}
    return {
        "n": 136,
        "judge_failures": 1,
        "suite": "heldout",
        "metrics": {
            "harmful_answer_rate": rate(harm, 72, 0.09),
            "harmful_refusal_rate": rate(refuse, 72, 0.1),
            "benign_refusal_rate": rate(over, 64, 0.07),
        },
        "by_category": by_cat,
        "suites": {  # an extra suite (eval.extra_suites)
            "xstest": {
                "n": 48,
                "metrics": {
                    "harmful_answer_rate": rate(harm / 2, 21, 0.1),
                    "benign_refusal_rate": rate(2 * over, 27, 0.1),
                },
            }
        },
        "capability": {
            "mean_logprob": cap,
            "ci_low": cap - 0.09,
            "ci_high": cap + 0.08,
            "n": 50,
            "tokens": 4000,
        },
    }


def crossplay_json():
    names = ["step-0", "step-16", "step-32", "final"]
    matrix = [
        [0.42, 0.25, 0.18, 0.12],
        [0.55, 0.33, 0.22, 0.16],
        [0.61, 0.44, 0.3, 0.21],
        [0.66, 0.5, 0.37, None],
    ]
    return {
        "attackers": names,
        "defenders": names,
        "matrix": matrix,
        "n_seeds": 64,
        "equilibrium": {"attacker": [0, 0.1, 0.3, 0.6], "defender": [0, 0, 0.2, 0.8], "value": 0.27},
        "exploitability": {
            "final_defender": "final",
            "strongest_attacker": "step-32",
            "success_vs_final_defender": 0.21,
            "gap_vs_equilibrium": -0.06,
        },
    }


def episodes_for(step):
    eps = []
    for i in range(8):
        cat = CATEGORIES[i % 4]
        label = "benign" if cat == "benign-howto" else "harmful"
        harm = 0.8 if (5 * i + step // 6) % 3 == 0 else 0.1
        text = f"[{label} request placeholder {step}.{i}]"
        attack = f"[rewritten attack placeholder {step}.{i}]" + (f" {SCRIPT}" if i == 0 else "")
        eps.append(
            Episode(
                step=step,
                seed=Seed(f"{cat}-{i}", text, label, "synthetic", cat),
                revised=i != 7,
                attacker_output=f"<think>[plan]</think><prompt>{attack}</prompt>",
                attacker_reasoning="[plan]",
                attack=attack,
                format_ok=i != 6,
                answer=f"[answer placeholder {step}.{i}]\nsecond line",
                verdict=Verdict(0.7, 1 - harm, harm),
                faithfulness=0.8,
                novelty=round(0.2 + 0.01 * ((i * 7 + step) % 50), 3),
                rewards={"attacker": harm - 0.5, "defender": 0.5 - harm},
            )
        )
    return eps


def make_run(root: Path, archive=True, jsonl=True) -> Path:
    run = root / "demo-20261123-101500"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(
        "model: smollm2-135m-instruct\nmode: adapters\ntrain:\n  steps: 48\n  seeds_per_step: 4\n"
        "  group_size: 2\n  algorithm: reinforce_pp\n  kl_coef: 0.05\nreward:\n  table: zero_sum\n"
        "judge:\n  kind: embedded\neval:\n  suite: heldout\n"
    )
    (run / "run.json").write_text(
        json.dumps(
            {
                "schema_version": 1,
                "status": "finished",
                "started": 1795000000.0,
                "updated": 1795004000.0,
                "finished": 1795004000.0,
                "versions": {"python": "3.11.7", "sparring": "0.1.0", "torch": "2.13.0"},
            }
        )
    )
    (run / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metrics_rows()))
    (run / "eval_before.json").write_text(json.dumps(eval_json(0.38, 0.09, 0.52, -1.62)))
    (run / "eval_after.json").write_text(json.dumps(eval_json(0.14, 0.12, 0.81, -1.67)))
    (run / "crossplay.json").write_text(json.dumps(crossplay_json()))
    steps = [episodes_for(s) for s in range(0, STEPS, 6)]
    if jsonl:
        (run / "episodes.jsonl").write_text(
            "".join(json.dumps(episode_record(e)) + "\n" for eps in steps for e in eps)
        )
    if archive:
        with EpisodeArchive(run / "episodes.sqlite") as a:
            for eps in steps:
                a.append(eps[0].step, eps)
    return run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("report"))


def test_render_is_pure_self_contained_and_escaped(run_dir):
    path = render_report(run_dir)
    assert path == run_dir / "report.html"
    page = path.read_text(encoding="utf-8")
    assert render_report(run_dir).read_text(encoding="utf-8") == page  # same directory, same bytes
    # Nothing is fetched: no scripts, stylesheets, fonts or images from anywhere.
    for needle in ("<script", "<link", "src=", "@import", "http://", "https://", "url(http"):
        assert needle not in page, needle
    assert SCRIPT not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "NaN" not in page and "None" not in page  # null metrics are skipped, not drawn
    assert page.count('<svg class="plot"') == 6
    assert '<svg class="heatmap"' in page and 'class="eval"' in page
    # Sample attacks sit behind a content warning, collapsed (no "open" attribute).
    assert '<details class="card warning-box"><summary><span class="cw">Content warning' in page
    for cat in CATEGORIES:
        assert f'<h3 class="cat">{cat}</h3>' in page
    assert "<b>-1.670</b>" in page and "-0.050" in page  # capability (log-likelihood), not a rate
    assert "<b>14.0%</b>" in page and "[5.0%, 23.0%] n=72" in page  # after: harmful answers, 95% CI, n
    assert "Benign over-refusal: xstest" in page and "<b>24.0%</b>" in page  # extra suites get rows too


def test_jsonl_fallback_gives_the_same_attack_section(tmp_path, run_dir):
    run = make_run(tmp_path, archive=False)
    page, reference = build_html(run), build_html(run_dir)
    assert "From <code>episodes.jsonl</code>" in page
    section = lambda p: p[p.index('<section id="attacks">') :]  # noqa: E731
    assert section(page) == section(reference).replace("episodes.sqlite", "episodes.jsonl")


def test_diversity_of_a_step_with_one_attack_is_not_drawn_as_zero(tmp_path, run_dir):
    """Runs logged before the loop wrote null there stored 0.0 for a step with a single attack."""
    from sparring.runs.report import RunData

    six = {s: 6 for s in range(0, 48, 6)}  # archived steps; per step i=6 is malformed and i=7 unrevised
    assert RunData.load(run_dir).attacks_by_step == six  # from the archive
    run = make_run(tmp_path, archive=False)
    rows = [json.loads(line) for line in (run / "episodes.jsonl").read_text().splitlines()]
    step6 = [r for r in rows if r["step"] == 6]
    for r in step6[1:]:
        r["format_ok"] = False  # step 6 keeps one well-formed attack
    (run / "episodes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = RunData.load(run)
    assert data.attacks_by_step == six | {6: 1}  # from episodes.jsonl
    diversity = {m["step"]: m["diversity/attack_cosine_distance"] for m in data.metrics}
    # Steps without archived episodes (the fixture archives every 6th) keep their logged value.
    assert diversity[6] is None and all(v is not None for k, v in diversity.items() if k != 6)


def test_an_empty_run_directory_renders_notes(tmp_path):
    run = tmp_path / "empty"
    run.mkdir()
    (run / "metrics.jsonl").write_text('{"step": 0, "attacker/reward_mean": null}\n{"step": 1, "attac')
    page = render_report(run).read_text()
    assert "No eval_before.json" in page and "No crossplay.json" in page and "No episodes.sqlite" in page
    assert "not logged in this run" in page
    with pytest.raises(FileNotFoundError):
        render_report(tmp_path / "missing")


def test_the_seed_mix_chart_shows_only_in_runs_that_log_it(tmp_path):
    fixed, fed = tmp_path / "fixed", tmp_path / "fed"
    for run in (fixed, fed):
        run.mkdir()
    rows = [{"step": i, "defender/reward_mean": 0.1 * i} for i in range(3)]
    (fixed / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    share = {"train/harmful_share": 0.44, "defender/loss_rate_harmful": 0.3, "defender/loss_rate_benign": 0.2}
    (fed / "metrics.jsonl").write_text("".join(json.dumps(r | share) + "\n" for r in rows))
    assert "Seed mix" not in render_report(fixed).read_text()
    page = render_report(fed).read_text()
    assert "Seed mix" in page and "defender losses (benign seeds)" in page


def test_nice_ticks():
    assert nice_ticks(0, 1, 5) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 47, 6, integer=True) == [0, 10, 20, 30, 40, 50]
    assert nice_ticks(0.013, 0.094, 5) == [0.0, 0.02, 0.04, 0.06, 0.08, 0.1]
    assert nice_ticks(3, 3) == [2.6, 2.8, 3.0, 3.2, 3.4]  # a flat series still gets an axis


def test_y_tick_labels_clear_the_axis_label():
    """Long tick labels (KL of 0.0025) get a wider left margin instead of running into the axis title."""
    import re

    kl = next(c for c in CHARTS if c.title.startswith("KL"))
    series = [(kl.series[0], [(0.0, 0.0), (1.0, 0.0017), (2.0, 0.0023)])]
    svg = line_chart(kl, series)
    ticks = re.findall(r'<text class="tick" x="([\d.]+)" y="[\d.]+" text-anchor="end">([^<]+)</text>', svg)
    assert ticks and any(len(label) >= 6 for _, label in ticks)
    for x, label in ticks:  # right-aligned at x; about 6.3 px a character at 11 px; the title ends near 20
        assert float(x) - 6.3 * len(label) >= 24, (x, label)


def chromium(*args, tmp: Path) -> subprocess.CompletedProcess:
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp / 'profile'}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=True)


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium: apt-get install -y chromium")
def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    page = render_report(run_dir).resolve().as_uri()
    dom = chromium("--dump-dom", page, tmp=tmp_path).stdout
    assert dom.count('<svg class="plot"') == 6 and dom.count('class="line') >= 12
    assert '<svg class="heatmap"' in dom and dom.count("<rect") >= 16
    assert '<table class="eval">' in dom and '<table class="bycat">' in dom and '<table class="mix">' in dom
    assert dom.count("<circle") >= 6  # the interval plots' points
    shot = tmp_path / "report.png"
    chromium(f"--screenshot={shot}", "--window-size=1280,2400", page, tmp=tmp_path)
    assert png_size(shot) == (1280, 2400)
    assert shot.stat().st_size > 50_000  # a page of charts, not a blank one
