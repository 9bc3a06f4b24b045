"""fastproxy.bench.targets and scenarios: the generated configs, checked by the proxies themselves."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fastproxy.bench.scenarios import CHASH_ORIGINS, CHASH_PATHS, QUICK, SCENARIOS, select
from fastproxy.bench.targets import (
    IDLE_POOL,
    UPSTREAM_MAX_REQUESTS,
    Setup,
    TlsFiles,
    Unsupported,
    all_targets,
)
from fastproxy.bench.targets.fastproxy import FastproxyTarget, fastproxy_toml
from fastproxy.bench.targets.haproxy import HaproxyTarget, haproxy_cfg
from fastproxy.bench.targets.nginx import NginxTarget, nginx_conf
from fastproxy.bench.tls import make_tls
from fastproxy.config import parse_toml

BY_NAME = {s.name: s for s in SCENARIOS}
ORIGINS = tuple(("127.0.0.1", 9000 + i) for i in range(CHASH_ORIGINS))


def setup_for(tmp_path: Path, name: str, tls: TlsFiles | None = None) -> Setup:
    scenario = BY_NAME[name]
    return Setup(tmp_path, 18080, ORIGINS[: scenario.origins], scenario, tls)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> TlsFiles:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    files, why = make_tls(tmp_path_factory.mktemp("tls"))
    assert files is not None, why
    return files


# -- scenarios ----------------------------------------------------------------


def test_scenarios_cover_the_issue():
    sizes = {s.body_bytes for s in SCENARIOS}
    assert sizes == {12, 16 * 1024, 1024 * 1024}
    assert {s.connections for s in SCENARIOS} == {50, 256}
    assert {s.route for s in SCENARIOS} == {"plain", "chash", "tls"}
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)


def test_select():
    assert [s.name for s in select(None, quick=True)] == list(QUICK)
    assert select(None, quick=False) == list(SCENARIOS)
    assert [s.name for s in select(["tls-12B-c50", "12B-c50", "tls-12B-c50"], quick=True)] == [
        "tls-12B-c50",
        "12B-c50",
    ]
    with pytest.raises(ValueError, match="unknown scenario nope"):
        select(["nope"], quick=False)


def test_chash_scenario_spreads_over_several_origins_and_paths():
    chash = BY_NAME["chash-12B-c50"]
    assert chash.origins == CHASH_ORIGINS > 1
    assert chash.paths == CHASH_PATHS and len(set(CHASH_PATHS)) > CHASH_ORIGINS
    assert BY_NAME["12B-c50"].paths == ("/",)
    assert BY_NAME["tls-12B-c50"].scheme == "https"


def test_upload_scenario_posts_a_body_to_the_12_byte_path_and_is_not_quick():
    upload = BY_NAME["upload-1MiB-c50"]
    assert (upload.method, upload.request_body_bytes, upload.path) == ("POST", 1024 * 1024, "/")
    assert (upload.body_bytes, upload.connections, upload.route) == (12, 50, "plain")
    assert upload.description == "1MiB request body, 12B response, 50 connections"
    assert upload.name not in QUICK
    others = [s for s in SCENARIOS if s is not upload]
    assert all((s.method, s.request_body_bytes) == ("GET", 0) for s in others)


# -- what each generated config says -----------------------------------------


def test_nginx_conf_is_one_worker_keepalive_xff_no_access_log(tmp_path):
    conf = nginx_conf(setup_for(tmp_path, "12B-c50"))
    assert "worker_processes 1;" in conf
    assert "access_log off;" in conf
    assert "listen 127.0.0.1:18080 " in conf
    assert f"keepalive {IDLE_POOL};" in conf
    assert f"keepalive_requests {UPSTREAM_MAX_REQUESTS};" in conf
    assert "proxy_http_version 1.1;" in conf and 'proxy_set_header Connection "";' in conf
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in conf
    assert f"pid {tmp_path}/nginx.pid;" in conf
    assert "server 127.0.0.1:9000;" in conf and "hash " not in conf


def test_nginx_conf_chash_and_tls(tmp_path, tls_files):
    chash = nginx_conf(setup_for(tmp_path, "chash-12B-c50"))
    assert "hash $request_uri consistent;" in chash
    assert all(f"server 127.0.0.1:{port};" in chash for _, port in ORIGINS)
    tls = nginx_conf(setup_for(tmp_path, "tls-12B-c50", tls_files))
    assert "listen 127.0.0.1:18080 ssl" in tls
    assert f"ssl_certificate {tls_files.cert};" in tls


def test_nginx_conf_streams_request_bodies_of_any_size(tmp_path):
    conf = nginx_conf(setup_for(tmp_path, "upload-1MiB-c50"))
    assert "client_max_body_size 0;" in conf  # nginx's default refuses bodies over 1 MiB
    assert "proxy_request_buffering off;" in conf
    # The same settings for every scenario: they change nothing for a request without a body.
    assert conf == nginx_conf(setup_for(tmp_path, "12B-c50"))


def test_haproxy_cfg_is_one_thread_keepalive_xff_no_log(tmp_path):
    cfg = haproxy_cfg(setup_for(tmp_path, "12B-c50"))
    assert "nbthread 1" in cfg
    assert "option forwardfor" in cfg
    assert "option http-keep-alive" in cfg
    assert "\n    log " not in cfg
    assert "bind 127.0.0.1:18080" in cfg
    assert f"pool-max-conn {IDLE_POOL} max-reuse {UPSTREAM_MAX_REQUESTS}" in cfg
    assert "balance roundrobin" in cfg


def test_haproxy_cfg_chash_and_tls(tmp_path, tls_files):
    chash = haproxy_cfg(setup_for(tmp_path, "chash-12B-c50"))
    assert "balance uri whole" in chash and "hash-type consistent" in chash
    assert chash.count("    server o") == CHASH_ORIGINS
    tls = haproxy_cfg(setup_for(tmp_path, "tls-12B-c50", tls_files))
    assert f"ssl crt {tls_files.combined}" in tls


def test_haproxy_cfg_streams_request_bodies(tmp_path):
    cfg = haproxy_cfg(setup_for(tmp_path, "upload-1MiB-c50"))
    # HAProxy forwards a body as it comes unless told to wait for it first.
    assert "http-buffer-request" not in cfg
    assert cfg == haproxy_cfg(setup_for(tmp_path, "12B-c50"))


def test_fastproxy_accepts_the_upload_body(tmp_path):
    from fastproxy.config import load_config

    upload = BY_NAME["upload-1MiB-c50"]
    argv = FastproxyTarget().prepare(setup_for(tmp_path, upload.name))
    limit = load_config(argv[-1]).server.limits.max_body_bytes
    assert limit == 0 or limit >= upload.request_body_bytes  # 0 is unlimited


def test_fastproxy_toml(tmp_path):
    doc = parse_toml(fastproxy_toml(setup_for(tmp_path, "12B-c50")).encode())
    assert doc["server"]["workers"] == 1
    assert doc["listener"] == [{"bind": "127.0.0.1:18080"}]
    assert doc["upstream"]["origin"]["servers"] == ["127.0.0.1:9000"]
    assert doc["upstream"]["origin"]["pool"] == {"max_idle": IDLE_POOL, "max_requests": UPSTREAM_MAX_REQUESTS}
    chash = parse_toml(fastproxy_toml(setup_for(tmp_path, "chash-12B-c50")).encode())
    assert chash["upstream"]["origin"]["balance"] == "consistent_hash"
    assert len(chash["upstream"]["origin"]["servers"]) == CHASH_ORIGINS


def test_fastproxy_plain_config_passes_fastproxy_validation(tmp_path):
    argv = FastproxyTarget().prepare(setup_for(tmp_path, "16KiB-c256"))
    assert argv[1:5] == ["-m", "fastproxy", "run", "-c"]
    assert Path(argv[5]).read_text(encoding="utf-8") == fastproxy_toml(setup_for(tmp_path, "16KiB-c256"))


def test_fastproxy_refusal_becomes_unsupported(tmp_path, monkeypatch):
    import fastproxy.bench.targets.fastproxy as module

    monkeypatch.setattr(module, "fastproxy_toml", lambda setup: "[server]\nworkers = 0\n")
    with pytest.raises(Unsupported, match="refuses this scenario: .*workers"):
        FastproxyTarget().prepare(setup_for(tmp_path, "12B-c50"))


def test_tls_scenario_without_certificate_is_unsupported(tmp_path):
    for target in all_targets():
        if target.name.startswith("relay-"):
            continue  # the floors refuse any TLS scenario (tests/integration/test_bench_floor.py)
        with pytest.raises(Unsupported, match="no TLS certificate"):
            target.prepare(setup_for(tmp_path, "tls-12B-c50", tls=None))


def test_targets_in_reference_order():
    assert [t.name for t in all_targets()] == ["nginx", "haproxy", "fastproxy", "relay-uvloop", "relay-c"]


# -- the proxies' own checks --------------------------------------------------

PEERS = [
    pytest.param(NginxTarget(), id="nginx"),
    pytest.param(HaproxyTarget(), id="haproxy"),
]


@pytest.mark.parametrize("target", PEERS)
@pytest.mark.parametrize("name", ["12B-c256", "chash-12B-c50", "tls-12B-c50", "upload-1MiB-c50"])
def test_peer_accepts_its_config(target, name, tmp_path, tls_files):
    if target.unavailable():
        pytest.skip(target.unavailable())
    error = target.check(setup_for(tmp_path, name, tls_files))
    assert error is None, error


@pytest.mark.parametrize("target", PEERS)
def test_peer_check_reports_a_broken_config(target, tmp_path, monkeypatch):
    if target.unavailable():
        pytest.skip(target.unavailable())
    module = __import__(type(target).__module__, fromlist=["x"])
    name = "nginx_conf" if target.name == "nginx" else "haproxy_cfg"
    monkeypatch.setattr(module, name, lambda setup: "this is not a config {\n")
    assert target.check(setup_for(tmp_path, "12B-c50")) is not None
