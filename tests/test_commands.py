"""The installed commands as a user runs them: `blocksight serve` headless,
`--no-demo` without a node, and an orderly stop on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

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


async def test_serve_runs_headless_and_stops_within_two_seconds(tmp_path: Path) -> None:
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
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        closing = await client.ws.receive(timeout=2)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert client.ws.close_code == 1001
        await client.close()
        assert await asyncio.wait_for(process.wait(), 2) == 0
        assert time.monotonic() - started < 2.0
    finally:
        if process.returncode is None:
            process.kill()
        assert process.stderr is not None
        stderr = (await process.stderr.read()).decode()
        await process.wait()
    assert "Traceback" not in stderr
    assert "serving simulated network" in stderr


def test_no_demo_without_a_node_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        blocksight("serve", "--no-demo"), env=clean_env(tmp_path),
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no Bitcoin Core node" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


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
