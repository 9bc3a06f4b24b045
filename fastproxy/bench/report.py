"""The results as files: JSON with every raw run, a Markdown table, and the shared cell formats.

The terminal table (display.py) and the Markdown table show the same cells,
formatted here, so a pasted ``results.md`` reads like the terminal did.
"""

from __future__ import annotations

import json
from pathlib import Path

from fastproxy.bench.results import REFERENCE, Results, Skip, SummaryRow

__all__ = ["COLUMNS", "cells", "markdown", "skip_notes", "write_json"]

COLUMNS = (
    "scenario",
    "proxy",
    "req/s",
    "p50",
    "p99",
    "CPU µs/req",
    "CPU %",
    "peak RSS",
    "errors",
    f"req/s vs {REFERENCE}",
    f"CPU vs {REFERENCE}",
)


def fmt_us(us: float | None) -> str:
    if us is None:
        return "-"
    if us >= 1e6:
        return f"{us / 1e6:.2f} s"
    if us >= 1e3:
        return f"{us / 1e3:.2f} ms"
    return f"{us:.0f} µs"


def fmt_kib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def fmt_ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def fmt_cpu(us: float | None) -> str:
    if us is None:
        return "-"
    return f"{us:.1f}" if us < 1000 else f"{us:,.0f}"


def cells(row: SummaryRow) -> list[str]:
    """The table cells of ``row``, in COLUMNS order."""
    return [
        row.scenario,
        row.target,
        f"{row.requests_per_s:,.0f}",
        fmt_us(row.p50_us),
        fmt_us(row.p99_us),
        fmt_cpu(row.cpu_us_per_request),
        "-" if row.cpu_percent is None else f"{row.cpu_percent:.0f}%",
        fmt_kib(row.rss_peak_kib),
        str(row.errors),
        fmt_ratio(row.rps_vs_ref),
        fmt_ratio(row.cpu_vs_ref),
    ]


def skip_notes(skipped: list[Skip]) -> list[str]:
    """One line per skip, the reason's first line: "fastproxy, tls-12B-c50: ..."."""
    notes = []
    for s in skipped:
        where = f"{s.target}, {s.scenario}" if s.scenario else f"{s.target} (all scenarios)"
        first = s.reason.strip().splitlines()[0] if s.reason.strip() else "no reason given"
        notes.append(f"{where}: {first}")
    return notes


def markdown(results: Results, summary: list[SummaryRow]) -> str:
    """The summary as a Markdown table, with the machine and the skips under it."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in summary:
        lines.append("| " + " | ".join(cells(row)) + " |")
    meta = results.meta
    machine = meta.get("machine", {})
    lines += [
        "",
        (
            f"Command: `{meta.get('command', 'fastproxy bench')}`; started {meta.get('started', '?')}, "
            f"{meta.get('elapsed_s', '?')} s."
        ),
        (
            f"Machine: {machine.get('cpu', '?')}, {machine.get('usable_cores', '?')} usable cores, "
            f"{machine.get('os', '?')}, Linux {machine.get('kernel', '?')}, Python {machine.get('python', '?')}."
        ),
        f"Pinning: {meta.get('pinning', {}).get('note', '?')}; wrk threads: {meta.get('wrk', {}).get('threads', '?')}.",
        "Versions: " + "; ".join(f"{v}" for v in meta.get("targets", {}).values() if v) + ".",
    ]
    notes = skip_notes(results.skipped)
    if notes:
        lines += ["", "Skipped:", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def write_json(path: Path, results: Results, summary: list[SummaryRow]) -> None:
    path.write_text(
        json.dumps(results.as_dict(summary), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
