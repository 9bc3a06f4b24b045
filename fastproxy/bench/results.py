"""What a benchmark run produced: raw runs, skips, and the per-target summary.

One :class:`Run` is one measured wrk run against one target in one round.
The summary takes medians over rounds; the ratio to nginx is computed per
round (the target's figure over nginx's in the same round, so slow drifts of
the machine cancel out) and then the median of those ratios is taken.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field

__all__ = ["REFERENCE", "Results", "Run", "Skip", "SummaryRow", "summarize"]

REFERENCE = "nginx"


@dataclass(slots=True)
class Run:
    target: str
    scenario: str
    round: int
    requests: int
    duration_s: float
    requests_per_s: float
    latency_us: dict[str, float]  # "p50", "p75", "p90", "p99", "p99_9"
    errors: dict[str, int]  # wrk's: connect, read, write, status (>399), timeout
    cpu_s: float  # user + system CPU of the target's processes during the run
    rss_peak_kib: int  # VmHWM of its largest process (the worker) at the end of the run
    rss_peak_sum_kib: int  # VmHWM summed over its processes
    processes: int
    bytes: int = 0
    wrk_source: str = "json"

    @property
    def cpu_us_per_request(self) -> float | None:
        return self.cpu_s * 1e6 / self.requests if self.requests else None

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict:
        data = asdict(self)
        data["cpu_us_per_request"] = self.cpu_us_per_request
        data["error_count"] = self.error_count
        return data


@dataclass(frozen=True, slots=True)
class Skip:
    target: str
    scenario: str  # "" when the whole target was skipped
    reason: str


@dataclass(slots=True)
class SummaryRow:
    scenario: str
    target: str
    rounds: int
    requests_per_s: float
    p50_us: float | None
    p99_us: float | None
    cpu_us_per_request: float | None
    cpu_percent: float | None  # of one core, during the runs: near 100 the proxy was the limit
    rss_peak_kib: int
    errors: int
    rps_vs_ref: float | None = None  # median over rounds of rps / nginx's rps
    cpu_vs_ref: float | None = None  # median over rounds of cpu per request / nginx's


@dataclass(slots=True)
class Results:
    meta: dict
    runs: list[Run] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)

    def as_dict(self, summary: list[SummaryRow]) -> dict:
        return {
            "meta": self.meta,
            "summary": [asdict(r) for r in summary],
            "runs": [r.as_dict() for r in self.runs],
            "skipped": [asdict(s) for s in self.skipped],
        }


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize(runs: list[Run], scenario_order: list[str], target_order: list[str]) -> list[SummaryRow]:
    """One row per (scenario, target) that has runs, in the given orders."""
    by_key: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        by_key.setdefault((run.scenario, run.target), []).append(run)
    rows = []
    for scenario in scenario_order:
        reference = {r.round: r for r in by_key.get((scenario, REFERENCE), [])}
        for target in target_order:
            group = by_key.get((scenario, target))
            if not group:
                continue
            rps_ratios, cpu_ratios = [], []
            for run in group:
                ref = reference.get(run.round)
                if ref is None:
                    continue
                if ref.requests_per_s > 0:
                    rps_ratios.append(run.requests_per_s / ref.requests_per_s)
                mine, theirs = run.cpu_us_per_request, ref.cpu_us_per_request
                if mine is not None and theirs:
                    cpu_ratios.append(mine / theirs)
            rows.append(
                SummaryRow(
                    scenario=scenario,
                    target=target,
                    rounds=len(group),
                    requests_per_s=_median([r.requests_per_s for r in group]) or 0.0,
                    p50_us=_median([r.latency_us["p50"] for r in group if "p50" in r.latency_us]),
                    p99_us=_median([r.latency_us["p99"] for r in group if "p99" in r.latency_us]),
                    cpu_us_per_request=_median(
                        [r.cpu_us_per_request for r in group if r.cpu_us_per_request is not None]
                    ),
                    cpu_percent=_median([100 * r.cpu_s / r.duration_s for r in group if r.duration_s > 0]),
                    rss_peak_kib=max(r.rss_peak_kib for r in group),
                    errors=sum(r.error_count for r in group),
                    rps_vs_ref=_median(rps_ratios),
                    cpu_vs_ref=_median(cpu_ratios),
                )
            )
    return rows
