"""The terminal side of ``fastproxy bench``: a rich progress display, then the table.

Imports rich at module level: import this module only after checking that
rich is installed (``fastproxy.bench.main`` does).
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from fastproxy.bench.report import COLUMNS, cells, fmt_cpu, fmt_us, skip_notes
from fastproxy.bench.results import REFERENCE, Results, Run, SummaryRow

__all__ = ["RichReporter", "print_table"]


class RichReporter:
    """A progress bar measured in seconds of load, with a line per finished run."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.task = None

    def start(self) -> None:
        self.progress.start()

    def stop(self) -> None:
        self.progress.stop()

    def begin(self, total_seconds: float) -> None:
        self.task = self.progress.add_task("starting", total=total_seconds)

    def step(self, text: str) -> None:
        if self.task is not None:
            self.progress.update(self.task, description=text)

    def advance(self, seconds: float) -> None:
        if self.task is not None:
            self.progress.advance(self.task, seconds)

    def note(self, text: str) -> None:
        self.progress.console.print(f"[yellow]{text}", highlight=False)

    def run_done(self, run: Run) -> None:
        errors = f", [red]{run.error_count} errors[/red]" if run.error_count else ""
        self.progress.console.print(
            f"  {run.scenario} round {run.round + 1} {run.target}: {run.requests_per_s:,.0f} req/s, "
            f"p99 {fmt_us(run.latency_us.get('p99'))}, {fmt_cpu(run.cpu_us_per_request)} µs CPU/req{errors}",
            highlight=False,
        )


_ERRORS = COLUMNS.index("errors")
_RPS_RATIO = COLUMNS.index(f"req/s vs {REFERENCE}")
_CPU_RATIO = COLUMNS.index(f"CPU vs {REFERENCE}")


def _ratio_style(row: SummaryRow, column: str) -> str:
    if row.target == REFERENCE:
        return ""
    if column == "rps" and row.rps_vs_ref is not None:
        return "green" if row.rps_vs_ref >= 1.0 else "red"
    if column == "cpu" and row.cpu_vs_ref is not None:
        return "green" if row.cpu_vs_ref <= 1.0 else "red"
    return ""


def print_table(console: Console, results: Results, summary: list[SummaryRow]) -> None:
    """The summary table, then one line per skipped target or scenario."""
    table = Table(title="fastproxy bench: medians over rounds", title_justify="left", box=box.SIMPLE_HEAD)
    for i, name in enumerate(COLUMNS):
        # "req/s vs nginx" -> "req/s\nvs nginx": two header lines keep the table narrow.
        table.add_column(name.replace(" vs ", "\nvs "), justify="left" if i < 2 else "right", no_wrap=True)
    for i, row in enumerate(summary):
        values = cells(row)
        if i and summary[i - 1].scenario == row.scenario:
            values[0] = ""
        if row.errors:
            values[_ERRORS] = f"[red]{values[_ERRORS]}"
        for index, column in ((_RPS_RATIO, "rps"), (_CPU_RATIO, "cpu")):
            style = _ratio_style(row, column)
            if style:
                values[index] = f"[{style}]{values[index]}"
        last = i + 1 == len(summary) or summary[i + 1].scenario != row.scenario
        table.add_row(*values, end_section=last)
    console.print(table)
    for note in skip_notes(results.skipped):
        console.print(f"[yellow]skipped[/yellow] {note}", highlight=False)
    machine = results.meta.get("machine", {})
    console.print(
        f"[dim]{machine.get('cpu', '?')}, {machine.get('usable_cores', '?')} cores; "
        f"{results.meta.get('pinning', {}).get('note', '')}; {results.meta.get('elapsed_s', '?')} s",
        highlight=False,
    )
