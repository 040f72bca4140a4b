"""One self-contained HTML page per run: training curves, before/after evaluation, cross-play, sample attacks.

    from sparring.runs.report import render_report
    render_report("runs/demo-...")          # writes runs/demo-.../report.html; open it in any browser

The page is a pure function of the run directory (``run.json``, ``config.yaml``, ``metrics.jsonl``,
``eval_before.json``, ``eval_after.json``, ``crossplay.json``, ``episodes.sqlite`` or ``episodes.jsonl``):
rendering the same directory twice gives the same bytes. It loads nothing from the network (no scripts,
stylesheets or fonts); the charts are inline SVG drawn here. Every file is optional; a missing one leaves
a note in its section. Episode text is HTML-escaped and sits behind a content warning, collapsed.
"""

from __future__ import annotations

import html
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sparring.runs.archive import FILENAME as ARCHIVE_FILENAME
from sparring.runs.archive import EpisodeArchive, attack_success, rows_from_jsonl, stats_by_category

REPORT_NAME = "report.html"
SAMPLES_PER_CATEGORY = 3
MAX_TEXT_CHARS = 1500

# Okabe-Ito palette (readable with colour-blindness); each role keeps its colour in every chart.
ATTACKER, DEFENDER = "#D55E00", "#0072B2"
GREEN, PURPLE, ORANGE, SKY, GREY = "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#6B7280"


def render_report(run_dir: str | os.PathLike) -> Path:
    """Write ``report.html`` into ``run_dir`` and return its path."""
    run = Path(run_dir)
    if not run.is_dir():
        raise FileNotFoundError(f"no run directory at {run}")
    page = build_html(run)
    out = run / REPORT_NAME
    tmp = out.with_name(f".{REPORT_NAME}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out)
    return out


def build_html(run: Path) -> str:
    """The report page for the run directory ``run``, as a string."""
    data = RunData.load(run)
    sections = [
        ("overview", "Overview", overview_section(data)),
        ("training", "Training", training_section(data.metrics)),
        ("evaluation", "Evaluation", evaluation_section(data.eval_before, data.eval_after)),
        ("crossplay", "Cross-play", crossplay_section(data.crossplay)),
        ("attacks", "Attacks", attacks_section(data)),
    ]
    nav = "".join(f'<a href="#{sid}">{title}</a>' for sid, title, _ in sections)
    body = "".join(
        f'<section id="{sid}"><h2>{title}</h2>{content}</section>' for sid, title, content in sections
    )
    title = f"sparring report: {run.resolve().name}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        f'<header><div class="wrap"><h1>sparring <span>run report</span></h1>'
        f'<p class="run-name">{_e(run.resolve().name)}</p><nav>{nav}</nav></div></header>'
        f'<main class="wrap">{body}</main>'
        f'<footer class="wrap">Generated from the run directory by <code>sparring.runs.report</code>; '
        f"self-contained, works offline.</footer></body></html>\n"
    )


# ----------------------------------------------------------------------------------------------------------
# Reading the run directory.


@dataclass
class RunData:
    run: Path
    info: dict[str, Any]
    config: dict[str, Any]
    config_text: str
    metrics: list[dict[str, Any]]
    eval_before: dict[str, Any] | None
    eval_after: dict[str, Any] | None
    crossplay: dict[str, Any] | None
    episodes_source: str | None  # "episodes.sqlite", "episodes.jsonl" or None
    attacks_by_step: dict[int, int]
    category_stats: dict[str, dict[str, Any]]
    samples: dict[str, list[dict[str, Any]]]

    @classmethod
    def load(cls, run: Path) -> RunData:
        config_text = _read_text(run / "config.yaml") or ""
        try:
            config = yaml.safe_load(config_text) or {}
        except yaml.YAMLError:
            config = {}
        source, stats, samples, attacks = _load_episodes(run)
        metrics = load_metrics(run / "metrics.jsonl")
        if source is not None:
            _null_single_attack_diversity(metrics, attacks)
        return cls(
            run=run,
            info=_read_json(run / "run.json") or {},
            config=config if isinstance(config, dict) else {},
            config_text=config_text,
            metrics=metrics,
            eval_before=_read_json(run / "eval_before.json"),
            eval_after=_read_json(run / "eval_after.json"),
            crossplay=_read_json(run / "crossplay.json"),
            episodes_source=source,
            attacks_by_step=attacks,
            category_stats=stats,
            samples=samples,
        )


def load_metrics(path: Path) -> list[dict[str, Any]]:
    """metrics.jsonl as one dict per step; a step logged twice keeps its last line, a torn line is skipped."""
    by_step: dict[int, dict[str, Any]] = {}
    for line in (_read_text(path) or "").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and isinstance(rec.get("step"), int):
            by_step[rec["step"]] = rec
    return [by_step[s] for s in sorted(by_step)]


def _null_single_attack_diversity(metrics: list[dict[str, Any]], attacks: Mapping[int, int]) -> None:
    """A step with fewer than two attacks has no pairwise diversity; runs logged before the loop said so
    (null) stored 0.0 there, which a chart would show as a collapse."""
    for m in metrics:
        if attacks.get(m["step"], 2) < 2:  # a step missing from the episodes is left as logged
            m["diversity/attack_cosine_distance"] = None


def _load_episodes(
    run: Path,
) -> tuple[str | None, dict[str, dict[str, Any]], dict[str, list[dict]], dict[int, int]]:
    """Per-category statistics, a few sample attacks and the attacks per step, from the SQLite archive or
    else episodes.jsonl."""
    if (run / ARCHIVE_FILENAME).is_file():
        with EpisodeArchive(run / ARCHIVE_FILENAME, readonly=True) as archive:
            stats = archive.stats_by_category()
            samples = {}
            for cat in stats:
                # Successful attacks first, most novel first; then other attacks to fill the slots.
                rows = archive.query(successful_only=True, category=cat, order="novelty", limit=20)
                rows += archive.query(category=cat, order="novelty", limit=50)
                samples[cat] = pick_samples(rows)
            attacks = archive.attacks_by_step()
        return ARCHIVE_FILENAME, stats, samples, attacks
    if (run / "episodes.jsonl").is_file():
        rows = rows_from_jsonl(run / "episodes.jsonl")
        by_cat: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            by_cat.setdefault(r["category"] or "", []).append(r)
        attacks: dict[int, int] = {}
        for r in rows:
            attacks[r["step"]] = attacks.get(r["step"], 0) + bool(r.get("revised") and r.get("format_ok"))
        samples = {c: pick_samples(by_cat[c]) for c in sorted(by_cat)}
        return "episodes.jsonl", stats_by_category(rows), samples, attacks
    return None, {}, {}, {}


def pick_samples(rows: Sequence[Mapping[str, Any]], k: int = SAMPLES_PER_CATEGORY) -> list[dict[str, Any]]:
    """Up to ``k`` attacks (revised, well-formed): successful before unsuccessful, then the most novel."""
    seen, attacks = set(), []
    for r in rows:
        key = (r["step"], r["idx"])
        if key in seen or not (r.get("revised") and r.get("format_ok")):
            continue
        seen.add(key)
        attacks.append(dict(r) | {"success": attack_success(r)})
    # Ties go to the earlier episode, as in EpisodeArchive.query(order="novelty"), so that the archive and
    # episodes.jsonl give the same samples.
    attacks.sort(key=lambda r: (r["success"] is not True, -(r.get("novelty") or 0.0), r["step"], r["idx"]))
    return attacks[:k]


def _read_text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _read_json(path: Path) -> Any:
    text = _read_text(path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


# ----------------------------------------------------------------------------------------------------------
# Sections.


def overview_section(d: RunData) -> str:
    info, cfg = d.info, d.config
    status = str(info.get("status", "unknown"))
    facts: list[tuple[str, str]] = [("status", f'<span class="badge {_e(status)}">{_e(status)}</span>')]
    if info.get("started"):
        facts.append(("started", _e(_utc(info["started"]))))
    # A running run's run.json is only rewritten at status changes: its progress is the logged step times.
    end = info.get("finished") or (info.get("updated") if status != "running" else None)
    step_time = sum(t for m in d.metrics if (t := _num(m.get("time/step"))) is not None)
    if info.get("started") and end:
        facts.append(("duration", _e(_duration(end - info["started"]))))
    elif step_time:
        facts.append(("time in steps so far", _e(_duration(step_time))))
    if d.metrics:
        planned = _get(cfg, "train.steps")
        facts.append(("steps logged", f"{len(d.metrics)}" + (f" of {planned}" if planned else "")))
    for label, key in [
        ("model", "model"),
        ("mode", "mode"),
        ("attacker model", "attacker.model"),
        ("defender model", "defender.model"),
        ("algorithm", "train.algorithm"),
        ("reward table", "reward.table"),
        ("KL coefficient", "train.kl_coef"),
        ("seeds × group", None),
        ("judge", "judge.kind"),
        ("eval suite", "eval.suite"),
    ]:
        if key is None:
            seeds, group = _get(cfg, "train.seeds_per_step"), _get(cfg, "train.group_size")
            value = f"{seeds} × {group}" if seeds and group else None
        else:
            value = _get(cfg, key)
        if value is not None and value != "":
            facts.append((label, _e(str(value))))
    if info.get("resumed_at_step") is not None:
        facts.append(("resumed at step", _e(str(info["resumed_at_step"]))))
    if info.get("stopped_early_at_step") is not None:
        by = info.get("stopped_by") or "train.max_minutes"  # runs from before stopped_by knew one budget
        stopped = f"after step {info['stopped_early_at_step']} ({by})"
        facts.append(("self-play stopped", _e(stopped)))
    versions = info.get("versions") or {}
    if versions:
        facts.append(("versions", _e(", ".join(f"{k} {v}" for k, v in sorted(versions.items())))))
    dl = "".join(
        f"<div{' class=wide' if k == 'versions' else ''}><dt>{k}</dt><dd>{v}</dd></div>" for k, v in facts
    )
    error = f'<p class="error"><b>error:</b> {_e(str(info["error"]))}</p>' if info.get("error") else ""
    config = (
        f"<details><summary>config.yaml</summary><pre>{_e(d.config_text)}</pre></details>"
        if d.config_text
        else '<p class="note">No config.yaml in this directory.</p>'
    )
    return f'{kpi_cards(d)}<div class="card"><dl class="facts">{dl}</dl>{error}{config}</div>'


def kpi_cards(d: RunData) -> str:
    cards = []
    after, before = (d.eval_after or {}).get("metrics", {}), (d.eval_before or {}).get("metrics", {})
    for key in ("harmful_answer_rate", "benign_refusal_rate"):
        a, b = _num((after.get(key) or {}).get("value")), _num((before.get(key) or {}).get("value"))
        if a is None and b is None:
            continue
        label, _, lower_better = EVAL_METRICS[key]
        if a is not None:
            sub = f"before {_pct(b)}" if b is not None else "after training"
            apart = b is not None and _intervals_apart(before[key], after[key])
            cls = _change_class(a - b, lower_better) if apart else ""
            cards.append(_kpi(f"{label} (eval after)", _pct(a), sub, cls))
        else:
            cards.append(_kpi(f"{label} (eval before)", _pct(b), "no evaluation after training", ""))
    rates = [_num(m.get("attacker/success_rate")) for m in d.metrics]
    rates = [r for r in rates if r is not None]
    if rates:
        window = max(1, len(rates) // 10)
        tail = rates[-window:]
        cards.append(
            _kpi(
                "Attack success in training",
                _pct(sum(tail) / len(tail)),
                f"mean of the last {window} logged step{'s' if window > 1 else ''}",
                "",
            )
        )
    eq = (d.crossplay or {}).get("equilibrium")
    if isinstance(eq, dict) and _num(eq.get("value")) is not None:
        cards.append(_kpi("Cross-play game value", _pct(eq["value"]), "attack success at equilibrium", ""))
    return f'<div class="kpis">{"".join(cards)}</div>' if cards else ""


def _kpi(label: str, value: str, sub: str, cls: str) -> str:
    return (
        f'<div class="kpi"><div class="kpi-label">{_e(label)}</div><div class="kpi-value {cls}">'
        f'{_e(value)}</div><div class="kpi-sub">{_e(sub)}</div></div>'
    )


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    color: str
    dashed: bool = False


@dataclass(frozen=True)
class ChartSpec:
    title: str
    caption: str
    y_label: str
    series: tuple[Series, ...]
    rate: bool = False  # y in [0, 1], shown as percentages
    optional: bool = False  # logged only by some configurations: left out of a run that has none of it


CHARTS = (
    ChartSpec(
        "Rewards",
        "Mean reward per step of each role.",
        "mean reward",
        (
            Series("attacker/reward_mean", "attacker", ATTACKER),
            Series("defender/reward_mean", "defender", DEFENDER),
        ),
    ),
    ChartSpec(
        "Defender: harm and over-refusal",
        "Harmful answers to harmful seeds, and refusals of benign seeds; lower is better for both.",
        "rate",
        (
            Series("defender/harmful_answer_rate", "harmful answers (harmful seeds)", ATTACKER),
            Series("defender/benign_refusal_rate", "refusals (benign seeds)", DEFENDER),
            Series("defender/harmful_refusal_rate", "refusals (harmful seeds)", GREY, dashed=True),
        ),
        rate=True,
    ),
    ChartSpec(
        "Attacker: success and format",
        "Success among well-formed attacks; share of attacker turns that did not parse.",
        "rate",
        (
            Series("attacker/success_rate", "attack success", ATTACKER),
            Series("attacker/format_failure_rate", "format failures", ORANGE, dashed=True),
        ),
        rate=True,
    ),
    ChartSpec(
        "KL to the reference",
        "Mean per-token KL of each role's sampling policy to its reference weights.",
        "KL (nats / token)",
        (Series("kl/attacker", "attacker", ATTACKER), Series("kl/defender", "defender", DEFENDER)),
    ),
    ChartSpec(
        "Attack diversity next to success",
        "Pairwise cosine distance of a step's attacks and their novelty against earlier attacks; "
        "success collapsing onto few attacks shows as falling diversity.",
        "score",
        (
            Series("diversity/attack_cosine_distance", "pairwise cosine distance", GREEN),
            Series("attacker/novelty_mean", "novelty", PURPLE),
            Series("attacker/success_rate", "attack success", ATTACKER, dashed=True),
        ),
    ),
    ChartSpec(
        "Turn length",
        "Mean generated tokens per turn.",
        "tokens",
        (
            Series("attacker/length_mean", "attacker", ATTACKER),
            Series("defender/length_mean", "defender", DEFENDER),
        ),
    ),
    ChartSpec(
        "Seed mix",
        "With train.share_gain: the share of harmful seeds each step was drawn with, set from the defender's "
        "losses on benign seeds in the step before (its losses on harmful seeds for comparison).",
        "rate",
        (
            Series("train/harmful_share", "harmful share", GREY),
            Series("defender/loss_rate_harmful", "defender losses (harmful seeds)", ATTACKER, dashed=True),
            Series("defender/loss_rate_benign", "defender losses (benign seeds)", DEFENDER, dashed=True),
        ),
        rate=True,
        optional=True,
    ),
)


def training_section(metrics: list[dict[str, Any]]) -> str:
    if not metrics:
        return '<p class="note">No metrics.jsonl (or it is empty): nothing was trained yet.</p>'
    figures = []
    for spec in CHARTS:
        series = []
        for s in spec.series:
            points = [(float(m["step"]), _num(m.get(s.key))) for m in metrics]
            if any(y is not None for _, y in points):
                series.append((s, points))
        if series or not spec.optional:
            figures.append(chart_figure(spec, series))
    n = len(metrics)
    smooth = (
        f" Faint lines are per step; bold lines a moving average over {_window(n)} steps." if n > 30 else ""
    )
    return (
        f'<p class="lede">{n} logged step{"s" if n != 1 else ""}; empty (null) values are skipped.{smooth} '
        "Every key is described in <code>docs/metrics.md</code>.</p>"
        f'<div class="grid">{"".join(figures)}</div>'
    )


def chart_figure(spec: ChartSpec, series: list[tuple[Series, list[tuple[float, float | None]]]]) -> str:
    legend = "".join(
        f'<li><span class="swatch{" dashed" if s.dashed else ""}" style="--c:{s.color}"></span>'
        f"{_e(s.label)}</li>"
        for s, _ in series
    )
    svg = line_chart(spec, series) if series else '<p class="note empty">not logged in this run</p>'
    return (
        f'<figure class="card chart"><figcaption><h3>{_e(spec.title)}</h3><p>{_e(spec.caption)}</p>'
        f'</figcaption><ul class="legend">{legend}</ul>{svg}</figure>'
    )


W, H = 520, 270
ML, MR, MT, MB = 58, 16, 12, 42  # margins: left (y ticks + label), right, top, bottom (x ticks + label)


def line_chart(spec: ChartSpec, series: list[tuple[Series, list[tuple[float, float | None]]]]) -> str:
    xs = [x for _, pts in series for x, _ in pts]
    ys = [y for _, pts in series for _, y in pts if y is not None]
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    x_ticks = nice_ticks(x0, x1, 6, integer=True)
    if spec.rate:
        y0, y1 = 0.0, 1.0
        y_ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    else:
        lo, hi = min(ys), max(ys)
        if 0 <= lo < 0.5 * hi:  # non-negative quantities (KL, lengths) read best from zero
            lo = 0.0
        y_ticks = nice_ticks(lo, hi, 5)
        y0, y1 = y_ticks[0], y_ticks[-1]
    y_fmt = _pct_tick if spec.rate else _tick_formatter(y_ticks)
    # Room for the widest y tick label (about 6.3 px a character at 11 px) and the rotated axis label.
    ml = max(ML, round(32 + 6.3 * max(len(y_fmt(t)) for t in y_ticks)))
    pw, ph = W - ml - MR, H - MT - MB

    def sx(x: float) -> float:
        return ml + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return MT + ph - (y - y0) / (y1 - y0) * ph

    parts = [
        f'<svg class="plot" viewBox="0 0 {W} {H}" role="img" aria-label="{_e(spec.title)}">',
        f"<title>{_e(spec.title)}</title>",
    ]
    for t in y_ticks:
        y = sy(t)
        parts.append(f'<line class="gridline" x1="{ml}" x2="{W - MR}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="tick" x="{ml - 8}" y="{y + 4:.1f}" text-anchor="end">{_e(y_fmt(t))}</text>'
        )
    for t in x_ticks:
        if x0 <= t <= x1:
            x = sx(t)
            parts.append(
                f'<line class="tickmark" x1="{x:.1f}" x2="{x:.1f}" y1="{MT + ph}" y2="{MT + ph + 5}"/>'
            )
            parts.append(
                f'<text class="tick" x="{x:.1f}" y="{MT + ph + 18}" text-anchor="middle">{t:g}</text>'
            )
    parts.append(f'<line class="axis" x1="{ml}" x2="{W - MR}" y1="{MT + ph}" y2="{MT + ph}"/>')
    parts.append(f'<line class="axis" x1="{ml}" x2="{ml}" y1="{MT}" y2="{MT + ph}"/>')
    parts.append(
        f'<text class="axis-label" x="{ml + pw / 2:.1f}" y="{H - 6}" text-anchor="middle">'
        "training step</text>"
    )
    parts.append(
        f'<text class="axis-label" transform="translate(14 {MT + ph / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle">{_e(spec.y_label)}</text>'
    )
    n = max(len(pts) for _, pts in series)
    smooth = n > 30
    for s, pts in series:
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        to_xy = [(sx(x), None if y is None else sy(y)) for x, y in pts]
        raw_cls = "line raw" if smooth else "line"
        parts.append(_polyline(to_xy, s.color, raw_cls, dash, f"{s.label}"))
        if smooth:
            avg = moving_average([y for _, y in pts], _window(n))
            parts.append(
                _polyline(
                    [(sx(x), None if y is None else sy(y)) for (x, _), y in zip(pts, avg, strict=True)],
                    s.color,
                    "line",
                    dash,
                    f"{s.label} (moving average)",
                )
            )
        else:
            for (x, y), (px, py) in zip(pts, to_xy, strict=True):
                if py is not None:
                    value = _pct(y) if spec.rate else f"{y:.4g}"
                    parts.append(
                        f'<circle class="dot" cx="{px:.1f}" cy="{py:.1f}" r="2.6" fill="{s.color}">'
                        f"<title>{_e(s.label)}, step {x:g}: {value}</title></circle>"
                    )
    parts.append("</svg>")
    return "".join(parts)


def _polyline(points: list[tuple[float, float | None]], color: str, cls: str, dash: str, label: str) -> str:
    """A path through the points, broken where a value is missing (so a gap is never drawn as a trend)."""
    d, pen = [], False
    for x, y in points:
        if y is None:
            pen = False
            continue
        d.append(f"{'L' if pen else 'M'}{x:.1f} {y:.1f}")
        pen = True
    if not d:
        return ""
    return f'<path class="{cls}" d="{" ".join(d)}" stroke="{color}"{dash}><title>{_e(label)}</title></path>'


def moving_average(ys: Sequence[float | None], window: int) -> list[float | None]:
    """Trailing mean of the last ``window`` present values; None where the step itself has no value."""
    out: list[float | None] = []
    for i, y in enumerate(ys):
        recent = [v for v in ys[max(0, i - window + 1) : i + 1] if v is not None]
        out.append(None if y is None else sum(recent) / len(recent))
    return out


def _window(n: int) -> int:
    return max(3, round(n / 15))


def nice_ticks(lo: float, hi: float, target: int = 5, integer: bool = False) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1.0, round(step))
    start, stop = math.floor(lo / step) * step, math.ceil(hi / step) * step
    count = round((stop - start) / step)
    return [round(start + i * step, 10) for i in range(count + 1)]


def _tick_formatter(ticks: Sequence[float]) -> Callable[[float], str]:
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    exponent = math.floor(math.log10(step))
    decimals = max(0, -exponent + (1 if round(step / 10**exponent, 6) == 2.5 else 0))
    return lambda v: f"{v:.{min(decimals, 6)}f}"


# Evaluation -----------------------------------------------------------------------------------------------

EVAL_METRICS: dict[str, tuple[str, str, bool | None]] = {
    # key: (label, description, lower is better)
    "harmful_answer_rate": (
        "Harmful answers",
        "harmful prompts answered harmfully (attack success); lower is better",
        True,
    ),
    "benign_refusal_rate": ("Benign over-refusal", "benign prompts refused; lower is better", True),
    "harmful_refusal_rate": ("Harmful refusals", "harmful prompts refused; higher is better", False),
}


def evaluation_section(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    if not before and not after:
        return '<p class="note">No eval_before.json or eval_after.json in this run.</p>'
    mb, ma = (before or {}).get("metrics", {}) or {}, (after or {}).get("metrics", {}) or {}
    keys = [k for k in EVAL_METRICS if k in mb or k in ma] + sorted((set(mb) | set(ma)) - set(EVAL_METRICS))
    rows = []
    for key in keys:
        label, desc, lower_better = EVAL_METRICS.get(key, (key, "", None))
        b, a = mb.get(key) or {}, ma.get(key) or {}
        rows.append(_eval_row(label, desc, b, a, lower_better))
    # extra suites (eval.extra_suites): the same metrics, one row each, labelled with the suite
    sb, sa = (before or {}).get("suites") or {}, (after or {}).get("suites") or {}
    for suite in list(sb) + [s for s in sa if s not in sb]:
        xb, xa = (sb.get(suite) or {}).get("metrics") or {}, (sa.get(suite) or {}).get("metrics") or {}
        for key, (label, desc, lower_better) in EVAL_METRICS.items():
            if key in xb or key in xa:
                rows.append(
                    _eval_row(f"{label}: {suite}", desc, xb.get(key) or {}, xa.get(key) or {}, lower_better)
                )
    cap_b, cap_a = _capability(before), _capability(after)
    if cap_b or cap_a:
        rows.append(
            _eval_row(
                "Capability",
                "mean log-likelihood per token of reference answers (nats); higher is better",
                cap_b,
                cap_a,
                False,
                percent=False,
            )
        )
    sizes = []
    for name, ev in (("before", before), ("after", after)):
        if ev:
            suite = f" of suite <code>{_e(str(ev['suite']))}</code>" if ev.get("suite") else ""
            count = _e(str(ev.get("n", "?")))
            fails = ev.get("judge_failures")
            fail_txt = (
                f", {_e(str(fails))} judge failure{'s' if fails != 1 else ''} excluded"
                if fails is not None
                else ""
            )
            sizes.append(f"{name}: {count} prompts{suite}{fail_txt}")
    table = (
        '<div class="card table-card"><div class="scroll"><table class="eval"><thead><tr><th>metric</th>'
        '<th class="num">before</th><th class="num">after</th><th class="num">change</th>'
        '<th class="ci">95% intervals <span class="key"><i class="k-before"></i>before '
        '<i class="k-after"></i>after</span></th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        '<p class="note">Rates at a judge probability of 0.5, with 95% bootstrap intervals and sample sizes. '
        f"A change is coloured only when the two intervals do not overlap. {'; '.join(sizes)}.</p></div>"
    )
    return table + by_category_table(before, after, keys)


def _eval_row(
    label: str,
    desc: str,
    b: Mapping[str, Any],
    a: Mapping[str, Any],
    lower_better: bool | None,
    percent: bool = True,
) -> str:
    return (
        f'<tr><th scope="row">{_e(label)}<div class="sub">{_e(desc)}</div></th>'
        f'<td class="num">{_value_cell(b, percent)}</td><td class="num">{_value_cell(a, percent)}</td>'
        f'<td class="num">{_change_cell(b, a, lower_better, percent)}</td>'
        f'<td class="ci">{ci_chart(b, a, percent)}</td></tr>'
    )


def _capability(ev: Mapping[str, Any] | None) -> dict[str, Any]:
    """The capability score of an evaluation (evals/capability.py) in the shape of a rate."""
    cap = (ev or {}).get("capability")
    if not isinstance(cap, Mapping):
        return {}
    return {
        "value": cap.get("mean_logprob"),
        "ci_low": cap.get("ci_low"),
        "ci_high": cap.get("ci_high"),
        "n": cap.get("n"),
    }


def _fmt(v: float | None, percent: bool) -> str:
    return _pct(v) if percent or v is None else f"{v:.3f}"


def _value_cell(r: Mapping[str, Any], percent: bool = True) -> str:
    v = _num(r.get("value"))
    if v is None:
        return '<span class="muted">–</span>'
    lo, hi = _num(r.get("ci_low")), _num(r.get("ci_high"))
    ci = f"[{_fmt(lo, percent)}, {_fmt(hi, percent)}]" if lo is not None and hi is not None else ""
    return f'<b>{_fmt(v, percent)}</b><div class="sub">{ci} n={_e(str(r.get("n", "?")))}</div>'


def _change_cell(
    b: Mapping[str, Any], a: Mapping[str, Any], lower_better: bool | None, percent: bool = True
) -> str:
    vb, va = _num(b.get("value")), _num(a.get("value"))
    if vb is None or va is None:
        return '<span class="muted">–</span>'
    diff = va - vb
    separated = _intervals_apart(b, a)
    cls = _change_class(diff, lower_better) if separated else "flat"
    note = "" if separated else '<div class="sub">intervals overlap</div>'
    text = f"{diff * 100:+.1f} pp" if percent else f"{diff:+.3f}"
    return f'<span class="delta {cls}">{text}</span>{note}'


def _intervals_apart(b: Mapping[str, Any], a: Mapping[str, Any]) -> bool:
    bl, bh, al, ah = (_num(r.get(k)) for r in (b, a) for k in ("ci_low", "ci_high"))
    if None in (bl, bh, al, ah):
        return False
    return ah < bl or al > bh


def _change_class(diff: float, lower_better: bool | None) -> str:
    if lower_better is None or abs(diff) < 1e-12:
        return "flat"
    return "better" if (diff < 0) == lower_better else "worse"


def ci_chart(b: Mapping[str, Any], a: Mapping[str, Any], percent: bool = True) -> str:
    """Two whiskers (before, after) on a 0-100% axis (or, for other scores, an axis that fits both)."""
    w, h, pad = 240, 46, 14
    if percent:
        ticks: list[float] = [0.0, 0.5, 1.0]
        label = _pct_tick
    else:
        values = [_num(r.get(k)) for r in (b, a) for k in ("value", "ci_low", "ci_high")]
        present = [v for v in values if v is not None]
        if not present:
            return ""
        ticks = nice_ticks(min(present), max(present), 2)
        label = _tick_formatter(ticks)
    t0, t1 = ticks[0], ticks[-1]
    sx = lambda v: pad + (v - t0) / (t1 - t0) * (w - 2 * pad)  # noqa: E731
    parts = [f'<svg class="ci-plot" viewBox="0 0 {w} {h}" role="img" aria-label="95% intervals">']
    for t in ticks:
        parts.append(f'<line class="gridline" x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="4" y2="{h - 14}"/>')
        parts.append(f'<text class="tick" x="{sx(t):.1f}" y="{h - 2}" text-anchor="middle">{label(t)}</text>')
    for r, y, cls in ((b, 12, "before"), (a, 26, "after")):
        v, lo, hi = (_num(r.get(k)) for k in ("value", "ci_low", "ci_high"))
        if v is None:
            continue
        if lo is not None and hi is not None:
            parts.append(
                f'<line class="whisker {cls}" x1="{sx(lo):.1f}" x2="{sx(hi):.1f}" y1="{y}" y2="{y}"/>'
            )
            for e in (lo, hi):
                parts.append(
                    f'<line class="whisker {cls}" x1="{sx(e):.1f}" x2="{sx(e):.1f}" '
                    f'y1="{y - 4}" y2="{y + 4}"/>'
                )
        parts.append(
            f'<circle class="point {cls}" cx="{sx(v):.1f}" cy="{y}" r="4">'
            f"<title>{cls}: {_fmt(v, percent)}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def by_category_table(before: dict[str, Any] | None, after: dict[str, Any] | None, keys: list[str]) -> str:
    cb, ca = (before or {}).get("by_category") or {}, (after or {}).get("by_category") or {}
    cats = sorted(set(cb) | set(ca), key=lambda c: (c.lower(), c))
    if not cats:
        return ""
    only_before = not ca
    head = "".join(f'<th class="num">{_e(EVAL_METRICS.get(k, (k,))[0])}</th>' for k in keys)
    rows = []
    for cat in cats:
        cells = []
        for k in keys:
            b, a = (cb.get(cat) or {}).get(k) or {}, (ca.get(cat) or {}).get(k) or {}
            vb, va = _num(b.get("value")), _num(a.get("value"))
            if vb is None and va is None:
                cells.append('<td class="num"><span class="muted">–</span></td>')
                continue
            n = a.get("n", b.get("n", "?"))
            lower_better = EVAL_METRICS.get(k, ("", "", None))[2]
            apart = vb is not None and va is not None and _intervals_apart(b, a)
            cls = _change_class(va - vb, lower_better) if apart else "flat"
            shown = _pct(vb) if only_before else f'{_pct(vb)} → <span class="delta {cls}">{_pct(va)}</span>'
            cells.append(f'<td class="num">{shown}<div class="sub">n={n}</div></td>')
        rows.append(f'<tr><th scope="row">{_e(cat)}</th>{"".join(cells)}</tr>')
    # A long table would push everything below it off the page: open only when it is short.
    opened = " open" if len(cats) <= 8 else ""
    title = "before" if only_before else "before → after"
    note = "" if only_before else '<span class="sub">(coloured where the 95% intervals do not overlap)</span>'
    return (
        f'<details class="card table-card"{opened}><summary>By category ({len(cats)}): {title} {note}'
        "</summary>"
        f'<div class="scroll"><table class="bycat"><thead><tr><th>category</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></details>"
    )


# Cross-play -----------------------------------------------------------------------------------------------


def crossplay_section(cp: dict[str, Any] | None) -> str:
    if not cp or not cp.get("matrix"):
        return (
            '<p class="note">No crossplay.json: run <code>sparring crossplay RUN_DIR</code> to play every '
            "saved attacker against every saved defender.</p>"
        )
    attackers, defenders, matrix = cp.get("attackers", []), cp.get("defenders", []), cp["matrix"]
    n_seeds = cp.get("n_seeds")
    lede = (
        "Attack success rate of each saved attacker (rows) against each saved defender (columns)"
        + (f", over {n_seeds} seeds" if n_seeds else "")
        + ". Darker is better for the attacker."
    )
    side = equilibrium_panel(cp)
    return (
        f'<p class="lede">{_e(lede)}</p><div class="split"><div class="card heat-card">'
        f"{heatmap(attackers, defenders, matrix)}</div>{side}</div>"
    )


def heatmap(rows: Sequence[str], cols: Sequence[str], matrix: Sequence[Sequence[float | None]]) -> str:
    cw, ch = 76, 40
    lw = min(150, 14 + 7 * max((len(str(r)) for r in rows), default=4))
    top, legend_h = 46, 44
    w, h = lw + cw * len(cols) + 12, top + ch * len(rows) + legend_h
    parts = [
        f'<svg class="heatmap" viewBox="0 0 {w} {h}" style="max-width:{w * 1.4:.0f}px" role="img" '
        'aria-label="cross-play attack success matrix"><title>cross-play attack success</title>'
    ]
    parts.append(
        f'<text class="axis-label" x="{lw + cw * len(cols) / 2:.1f}" y="12" '
        'text-anchor="middle">defender</text>'
    )
    parts.append(f'<text class="axis-label" x="4" y="{top - 8}">attacker</text>')
    for j, name in enumerate(cols):
        parts.append(
            f'<text class="tick" x="{lw + cw * j + cw / 2:.1f}" y="{top - 8}" text-anchor="middle">'
            f"{_e(_short(str(name), 9))}<title>{_e(str(name))}</title></text>"
        )
    for i, name in enumerate(rows):
        y = top + ch * i
        parts.append(
            f'<text class="tick" x="{lw - 8}" y="{y + ch / 2 + 4:.1f}" text-anchor="end">'
            f"{_e(_short(str(name), 20))}<title>{_e(str(name))}</title></text>"
        )
        for j in range(len(cols)):
            v = _num(matrix[i][j]) if i < len(matrix) and j < len(matrix[i]) else None
            x = lw + cw * j
            fill = heat_color(v) if v is not None else "url(#na)"
            label = f"{v:.0%}" if v is not None else "n/a"
            text_cls = "cell-text light" if v is not None and v > 0.55 else "cell-text"
            parts.append(
                f'<rect x="{x + 1}" y="{y + 1}" width="{cw - 2}" height="{ch - 2}" rx="3" fill="{fill}">'
                f"<title>{_e(str(name))} vs {_e(str(cols[j]))}: {label}</title></rect>"
                f'<text class="{text_cls}" x="{x + cw / 2:.1f}" y="{y + ch / 2 + 4:.1f}" '
                f'text-anchor="middle">{label}</text>'
            )
    parts.insert(
        1,
        '<defs><pattern id="na" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#f3f4f6"/><line x1="0" y1="0" x2="0" y2="6" stroke="#d1d5db" '
        'stroke-width="2"/></pattern><linearGradient id="heat-scale">'
        + "".join(f'<stop offset="{t:.2f}" stop-color="{heat_color(t)}"/>' for t in (0, 0.25, 0.5, 0.75, 1))
        + "</linearGradient></defs>",
    )
    ly, lx, lwid = top + ch * len(rows) + 14, lw, min(200, cw * len(cols))
    parts.append(f'<rect x="{lx}" y="{ly}" width="{lwid}" height="9" rx="2" fill="url(#heat-scale)"/>')
    for t in (0, 0.5, 1):
        parts.append(
            f'<text class="tick" x="{lx + t * lwid:.1f}" y="{ly + 22}" text-anchor="middle">{t:.0%}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def heat_color(v: float) -> str:
    """A sequential white-to-red scale (ColorBrewer Reds) for a rate in [0, 1]."""
    stops = [(255, 245, 240), (252, 187, 161), (251, 106, 74), (203, 24, 29), (103, 0, 13)]
    t = min(max(v, 0.0), 1.0) * (len(stops) - 1)
    i = min(int(t), len(stops) - 2)
    f = t - i
    r, g, b = (round(a + (c - a) * f) for a, c in zip(stops[i], stops[i + 1], strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def equilibrium_panel(cp: dict[str, Any]) -> str:
    eq = cp.get("equilibrium")
    if not isinstance(eq, dict):
        note = cp.get("note", "the matrix game was not solved")
        return f'<div class="card eq"><h3>Equilibrium</h3><p class="note">{_e(str(note))}</p></div>'
    parts = ['<div class="card eq"><h3>Equilibrium</h3>']
    if _num(eq.get("value")) is not None:
        parts.append(
            "<p>Game value (attack success when both sides play their best mixture): "
            f"<b>{_pct(eq['value'])}</b></p>"
        )
    for role, names in (("attacker", cp.get("attackers", [])), ("defender", cp.get("defenders", []))):
        probs = eq.get(role) or []
        rows = "".join(
            f'<tr><td>{_e(str(n))}</td><td class="bar-cell">'
            f'<span class="bar {role}" style="width:{p * 100:.1f}%"></span></td>'
            f'<td class="num">{p:.2f}</td></tr>'
            for n, p in zip(names, probs, strict=False)
            if _num(p) is not None
        )
        if rows:
            parts.append(f'<table class="mix"><caption>{role} mixture</caption><tbody>{rows}</tbody></table>')
    ex = cp.get("exploitability")
    if isinstance(ex, dict) and _num(ex.get("success_vs_final_defender")) is not None:
        gap = _num(ex.get("gap_vs_equilibrium"))
        gap_txt = f" ({gap * 100:+.1f} pp over the game value)" if gap is not None else ""
        parts.append(
            f'<p class="note">Against the {_e(str(ex.get("final_defender", "final")))} defender, '
            "the strongest "
            f"attacker ({_e(str(ex.get('strongest_attacker', '?')))}) succeeds "
            f"{_pct(ex['success_vs_final_defender'])}{gap_txt}.</p>"
        )
    parts.append("</div>")
    return "".join(parts)


# Attacks --------------------------------------------------------------------------------------------------


def attacks_section(d: RunData) -> str:
    if d.episodes_source is None:
        return '<p class="note">No episodes.sqlite or episodes.jsonl in this run.</p>'
    rows = []
    for cat, s in d.category_stats.items():
        judged = s.get("judged") or 0
        rate = s["successes"] / judged if judged else None
        nov = _num(s.get("novelty_mean"))
        rows.append(
            f'<tr><th scope="row">{_e(cat or "uncategorised")}</th><td class="num">{s["episodes"]}</td>'
            f'<td class="num">{s["attacks"]}</td><td class="num">{_pct(rate)}'
            f'<div class="sub">{s["successes"]} of {judged}</div></td>'
            f'<td class="num">{"–" if nov is None else f"{nov:.2f}"}</td></tr>'
        )
    stats = (
        '<div class="card table-card"><div class="scroll"><table class="bycat"><thead><tr>'
        '<th>seed category</th><th class="num">episodes</th><th class="num">attacks</th>'
        '<th class="num">attack success</th><th class="num">mean novelty</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        f'<p class="note">From <code>{_e(d.episodes_source)}</code>, all steps. Attacks are revised, '
        "well-formed prompts; success is judged on the answer (harmful seed answered harmfully, or benign "
        "seed refused).</p></div>"
    )
    n = sum(len(v) for v in d.samples.values())
    if not n:
        return stats + '<p class="note">No revised attacks to show.</p>'
    groups = []
    for cat, samples in d.samples.items():
        if samples:
            cards = "".join(_sample_card(r) for r in samples)
            groups.append(
                f'<h3 class="cat">{_e(cat or "uncategorised")}</h3><div class="samples">{cards}</div>'
            )
    return stats + (
        '<details class="card warning-box"><summary><span class="cw">Content warning</span> '
        f"Show {n} sample attacks and answers. They may contain harmful requests and model output.</summary>"
        '<p class="note">Up to three per category: successful attacks first, then the most novel. Text is '
        f"shown as written (escaped), cut at {MAX_TEXT_CHARS} characters.</p>{''.join(groups)}</details>"
    )


def _sample_card(r: Mapping[str, Any]) -> str:
    success = r.get("success")
    badge = {True: ("success", "attack succeeded"), False: ("fail", "attack failed")}.get(
        success, ("flat", "not judged")
    )
    scores = []
    for key, label in (
        ("prompt_harmful", "P(prompt harmful)"),
        ("refusal", "P(refusal)"),
        ("response_harmful", "P(answer harmful)"),
        ("novelty", "novelty"),
    ):
        v = _num(r.get(key))
        if v is not None:
            scores.append(f"{label} {v:.2f}")
    return (
        f'<article class="sample"><div class="meta"><span class="badge {badge[0]}">{badge[1]}</span>'
        f"<span>step {r['step']}</span><span>{_e(str(r.get('label', '')))} seed</span>"
        f'<span class="muted">{_e(" · ".join(scores))}</span></div>'
        + "".join(
            f'<div class="field"><div class="field-label">{label}</div><div class="text">{_clip(r.get(key))}'
            "</div></div>"
            for label, key in (("seed", "seed_text"), ("attack", "attack"), ("answer", "answer"))
        )
        + "</article>"
    )


# ----------------------------------------------------------------------------------------------------------
# Small helpers.


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _clip(text: Any) -> str:
    text = "" if text is None else str(text)
    if len(text) > MAX_TEXT_CHARS:
        return (
            _e(text[:MAX_TEXT_CHARS])
            + f'<span class="muted"> … ({len(text) - MAX_TEXT_CHARS} more characters)</span>'
        )
    return _e(text) if text else '<span class="muted">(empty)</span>'


def _num(v: Any) -> float | None:
    """A finite number, or None for null, NaN, booleans and anything else."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v) if math.isfinite(v) else None


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.1%}"


def _pct_tick(v: float) -> str:
    return f"{v:.0%}"


def _get(cfg: Mapping[str, Any], dotted: str) -> Any:
    cur: Any = cfg
    for part in dotted.split("."):
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(part)
    return cur


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _utc(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h {m:02d}m" if h else f"{m}m {s:02d}s"


CSS = """
:root{--fg:#111827;--muted:#6b7280;--bg:#f6f7f9;--card:#fff;--border:#e5e7eb;--grid:#eef0f3;--axis:#9ca3af;
--accent:#0072B2;--good:#047857;--bad:#b91c1c;--before:#9ca3af;--after:#0072B2}
@media (prefers-color-scheme:dark){:root{--fg:#e5e7eb;--muted:#9ca3af;--bg:#0f1115;--card:#171a21;
--border:#2a2f3a;--grid:#232833;--axis:#4b5563;--good:#34d399;--bad:#f87171;--before:#6b7280;--after:#56B4E9}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif;-webkit-font-smoothing:antialiased}
.wrap{max-width:1240px;margin:0 auto;padding:0 24px}
header{background:var(--card);border-bottom:1px solid var(--border);padding:20px 0 0;margin-bottom:8px}
h1{margin:0;font-size:22px;letter-spacing:-.01em}h1 span{color:var(--muted);font-weight:500}
.run-name{margin:2px 0 12px;color:var(--muted);font-size:13px;
font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
nav{display:flex;gap:4px;flex-wrap:wrap}
nav a{color:var(--muted);text-decoration:none;padding:8px 12px;border-bottom:2px solid transparent;
font-weight:500}
nav a:hover{color:var(--fg);border-bottom-color:var(--accent)}
section{padding:18px 0 8px}
h2{font-size:18px;margin:0 0 12px;letter-spacing:-.01em}
h3{font-size:15px;margin:0}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{white-space:pre-wrap;background:var(--bg);border:1px solid var(--border);border-radius:8px;padding:12px;
max-height:360px;overflow:auto}
.card{background:var(--card);border:1px solid var(--border);border-radius:12px;padding:16px 18px;
box-shadow:0 1px 2px rgba(16,24,40,.04);margin:0 0 16px;min-width:0}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:16px}
.grid .card{margin:0}
.lede{color:var(--muted);margin:-4px 0 12px;max-width:80ch}
.note{color:var(--muted);font-size:13px;margin:10px 0 0}
.muted{color:var(--muted)}
.sub{color:var(--muted);font-size:12px;font-weight:400}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin-bottom:16px}
.kpi{background:var(--card);border:1px solid var(--border);border-radius:12px;padding:14px 16px}
.kpi-label{color:var(--muted);font-size:12.5px;font-weight:500}
.kpi-value{font-size:28px;font-weight:650;letter-spacing:-.02em;font-variant-numeric:tabular-nums}
.kpi-sub{color:var(--muted);font-size:12.5px}
.kpi-value.better{color:var(--good)}.kpi-value.worse{color:var(--bad)}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px 20px;margin:0 0 12px}
.facts .wide{grid-column:1/-1}
.facts dt{color:var(--muted);font-size:12px}.facts dd{margin:0;font-weight:500;overflow-wrap:anywhere}
.error{color:var(--bad)}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;
background:var(--grid);color:var(--muted)}
.badge.finished,.badge.success{background:#dcfce7;color:#166534}
.badge.running{background:#dbeafe;color:#1e40af}
.badge.failed,.badge.fail{background:#fee2e2;color:#991b1b}
figure{margin:0}
.chart{display:flex;flex-direction:column}.chart svg{margin-top:auto}
figcaption p{margin:2px 0 6px;color:var(--muted);font-size:12.5px}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 14px;margin:0 0 4px;padding:0;font-size:12.5px}
.legend li{display:flex;align-items:center;gap:6px}
.swatch{width:18px;height:0;border-top:3px solid var(--c);display:inline-block}
.swatch.dashed{border-top-style:dashed}
svg{display:block;width:100%;height:auto;overflow:visible}
svg text{font-family:inherit}
.gridline{stroke:var(--grid);stroke-width:1}
.axis,.tickmark{stroke:var(--axis);stroke-width:1}
.tick{fill:var(--muted);font-size:11px;font-variant-numeric:tabular-nums}
.axis-label{fill:var(--muted);font-size:11.5px;font-weight:500}
.line{fill:none;stroke-width:2.2;stroke-linejoin:round;stroke-linecap:round}
.line.raw{stroke-width:1.2;opacity:.3}
.dot{stroke:var(--card);stroke-width:1}
.empty{padding:40px 0;text-align:center}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:8px 10px;border-bottom:1px solid var(--border);text-align:left;vertical-align:middle}
thead th{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.04em}
tbody tr:last-child th,tbody tr:last-child td{border-bottom:0}
.num{text-align:right;white-space:nowrap}
td.ci{width:260px}.ci-plot{max-width:260px}
.whisker{stroke-width:2}.whisker.before{stroke:var(--before)}.whisker.after{stroke:var(--after)}
.point.before{fill:var(--before)}.point.after{fill:var(--after)}
.key{font-weight:500;text-transform:none;letter-spacing:0;margin-left:8px}
.key i{display:inline-block;width:9px;height:9px;border-radius:50%;margin:0 4px 0 8px;vertical-align:-1px}
.k-before{background:var(--before)}.k-after{background:var(--after)}
.delta{font-weight:600}.delta.better{color:var(--good)}.delta.worse{color:var(--bad)}.delta.flat{color:var(--fg)}
.scroll{overflow-x:auto}
details>summary{cursor:pointer;font-weight:600;padding:2px 0}
details[open]>summary{margin-bottom:10px}
.split{display:grid;grid-template-columns:minmax(0,3fr) minmax(260px,2fr);gap:16px;align-items:start}
@media (max-width:860px){.split{grid-template-columns:1fr}.grid{grid-template-columns:1fr}}
.heat-card svg{margin:0 auto}
.cell-text{font-size:13px;font-weight:600;fill:#111827;font-variant-numeric:tabular-nums}
.cell-text.light{fill:#fff}
.eq h3{margin-bottom:8px}
.mix{margin-top:10px}.mix caption{text-align:left;color:var(--muted);font-size:12px;font-weight:600;
text-transform:uppercase;letter-spacing:.04em;padding-bottom:4px}
.mix td{padding:4px 6px}.bar-cell{width:55%}
.bar{display:block;height:10px;border-radius:3px;min-width:1px}
.bar.attacker{background:#D55E00}.bar.defender{background:#0072B2}
.warning-box{border-color:#f5c08a;background:linear-gradient(0deg,var(--card),var(--card))}
.cw{display:inline-block;background:#fff1e0;color:#9a3412;border:1px solid #f5c08a;border-radius:6px;
padding:0 8px;margin-right:6px;font-size:12.5px}
h3.cat{margin:18px 0 8px}
.samples{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:12px}
.sample{border:1px solid var(--border);border-radius:10px;padding:12px;background:var(--bg);min-width:0}
.meta{display:flex;flex-wrap:wrap;gap:4px 10px;align-items:center;font-size:12.5px;margin-bottom:8px}
.field{margin-top:8px}.field-label{font-size:11px;color:var(--muted);text-transform:uppercase;
letter-spacing:.05em;font-weight:600}
.text{white-space:pre-wrap;overflow-wrap:anywhere;max-height:12em;overflow:auto;font-size:13.5px;
background:var(--card);border:1px solid var(--border);border-radius:6px;padding:6px 8px}
footer{color:var(--muted);font-size:12.5px;padding:24px;border-top:1px solid var(--border);margin-top:24px}
"""
