"""fastproxy.bench.runner with stand-in targets: what is measured, what is skipped and why."""

from __future__ import annotations

import shutil
import sys

import pytest

from fastproxy.bench import runner
from fastproxy.bench.options import Options, Timing
from fastproxy.bench.targets import Setup, Target, Unsupported

needs_wrk = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install -y wrk)"
)


class OriginAsProxy(Target):
    """Answers like a proxy would: fastproxy's origin on the target's port."""

    def __init__(self, name: str) -> None:
        self.name = name

    def unavailable(self) -> str | None:
        return None

    def prepare(self, setup: Setup) -> list[str]:
        return [sys.executable, "-m", "fastproxy.origin", "--port", str(setup.port), "--name", self.name]


class ExitsAtOnce(OriginAsProxy):
    def prepare(self, setup: Setup) -> list[str]:
        return [sys.executable, "-c", "import sys; print('boom', flush=True); sys.exit(3)"]


class CannotDoIt(OriginAsProxy):
    def prepare(self, setup: Setup) -> list[str]:
        raise Unsupported("no such feature here")


class NotInstalled(OriginAsProxy):
    def unavailable(self) -> str | None:
        return "not installed (apt-get install -y it)"


def options(**kw) -> Options:
    values = {
        "scenarios": ["12B-c50"],
        "targets": ["nginx", "haproxy", "fastproxy"],
        "timing": Timing(duration=1, repeats=1, warmup=0),
        "quick": True,
        "out": None,
        "pin": False,
        "wrk_threads": None,
        "keep": False,
    }
    values.update(kw)
    return Options(**values)


@needs_wrk
def test_failures_become_skips_with_their_reasons(tmp_path, monkeypatch):
    targets = [OriginAsProxy("nginx"), ExitsAtOnce("haproxy"), CannotDoIt("fastproxy")]
    monkeypatch.setattr(runner, "all_targets", lambda: targets)
    recorder = runner.QuietReporter()
    results = runner.run_bench(options(), recorder, tmp_path)
    assert [(r.target, r.scenario) for r in results.runs] == [("nginx", "12B-c50")]
    assert results.runs[0].requests > 0 and results.runs[0].error_count == 0
    skipped = {s.target: s for s in results.skipped}
    assert set(skipped) == {"haproxy", "fastproxy"}
    assert skipped["haproxy"].scenario == "12B-c50"
    assert "did not start" in skipped["haproxy"].reason
    assert "status 3" in skipped["haproxy"].reason and "boom" in skipped["haproxy"].reason
    assert skipped["fastproxy"].reason == "no such feature here"
    assert recorder.advanced == recorder.total == 3
    assert len(recorder.notes) == 2


@needs_wrk
def test_unselected_and_missing_targets(tmp_path, monkeypatch):
    targets = [OriginAsProxy("nginx"), NotInstalled("haproxy"), OriginAsProxy("fastproxy")]
    monkeypatch.setattr(runner, "all_targets", lambda: targets)
    results = runner.run_bench(options(targets=["haproxy", "fastproxy"]), runner.QuietReporter(), tmp_path)
    assert [r.target for r in results.runs] == ["fastproxy"]
    assert [(s.target, s.scenario) for s in results.skipped] == [("haproxy", "")]
    assert "not installed" in results.skipped[0].reason
    assert results.meta["pinning"]["proxy_cpus"] is None


def test_no_target_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "all_targets", lambda: [NotInstalled("nginx")])
    monkeypatch.setattr(runner.shutil, "which", lambda name: "/usr/bin/wrk")
    with pytest.raises(runner.BenchError, match="no proxy to measure: not installed"):
        runner.run_bench(options(targets=["nginx"]), runner.QuietReporter(), tmp_path)


def test_missing_wrk_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(runner.shutil, "which", lambda name: None)
    with pytest.raises(runner.BenchError, match="wrk is not installed"):
        runner.run_bench(options(), runner.QuietReporter(), tmp_path)


def test_unknown_scenario_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(runner.shutil, "which", lambda name: "/usr/bin/wrk")
    with pytest.raises(runner.BenchError, match="unknown scenario"):
        runner.run_bench(options(scenarios=["12B-c51"]), runner.QuietReporter(), tmp_path)
