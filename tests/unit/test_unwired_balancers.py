"""A balancer the config accepts but the data path cannot run yet is refused
at start-up with its key path, never silently replaced by round robin."""

import asyncio

import pytest

from fastproxy.cli import main
from fastproxy.config import parse_config, parse_toml
from fastproxy.errors import ConfigError
from fastproxy.server import start

CONFIG = """
[[listener]]
bind = "127.0.0.1:0"
[[route]]
upstream = "api"
[upstream.api]
servers = ["127.0.0.1:9"]
balance = "consistent_hash"
hash_key = "uri"
"""


def test_start_refuses_an_unwired_balancer():
    config = parse_config(parse_toml(CONFIG.encode()), source="test.toml")

    async def attempt():
        proxy = await start(config)
        await proxy.close()

    with pytest.raises(ConfigError) as info:
        asyncio.run(attempt())
    assert info.value.problems[0][0] == "upstream.api.balance"
    assert "not wired" in info.value.problems[0][1]


def test_run_reports_it_like_a_config_error(tmp_path, capsys):
    path = tmp_path / "proxy.toml"
    path.write_text(CONFIG)
    assert main(["run", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: upstream.api.balance:" in err
