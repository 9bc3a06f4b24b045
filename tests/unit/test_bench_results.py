"""fastproxy.bench results, report and chart, and the `fastproxy bench` command's wiring."""

from __future__ import annotations

import importlib.util
import json

import pytest

from fastproxy.bench import options as bench_options
from fastproxy.bench.report import COLUMNS, cells, markdown, write_json
from fastproxy.bench.results import Results, Run, Skip, summarize
from fastproxy.bench.runner import plan_cpus
from fastproxy.cli import main as cli_main


def run(target: str, rnd: int, rps: float, cpu_us: float, scenario: str = "12B-c50", **kw) -> Run:
    requests = int(rps * 2)
    return Run(
        target=target,
        scenario=scenario,
        round=rnd,
        requests=requests,
        duration_s=2.0,
        requests_per_s=rps,
        latency_us=kw.get("latency", {"p50": 100.0 + rnd, "p99": 900.0 + rnd}),
        errors=kw.get("errors", {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}),
        cpu_s=cpu_us * requests / 1e6,
        rss_peak_kib=kw.get("rss", 10_000 + rnd),
        rss_peak_sum_kib=20_000,
        processes=2,
    )


def test_medians_over_rounds_and_ratios_per_round():
    runs = [
        run("nginx", 0, 1000, 10.0),
        run("fastproxy", 0, 1100, 9.0),
        # The machine slows down in round 1: the per-round ratios do not care.
        run("nginx", 1, 500, 20.0),
        run("fastproxy", 1, 600, 16.0),
        run("nginx", 2, 1000, 10.0),
        run(
            "fastproxy", 2, 1200, 8.0, errors={"connect": 1, "read": 0, "write": 0, "status": 2, "timeout": 0}
        ),
    ]
    rows = summarize(runs, ["12B-c50"], ["nginx", "haproxy", "fastproxy"])
    assert [r.target for r in rows] == ["nginx", "fastproxy"]
    nginx, fast = rows
    assert nginx.rounds == fast.rounds == 3
    assert nginx.requests_per_s == 1000 and fast.requests_per_s == 1100
    assert fast.cpu_us_per_request == pytest.approx(9.0)
    assert fast.p50_us == 101.0 and fast.p99_us == 901.0
    assert fast.rss_peak_kib == 10_002
    # CPU seconds over the run: 0.99 %, 0.96 %, 0.96 % of a core.
    assert fast.cpu_percent == pytest.approx(0.96)
    assert fast.errors == 3
    assert nginx.rps_vs_ref == 1.0 and nginx.cpu_vs_ref == 1.0
    assert fast.rps_vs_ref == pytest.approx(1.2)  # median of 1.1, 1.2, 1.2
    assert fast.cpu_vs_ref == pytest.approx(0.8)  # median of 0.9, 0.8, 0.8


def test_no_reference_no_ratio():
    rows = summarize([run("haproxy", 0, 1000, 10.0)], ["12B-c50"], ["nginx", "haproxy"])
    assert rows[0].rps_vs_ref is None and rows[0].cpu_vs_ref is None
    assert cells(rows[0])[-2:] == ["-", "-"]


def test_zero_requests_has_no_cpu_per_request():
    zero = run("nginx", 0, 0, 0.0)
    assert zero.cpu_us_per_request is None
    rows = summarize([zero], ["12B-c50"], ["nginx"])
    assert rows[0].cpu_us_per_request is None


def test_cells_and_markdown(tmp_path):
    runs = [run("nginx", 0, 31234.4, 12.34), run("fastproxy", 0, 40000, 10.0)]
    rows = summarize(runs, ["12B-c50"], ["nginx", "fastproxy"])
    assert cells(rows[0]) == [
        "12B-c50", "nginx", "31,234", "100 µs", "900 µs", "12.3", "39%", "9.8 MiB", "0", "1.00x", "1.00x",
    ]  # fmt: skip
    results = Results(
        meta={"command": "fastproxy bench --quick", "machine": {"cpu": "Test CPU", "usable_cores": 2}},
        runs=runs,
        skipped=[
            Skip("haproxy", "", "haproxy is not installed"),
            Skip("fastproxy", "tls-12B-c50", "no\nmore"),
        ],
    )
    text = markdown(results, rows)
    lines = text.splitlines()
    assert lines[0] == "| " + " | ".join(COLUMNS) + " |"
    assert lines[3].startswith("| 12B-c50 | fastproxy | 40,000 |")
    assert "`fastproxy bench --quick`" in text and "Test CPU, 2 usable cores" in text
    assert "- haproxy (all scenarios): haproxy is not installed" in text
    assert "- fastproxy, tls-12B-c50: no" in text
    write_json(tmp_path / "results.json", results, rows)
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert set(data) == {"meta", "summary", "runs", "skipped"}
    assert len(data["runs"]) == 2
    assert data["runs"][0]["cpu_us_per_request"] == pytest.approx(12.34, rel=1e-3)
    assert data["summary"][1]["rps_vs_ref"] == pytest.approx(40000 / 31234.4)


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="matplotlib is not installed")
def test_chart_is_a_png(tmp_path):
    from fastproxy.bench.chart import write_chart

    runs = [run(t, 0, rps, cpu, scenario=s) for s in ("12B-c50", "1MiB-c50") for t, rps, cpu in
            (("nginx", 1000, 10.0), ("haproxy", 900, 11.0), ("fastproxy", 1100, 9.0))]  # fmt: skip
    rows = summarize(runs, ["12B-c50", "1MiB-c50"], ["nginx", "haproxy", "fastproxy"])
    write_chart(tmp_path / "chart.png", rows)
    data = (tmp_path / "chart.png").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000


def test_cpu_plan():
    one = plan_cpus(True, [3])
    assert one.proxy is None and "fewer than two" in one.note
    off = plan_cpus(False, [0, 1, 2])
    assert off.proxy is None and "--no-pin" in off.note


def test_cpu_plan_pins_proxy_apart_from_the_load(monkeypatch):
    from fastproxy.bench import runner

    monkeypatch.setattr(runner.shutil, "which", lambda name: f"/usr/bin/{name}")
    plan = plan_cpus(True, [2, 0, 5])
    assert (plan.proxy, plan.load) == ([0], [2, 5])
    assert plan.note == "proxy on CPU 0; wrk and origin on CPU 2,5"


def test_quick_timing_fits_two_minutes():
    from fastproxy.bench.scenarios import QUICK

    t = bench_options.QUICK
    load_seconds = len(QUICK) * 3 * (t.warmup + t.repeats * t.duration)
    assert load_seconds <= 100  # the rest of the 120 s is start-ups and wrk's own overhead


# -- the command ----------------------------------------------------------------


def test_bench_list(capsys):
    assert cli_main(["bench", "--list"]) == 0
    out = capsys.readouterr().out
    assert "12B-c50" in out and "tls-12B-c50" in out and "quick" in out


def test_bench_options_resolve():
    import argparse

    parser = argparse.ArgumentParser()
    bench_options.add_arguments(parser)
    quick = bench_options.resolve(parser.parse_args(["--quick", "--target", "nginx", "--target", "nginx"]))
    assert quick.timing == bench_options.QUICK and quick.targets == ["nginx"]
    full = bench_options.resolve(parser.parse_args(["--duration", "5", "--warmup", "0"]))
    assert full.timing == bench_options.Timing(duration=5, repeats=bench_options.FULL.repeats, warmup=0)
    assert full.targets == ["nginx", "haproxy", "fastproxy"] and full.pin
    floors = bench_options.resolve(parser.parse_args(["--target", "relay-c", "--target", "relay-uvloop"]))
    assert floors.targets == ["relay-c", "relay-uvloop"]
    with pytest.raises(SystemExit):
        parser.parse_args(["--repeats", "0"])


def test_bench_without_rich_says_what_to_install(monkeypatch, capsys):
    from fastproxy import bench

    real = importlib.util.find_spec
    monkeypatch.setattr(
        bench.importlib.util, "find_spec", lambda name: None if name == "rich" else real(name)
    )
    assert cli_main(["bench", "--quick"]) == 1
    err = capsys.readouterr().err
    assert "needs rich" in err and "fastproxy-edge[bench]" in err
