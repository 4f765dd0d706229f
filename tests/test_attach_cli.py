"""`blocksight attach URL [--token TOKEN]` on the command line: a bad URL is
one line and status 2, the token comes from the flag or the environment and
never shows, and attaching looks for no node."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from blocksight_tui import __main__ as entry
from blocksight_tui.cli import Invocation, parse_command_line


def attach(*argv: str, environ: dict[str, str] | None = None) -> Invocation:
    return parse_command_line(["attach", *argv], environ={} if environ is None else environ)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://box:8765",
            "invalid hub URL 'http://box:8765': it must start with ws:// or wss://",
        ),
        ("ws://", "invalid hub URL 'ws://': it names no host"),
        (
            "ws://box:99999",
            "invalid hub URL 'ws://box:99999': the port must be a number from 1 to 65535",
        ),
    ],
)
def test_a_bad_url_is_one_line_and_status_2(tmp_path: Path, url: str, message: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLOCKSIGHT_")}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
    result = subprocess.run(
        [sys.executable, "-m", "blocksight_tui", "attach", url],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"blocksight: {message}\n"


def test_attach_needs_a_url(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        attach()
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "URL" in err


def test_attach_takes_the_url_and_the_token() -> None:
    invocation = attach("ws://nodebox:8765", "--token", "s3cret-flag")
    assert invocation.command == "attach"
    assert invocation.hub is not None and invocation.hub.url == "ws://nodebox:8765/ws"
    assert invocation.token is not None
    assert invocation.token.get_secret_value() == "s3cret-flag"
    assert "s3cret" not in repr(invocation)


def test_the_token_also_comes_from_the_environment_and_the_flag_wins() -> None:
    environ = {"BLOCKSIGHT_HUB__TOKEN": "from-the-environment"}
    token = attach("ws://box:1", environ=environ).token
    assert token is not None and token.get_secret_value() == "from-the-environment"
    token = attach("ws://box:1", "--token", "from-flag", environ=environ).token
    assert token is not None and token.get_secret_value() == "from-flag"
    assert attach("ws://box:1").token is None


def test_attach_looks_for_no_node_and_starts_nothing_local(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def no(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("attach must not look for a node nor build the runtime")

    monkeypatch.setattr(entry, "discover_rpc_endpoint", no)
    monkeypatch.setattr(entry, "build_runtime", no)
    ran: list[Invocation] = []
    monkeypatch.setattr(entry, "run_attach", ran.append)
    for key in [k for k in os.environ if k.startswith("BLOCKSIGHT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        entry.main(["attach", "ws://127.0.0.1:1", "--log-file", str(tmp_path / "attach.log")])
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
    assert len(ran) == 1

    orchestrator, link = entry.build_attach(ran[0])
    system = orchestrator.state_of("system")
    assert system.mode == "attach" and system.label == "ws://127.0.0.1:1"
    assert system.hub_url is None  # no local hub
    assert link.address.host_port == "127.0.0.1:1"
