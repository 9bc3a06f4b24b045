"""Loading a configuration: files, TOML errors, defaults, from_cli, digest."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from fastproxy.config import (
    Config,
    Headers,
    Limits,
    Listener,
    LogConfig,
    Pool,
    Route,
    Server,
    ServerConfig,
    Timeouts,
    Upstream,
    load_config,
    parse_config,
    parse_toml,
)
from fastproxy.config.schema import HealthCheck, Passive, Retry
from fastproxy.errors import ConfigError, FastProxyError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fastproxy" / "examples" / "basic.toml"

MINIMAL = """
[[listener]]
bind = "127.0.0.1:8080"

[[route]]
upstream = "api"

[upstream.api]
servers = ["127.0.0.1:9001"]
"""


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "fastproxy.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_minimal_file_gets_every_default(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))
    assert config.server == ServerConfig()
    assert config.server.timeouts == Timeouts(
        client_header=10.0, client_idle=60.0, upstream_connect=3.0, upstream_read=60.0, upstream_write=60.0
    )
    assert config.server.limits == Limits(
        max_header_bytes=16384, max_header_count=100, max_uri_bytes=8192, max_body_bytes=2**30
    )
    assert config.server.headers == Headers(
        trusted_proxies=(), request_id=True, hide_response_headers=("Server", "X-Powered-By")
    )
    assert config.server.workers == 1
    assert config.server.drain_timeout == 30.0
    assert config.log == LogConfig(format="text")
    assert config.listeners == (Listener(host="127.0.0.1", port=8080),)
    assert config.routes == (Route(upstream="api", host=(), path_prefix=None, strip_prefix=False),)
    assert config.upstreams == (
        Upstream(
            name="api",
            servers=(Server(host="127.0.0.1", port=9001, weight=1),),
            balance="round_robin",
            pool=Pool(max_idle=1024, idle_timeout=60.0, max_requests=1000),
        ),
    )
    assert config.source == str(tmp_path / "fastproxy.toml")


def test_bundled_example_is_valid_and_uses_every_key():
    config = load_config(EXAMPLE)
    assert [listener.address for listener in config.listeners] == ["127.0.0.1:8080", "[::1]:8443"]
    assert config.server.headers.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    api = config.upstream("api")
    assert [(s.address, s.weight) for s in api.servers] == [("127.0.0.1:9001", 1), ("127.0.0.1:9002", 3)]
    assert config.routes[0] == Route(
        upstream="api", host=("api.example.com",), path_prefix="/api/", strip_prefix=True
    )
    assert config.routes[1].host == ("*.example.com",)
    # Every key of the schema appears in the example: compare with the dataclass fields.
    raw = parse_toml(EXAMPLE.read_bytes())
    for section, cls in [
        (raw["server"], ServerConfig),
        (raw["server"]["timeouts"], Timeouts),
        (raw["server"]["limits"], Limits),
        (raw["server"]["headers"], Headers),
        # Some keys apply to one hash method only: every key in some upstream.
        ({key: None for up in raw["upstream"].values() for key in up}, Upstream),
        (raw["upstream"]["api"]["pool"], Pool),
        (raw["upstream"]["api"]["health_check"], HealthCheck),
        (raw["upstream"]["api"]["passive"], Passive),
        (raw["upstream"]["api"]["retry"], Retry),
        (raw["log"], LogConfig),
    ]:
        expected = {f.name for f in dataclasses.fields(cls)} - {"name"}
        assert set(section) == expected, cls.__name__
    route_keys = set().union(*(set(r) for r in raw["route"]))
    assert route_keys == {f.name for f in dataclasses.fields(Route)}


def test_config_objects_are_frozen_and_picklable():
    config = load_config(EXAMPLE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.server.limits.max_header_bytes = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.listeners = ()  # type: ignore[misc]
    assert not hasattr(config.server.limits, "__dict__")  # slots
    # Workers may be started by pickling their config.
    assert pickle.loads(pickle.dumps(config)) == config
    assert hash(config) == hash(pickle.loads(pickle.dumps(config)))


def test_upstream_lookup():
    config = load_config(EXAMPLE)
    assert config.upstream("web").servers[0].host == "localhost"
    with pytest.raises(KeyError):
        config.upstream("nope")


def test_workers_auto_resolves_to_usable_cores():
    config = parse_config({**parse_toml(MINIMAL.encode()), "server": {"workers": "auto"}})
    assert config.server.workers is None
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert config.server.worker_count == expected
    assert ServerConfig(workers=3).worker_count == 3


# -- TOML syntax and file errors ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("[server]\nworkers = \n", 2, 11),
        ('[server]\nworkers = "a', 2, 13),
        ("[server]\n[server]\n", 2, 8),
        ("[[listener]]\nbind = '127.0.0.1:8080'\nbind = 'x'\n", 3, 11),
    ],
)
def test_toml_syntax_error_names_line_and_column(tmp_path, text, line, column):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    [(path, message)] = info.value.problems
    assert path == ""
    assert message.startswith(f"invalid TOML at line {line}, column {column}: ")


def test_toml_error_at_end_of_document_gets_a_position(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "[server]\nworkers = 1\n[upstream"))
    [(_, message)] = info.value.problems
    assert message.startswith("invalid TOML at line 3, column ")


def test_non_utf8_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, b"# caf\xe9\n"))
    assert info.value.problems == [("", "the file is not UTF-8 (bad byte at offset 5)")]


def test_unreadable_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(IsADirectoryError):
        load_config(tmp_path)


def test_config_error_is_in_the_hierarchy(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "[server]\nworkers = 0\n"))
    assert isinstance(info.value, FastProxyError)
    assert info.value.source == "config"
    assert "server.workers: 0 is out of range (1..1024)" in str(info.value)


def test_top_level_must_be_a_table():
    with pytest.raises(ConfigError) as info:
        parse_config(["not", "a", "table"])  # type: ignore[arg-type]
    assert info.value.problems == [("", "expected a table at the top level, got an array")]


# -- from_cli ----------------------------------------------------------------


def test_from_cli_builds_what_the_equivalent_file_builds(tmp_path):
    cli = Config.from_cli(["127.0.0.1:8080", "[::1]:8081"], ["127.0.0.1:9000", "backend.local:9001"])
    file = load_config(
        write(
            tmp_path,
            """
            [[listener]]
            bind = "127.0.0.1:8080"
            [[listener]]
            bind = "[::1]:8081"
            [[route]]
            upstream = "default"
            [upstream.default]
            servers = ["127.0.0.1:9000", "backend.local:9001"]
            """,
        )
    )
    assert cli == file
    assert cli.digest() == file.digest()
    assert cli.source == "command line"
    assert cli.routes == (Route(upstream="default"),)
    assert cli.upstream("default").servers[1] == Server(host="backend.local", port=9001)


def test_from_cli_problems_name_the_options():
    with pytest.raises(ConfigError) as info:
        Config.from_cli(["127.0.0.1:8080", "127.0.0.1:99999"], ["127.0.0.1", "127.0.0.1:9001"])
    assert info.value.problems == [
        ("--listen[1]", "port 99999 is out of range (0-65535)"),
        ("--upstream[0]", '"127.0.0.1" has no port (write "127.0.0.1:PORT")'),
    ]


def test_from_cli_duplicate_servers_name_the_option():
    with pytest.raises(ConfigError) as info:
        Config.from_cli(["127.0.0.1:8080"], ["127.0.0.1:9000", "127.0.0.1:9000"])
    assert info.value.problems == [
        ("--upstream[1]", '"127.0.0.1:9000" is listed twice (also --upstream[0]); give it a weight instead')
    ]


def test_from_cli_needs_both_lists():
    with pytest.raises(ConfigError) as info:
        Config.from_cli([], [])
    assert [path for path, _ in info.value.problems] == ["--listen", "--upstream"]
    with pytest.raises(ConfigError) as info:
        Config.from_cli(["127.0.0.1:8080"], [])
    assert info.value.problems == [
        ("--upstream", "at least one server is required (e.g. --upstream 127.0.0.1:9000)")
    ]


# -- digest ------------------------------------------------------------------


def test_digest_ignores_spelling_and_source(tmp_path):
    spelled = MINIMAL + '\n[server]\ndrain_timeout = "0.5m"\n[server.limits]\nmax_body_bytes = "1024MiB"\n'
    a = load_config(write(tmp_path, spelled))
    b = parse_config(parse_toml(MINIMAL.encode()), source="elsewhere")
    assert a.digest() == b.digest()
    assert len(a.digest()) == 64 and int(a.digest(), 16) >= 0


def test_digest_changes_with_any_value():
    base = parse_config(parse_toml(MINIMAL.encode()))
    changed = [
        dataclasses.replace(base, log=LogConfig(format="json")),
        dataclasses.replace(base, server=ServerConfig(workers=2)),
        dataclasses.replace(base, server=ServerConfig(limits=Limits(max_body_bytes=0))),
        dataclasses.replace(base, routes=(Route(upstream="api", path_prefix="/"),)),
        dataclasses.replace(base, listeners=(Listener(host="127.0.0.1", port=8081),)),
    ]
    digests = {base.digest(), *(c.digest() for c in changed)}
    assert len(digests) == 1 + len(changed)


def test_digest_is_stable_across_processes():
    code = "from fastproxy.config import load_config; import sys; print(load_config(sys.argv[1]).digest())"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(EXAMPLE)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == load_config(EXAMPLE).digest()
