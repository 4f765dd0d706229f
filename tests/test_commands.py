"""The installed commands as a user runs them: `blocksight serve` headless,
the TUI in a real pseudo-terminal, `--no-demo` without a node, and an
orderly stop on SIGTERM, SIGINT and (for the TUI) SIGHUP."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import aiohttp
import pytest

from tests.hub_client import HubClient
from tests.node_daemon import free_port


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BLOCKSIGHT_", "XDG_"))}
    env["HOME"] = str(home)
    return env


def blocksight(*args: str) -> list[str]:
    return [sys.executable, "-m", "blocksight_tui", *args]


async def wait_for_hub(url: str, timeout: float = 15.0) -> HubClient:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await HubClient.connect(url)
        except aiohttp.ClientError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def stops_in_order(client: HubClient, process: asyncio.subprocess.Process,
                         sig: signal.Signals) -> None:
    """`sig` gets the hub's clients a 1001 close and the process gone with
    status 0, all within 2 s."""
    started = time.monotonic()
    process.send_signal(sig)
    while True:  # events published before the stop may come first
        message = await client.ws.receive(timeout=2 - (time.monotonic() - started))
        if message.type != aiohttp.WSMsgType.TEXT:
            break
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert client.ws.close_code == 1001
    await client.close()
    assert await asyncio.wait_for(process.wait(), 2) == 0
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name
)
async def test_serve_runs_headless_and_stops_within_two_seconds(
    tmp_path: Path, sig: signal.Signals
) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *blocksight("serve", "--demo", "--seed", "1", "--hub-port", str(port)),
        env=clean_env(tmp_path),
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        client = await wait_for_hub(f"ws://127.0.0.1:{port}/ws")
        assert (await client.next_frame(5))["frame"] == "hello"
        snapshot = await client.next_frame(5)
        assert snapshot["frame"] == "snapshot" and snapshot["events"]
        await stops_in_order(client, process, sig)
    finally:
        if process.returncode is None:
            process.kill()
        assert process.stderr is not None
        stderr = (await process.stderr.read()).decode()
        await process.wait()
    assert "Traceback" not in stderr
    assert "serving simulated network" in stderr


class Terminal:
    """A pseudo-terminal of 80x24 for the TUI, whose screen output is read
    as it comes (a terminal nobody reads would block the app's writes)."""

    def __init__(self, columns: int = 80, rows: int = 24) -> None:
        self.master, self.slave = pty.openpty()
        winsize = struct.pack("HHHH", rows, columns, 0, 0)
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, winsize)
        self.output = bytearray()
        asyncio.get_running_loop().add_reader(self.master, self._read)

    def _read(self) -> None:
        try:
            self.output += os.read(self.master, 65536)
        except OSError:  # the app closed its side
            asyncio.get_running_loop().remove_reader(self.master)

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)
        with contextlib.suppress(OSError):
            os.close(self.slave)


@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name
)
async def test_the_tui_stops_in_order_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    """A service manager's SIGTERM, or SIGHUP when the SSH link or the tmux
    pane goes: the hub inside the TUI closes its clients with 1001, the
    terminal is given back, and the process is gone within 2 s."""
    port = free_port()
    log_file = tmp_path / "blocksight.log"
    terminal = Terminal()
    env = clean_env(tmp_path) | {"TERM": "xterm-256color"}
    process = await asyncio.create_subprocess_exec(
        *blocksight("--demo", "--seed", "1", "--hub-port", str(port), "--log-file", str(log_file)),
        env=env, stdin=terminal.slave, stdout=terminal.slave, stderr=terminal.slave,
        start_new_session=True,
    )
    os.close(terminal.slave)  # the app holds it now
    try:
        client = await wait_for_hub(f"ws://127.0.0.1:{port}/ws")
        assert (await client.next_frame(5))["frame"] == "hello"
        await stops_in_order(client, process, sig)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await asyncio.sleep(0.1)  # the last of the screen output
        terminal.close()
    log = log_file.read_text()
    assert f"{sig.name}: stopping" in log and "runtime stopped" in log
    assert "Traceback" not in log
    screen = bytes(terminal.output)
    assert b"DEMO" in screen  # it did draw the dashboard
    assert screen.rfind(b"\x1b[?1049l") > screen.rfind(b"\x1b[?1049h")  # main screen back


def test_no_demo_without_a_node_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        blocksight("serve", "--no-demo"), env=clean_env(tmp_path),
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no Bitcoin Core node" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_serve_without_its_hub_is_one_line_and_status_2(tmp_path: Path) -> None:
    result = subprocess.run(blocksight("serve", "--no-hub"), env=clean_env(tmp_path),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr == (
        "blocksight: serve is the hub: drop --no-hub, or hub.enabled = false from the settings\n"
    )


def test_a_bad_setting_is_one_line_and_status_2(tmp_path: Path) -> None:
    env = clean_env(tmp_path) | {"BLOCKSIGHT_HUB__PORT": "99999"}
    result = subprocess.run(blocksight("serve"), env=env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "hub.port" in result.stderr and "BLOCKSIGHT_HUB__PORT" in result.stderr


def test_version_and_help() -> None:
    version = subprocess.run(blocksight("--version"), capture_output=True, text=True, timeout=30)
    assert version.returncode == 0 and version.stdout.startswith("blocksight ")
    usage = subprocess.run(blocksight("--help"), capture_output=True, text=True, timeout=30)
    assert usage.returncode == 0 and "serve" in usage.stdout and "--network" in usage.stdout


def test_serve_on_a_taken_port_says_so(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            blocksight("serve", "--demo", "--hub-port", str(port)), env=clean_env(tmp_path),
            capture_output=True, text=True, timeout=30,
        )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "address already in use" in lines[0], result.stderr
