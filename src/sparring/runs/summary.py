"""Console summaries of a run: the before/after table every run ends with."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from sparring.evals.metrics import format_rate
from sparring.runs.rundir import RunDir

ROWS = [
    ("harmful_answer_rate", "harmful answers to harmful prompts (attack success)"),
    ("harmful_refusal_rate", "refusals of harmful prompts"),
    ("benign_refusal_rate", "refusals of benign prompts (over-refusal)"),
]


class SummaryTable:
    def __init__(self, results: dict[str, dict[str, Any]]):
        self.results = results

    def render(self) -> Table:
        table = Table(title="defender evaluation (95% bootstrap intervals)")
        table.add_column("metric")
        for name in self.results:
            table.add_column(name)
        for key, label in ROWS:
            table.add_row(label, *[format_rate(r["metrics"].get(key, {})) for r in self.results.values()])
        if any("capability" in r for r in self.results.values()):
            table.add_row(
                "capability: log-lik. of reference answers",
                *[_capability(r.get("capability")) for r in self.results.values()],
            )
        failures = [str(r.get("judge_failures", 0)) for r in self.results.values()]
        table.add_row("judge failures (excluded)", *failures)
        return table

    def print(self) -> None:
        Console().print(self.render())


def _capability(c: dict[str, Any] | None) -> str:
    if not c:
        return "n/a"
    return f"{c['mean_logprob']:.3f} [{c['ci_low']:.3f}, {c['ci_high']:.3f}] (n={c['n']})"


def summary_table(results: dict[str, dict[str, Any]]) -> SummaryTable:
    return SummaryTable(results)


def print_summary(run: RunDir) -> None:
    results = {}
    for name in ("before", "after"):
        path = run.path / f"eval_{name}.json"
        if path.exists():
            results[name] = run.read_json(path.name)
    if results:
        summary_table(results).print()
