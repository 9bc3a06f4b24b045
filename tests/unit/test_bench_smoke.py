"""One real `fastproxy bench` run: one scenario, nginx only, about 3 seconds."""

from __future__ import annotations

import os
import shutil

import pytest

from fastproxy.bench import procstat, runner
from fastproxy.bench.options import Options, Timing
from fastproxy.bench.runner import run_bench

pytestmark = [
    pytest.mark.skipif(
        shutil.which("nginx") is None, reason="nginx is not installed (apt-get install -y nginx)"
    ),
    pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install -y wrk)"),
]


def test_one_scenario_against_nginx(tmp_path, monkeypatch):
    stopped: list[tuple[str, list[int]]] = []

    class RecordedProcess(runner.Process):
        def stop(self, timeout: float = 5.0) -> None:
            tree = procstat.descendants(self.pid)
            super().stop(timeout)
            stopped.append((self.name, tree))

    monkeypatch.setattr(runner, "Process", RecordedProcess)
    options = Options(
        scenarios=["12B-c50"],
        targets=["nginx"],
        timing=Timing(duration=1, repeats=2, warmup=0),
        quick=True,
        out=None,
        pin=True,
        wrk_threads=None,
        keep=False,
    )
    tmp_path.chmod(0o755)  # nginx's worker is unprivileged when the test runs as root
    recorder = runner.QuietReporter()
    results = run_bench(options, recorder, tmp_path)
    assert results.skipped == [], results.skipped
    assert [(r.target, r.round) for r in results.runs] == [("nginx", 0), ("nginx", 1)]
    assert recorder.runs == results.runs
    assert recorder.advanced == recorder.total == 2
    for run in results.runs:
        assert run.requests > 100
        assert run.error_count == 0
        assert run.wrk_source == "json"
        assert run.processes == 2  # master and worker
        assert 0 < run.cpu_s < 2 * run.duration_s  # one pinned worker cannot use more than its core
        assert run.rss_peak_kib > 1024
        assert run.latency_us["p50"] <= run.latency_us["p99"]
    assert results.meta["targets"]["nginx"].startswith("nginx/")
    assert results.meta["scenarios"][0]["name"] == "12B-c50"
    # Everything it started (origin, nginx master and worker) is stopped.
    assert sorted(name for name, _ in stopped) == ["nginx", "origin"]
    for name, tree in stopped:
        assert len(tree) == (2 if name == "nginx" else 1)
        for pid in tree:
            assert not os.path.exists(f"/proc/{pid}"), f"{name}'s process {pid} outlived stop()"
