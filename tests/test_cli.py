"""The command line: flags map to settings without hiding lower layers, and any
error is one line on stderr with exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from blocksight_tui import __version__
from blocksight_tui.cli import Invocation, parse_command_line
from blocksight_tui.settings import Settings

PARSE = "from blocksight_tui.cli import parse_command_line; parse_command_line()"


def parse(*argv: str, environ: dict[str, str] | None = None) -> Invocation:
    return parse_command_line(list(argv), environ={} if environ is None else environ)


def parse_error(capsys: pytest.CaptureFixture[str], *argv: str, **kwargs: Any) -> str:
    with pytest.raises(SystemExit) as info:
        parse(*argv, **kwargs)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("blocksight: ")
    return err.removeprefix("blocksight: ").rstrip("\n")


def run(
    tmp_path: Path, *argv: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`parse_command_line()` in a fresh interpreter, away from the user's files."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BLOCKSIGHT_")}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"), **(extra_env or {}))
    return subprocess.run(
        [sys.executable, "-c", PARSE, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


# ---------------------------------------------------------------- commands


def test_no_command_runs_the_tui_with_defaults() -> None:
    invocation = parse()
    assert invocation.command == "tui"
    assert invocation.settings == Settings()
    assert invocation.settings.hub.port == 8765
    assert not invocation.network_explicit


def test_serve_takes_the_options_before_and_after_it() -> None:
    invocation = parse("--network", "regtest", "serve", "--hub-port", "0")
    assert invocation.command == "serve"
    assert invocation.settings.node.network == "regtest"
    assert invocation.settings.hub.port == 0
    assert invocation.network_explicit


def test_an_option_after_the_command_wins() -> None:
    assert parse("--hub-port", "1", "serve", "--hub-port", "2").settings.hub.port == 2


@pytest.mark.parametrize(
    ("argv", "section", "key", "value"),
    [
        (["--network", "signet"], "node", "network", "signet"),
        (["--datadir", "/srv/btc"], "node", "datadir", Path("/srv/btc")),
        (["--conf", "/etc/bitcoin.conf"], "node", "conf", Path("/etc/bitcoin.conf")),
        (["--rpc-host", "10.0.0.2"], "node", "rpc_host", "10.0.0.2"),
        (["--rpc-port", "18443"], "node", "rpc_port", 18443),
        (["--rpc-user", "alice"], "node", "rpc_user", "alice"),
        (["--rpc-cookie-file", "/run/c"], "node", "rpc_cookie_file", Path("/run/c")),
        (["--hub-host", "::1"], "hub", "host", "::1"),
        (["--hub-port", "9000"], "hub", "port", 9000),
        (["--no-hub"], "hub", "enabled", False),
        (["--demo"], "demo", "mode", "on"),
        (["--no-demo"], "demo", "mode", "off"),
        (["--seed", "7"], "demo", "seed", 7),
        (["--log-level", "debug"], "log", "level", "DEBUG"),
        (["--log-file", "/tmp/b.log"], "log", "file", Path("/tmp/b.log")),
    ],
)
def test_each_flag_sets_its_setting(argv: list[str], section: str, key: str, value: Any) -> None:
    settings = parse(*argv).settings
    assert getattr(getattr(settings, section), key) == value
    # ... and only that one.
    dumped = settings.model_dump(exclude_defaults=True, exclude={"config_file"})
    assert dumped == {section: {key: value}}


def test_password_flag_is_a_secret() -> None:
    password = parse("--rpc-password", "hunter2-secret").settings.node.rpc_password
    assert password is not None and password.get_secret_value() == "hunter2-secret"


def test_omitted_flags_leave_lower_layers_alone(tmp_path: Path) -> None:
    config = tmp_path / "b.toml"
    config.write_text('[hub]\nhost = "::1"\n[demo]\nmode = "off"\n')
    environ = {"BLOCKSIGHT_HUB__PORT": "7000", "BLOCKSIGHT_NODE__NETWORK": "test"}
    settings = parse("--config", str(config), "--seed", "1", environ=environ).settings
    assert (settings.hub.host, settings.hub.port, settings.demo.mode) == ("::1", 7000, "off")
    assert settings.hub.enabled and settings.node.network == "test"
    assert settings.config_file == config

    settings = parse("--config", str(config), "--hub-port", "7001", environ=environ).settings
    assert settings.hub.port == 7001


def test_network_explicit_from_any_layer() -> None:
    assert parse(environ={"BLOCKSIGHT_NODE__NETWORK": "main"}).network_explicit
    assert parse("--network", "main").network_explicit
    assert not parse("--rpc-port", "1").network_explicit


def test_config_flag_after_serve(tmp_path: Path) -> None:
    config = tmp_path / "b.toml"
    config.write_text("[hub]\nport = 1234\n")
    assert parse("serve", "--config", str(config)).settings.hub.port == 1234


# ---------------------------------------------------------------- errors, in process


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--hub-port", "abc"], "invalid setting hub.port = 'abc' (from command line --hub-port)"),
        (["--rpc-port", "0"], "invalid setting node.rpc_port = '0' (from command line --rpc-port)"),
        (["--seed", "x"], "(from command line --seed)"),
        (["--log-level", "loud"], "(from command line --log-level)"),
        (["--network", "mainnet"], "argument --network: invalid choice: 'mainnet'"),
        (["--demo", "--no-demo"], "not allowed with argument"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["watch", "ws://x"], "invalid choice: 'watch'"),
        (["--hub-port"], "expected one argument"),
    ],
)
def test_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    assert expected in parse_error(capsys, *argv)


def test_environment_error_names_the_variable(capsys: pytest.CaptureFixture[str]) -> None:
    message = parse_error(capsys, environ={"BLOCKSIGHT_HUB__PORT": "x"})
    assert "(from environment variable BLOCKSIGHT_HUB__PORT)" in message


def test_missing_config_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    message = parse_error(capsys, "--config", str(tmp_path / "nope.toml"))
    assert message == f"config file {tmp_path / 'nope.toml'} does not exist"


def test_password_never_printed(capsys: pytest.CaptureFixture[str]) -> None:
    message = parse_error(capsys, "--rpc-password", "hunter2-secret", "--rpc-port", "x")
    assert "hunter2" not in message


# ---------------------------------------------------------------- a real process


@pytest.mark.parametrize(
    "argv",
    [
        ["--hub-port", "abc"],
        ["serve", "--hub-port", "abc"],
        ["--no-such-flag"],
        ["--config", "/nonexistent/blocksight.toml"],
        ["--rpc-password", "hunter2-secret", "--rpc-port", "99999"],
    ],
)
def test_process_exits_2_with_one_line(tmp_path: Path, argv: list[str]) -> None:
    result = run(tmp_path, *argv)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("blocksight: ")
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr


def test_process_reports_the_bad_variable(tmp_path: Path) -> None:
    result = run(tmp_path, extra_env={"BLOCKSIGHT_NODE__RPC_PORT": "abc"})
    assert result.returncode == 2
    assert result.stderr == (
        "blocksight: invalid setting node.rpc_port = 'abc' (from environment variable "
        "BLOCKSIGHT_NODE__RPC_PORT): Input should be a valid integer, unable to parse string "
        "as an integer\n"
    )


def test_process_reads_a_bad_default_config(tmp_path: Path) -> None:
    config = tmp_path / "config" / "blocksight" / "blocksight.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[hub]\nport = 'abc'\n")
    result = run(tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"blocksight: invalid setting hub.port = 'abc' (from {config})")


def test_version(tmp_path: Path) -> None:
    result = run(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout == f"blocksight {__version__}\n"


def test_help_describes_every_flag(tmp_path: Path) -> None:
    result = run(tmp_path, "--help")
    assert result.returncode == 0
    for flag in (
        "--config", "--network", "--datadir", "--conf", "--rpc-host", "--rpc-port",
        "--rpc-user", "--rpc-password", "--rpc-cookie-file", "--hub-host", "--hub-port",
        "--no-hub", "--demo", "--no-demo", "--seed", "--log-level", "--log-file",
        "--version", "serve", "BLOCKSIGHT_",
    ):  # fmt: skip
        assert flag in result.stdout, flag
    serve_help = run(tmp_path, "serve", "--help")
    assert serve_help.returncode == 0 and "--hub-port" in serve_help.stdout
