"""The chart: requests/s and CPU per request, per target and scenario, as one PNG.

One panel per scenario and figure, each on its own linear scale: small and
1 MiB responses differ by two orders of magnitude, and a shared or log
scale would hide the differences between proxies that the chart is for.
matplotlib runs headless (the Agg backend) and is imported only here.
"""

from __future__ import annotations

from pathlib import Path

from fastproxy.bench.results import SummaryRow

__all__ = ["write_chart"]


def write_chart(path: Path, summary: list[SummaryRow], title: str = "fastproxy bench") -> None:
    """Writes ``path``: a row of requests/s panels over a row of CPU-per-request panels, one column per scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = list(dict.fromkeys(r.scenario for r in summary))
    targets = list(dict.fromkeys(r.target for r in summary))
    by_key = {(r.scenario, r.target): r for r in summary}
    colors = {t: f"C{i}" for i, t in enumerate(targets)}
    n = max(1, len(scenarios))
    fig, axes = plt.subplots(2, n, figsize=(2.3 * n + 1, 6.5), squeeze=False, constrained_layout=True)
    metrics = (
        ("requests/s\n(higher is better)", lambda r: r.requests_per_s),
        ("CPU µs per request\n(lower is better)", lambda r: r.cpu_us_per_request),
    )
    for col, scenario in enumerate(scenarios):
        rows = [by_key[(scenario, t)] for t in targets if (scenario, t) in by_key]
        for line, (label, value) in enumerate(metrics):
            ax = axes[line][col]
            names = [r.target for r in rows]
            values = [value(r) or 0.0 for r in rows]
            bars = ax.bar(names, values, color=[colors[t] for t in names])
            ax.bar_label(bars, labels=[_short(v) for v in values], fontsize=7, padding=1)
            ax.margins(y=0.15)
            ax.tick_params(axis="x", labelrotation=30, labelsize=8)
            ax.tick_params(axis="y", labelsize=8)
            ax.grid(axis="y", alpha=0.3)
            if line == 0:
                ax.set_title(scenario, fontsize=9)
            if col == 0:
                ax.set_ylabel(label, fontsize=9)
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _short(v: float) -> str:
    if v >= 10_000:
        return f"{v / 1000:.0f}k"
    if v >= 1000:
        return f"{v / 1000:.1f}k"
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"
