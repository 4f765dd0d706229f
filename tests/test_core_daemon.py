"""Against a real node daemon: the Core adapter polls it, the hub serves it,
a real WebSocket client sees each block."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from blocksight_tui.node_discovery import discover_rpc_endpoint
from blocksight_tui.runtime import Runtime
from blocksight_tui.settings import Settings, load_settings
from tests.hub_client import HubClient
from tests.node_daemon import RegtestNode

pytestmark = pytest.mark.daemon

FAST = {name: 0.3 for name in ("tip", "fees", "mempool", "blockchain", "network", "mining")}


def node_settings(node: RegtestNode, password: str | None = None) -> Settings:
    return load_settings(
        {
            "node": {
                "network": "regtest",
                "rpc_port": node.rpc_port,
                "rpc_user": node.user,
                "rpc_password": password or node.password,
                "datadir": str(node.datadir),
            },
            "hub": {"port": 0},
            "intervals": FAST,
            "demo": {"mode": "off"},
        },
        environ={},
    )


@pytest.fixture
async def node_runtime(regtest_node: RegtestNode) -> AsyncIterator[Runtime]:
    settings = node_settings(regtest_node)
    runtime = Runtime(settings, "node", discover_rpc_endpoint(settings.node))
    await runtime.start()
    yield runtime
    await runtime.stop()


def is_tip(height: int) -> Any:
    return lambda f: (
        f["frame"] == "event"
        and f["event"]["type"] == "tip.height"
        and f["event"]["data"] is not None
        and f["event"]["data"]["height"] == height
    )


async def test_blocks_mined_reach_a_websocket_client(
    regtest_node: RegtestNode, node_runtime: Runtime
) -> None:
    assert node_runtime.hub_url is not None
    await asyncio.sleep(1.0)  # let every poll run once
    client = await HubClient.connect(node_runtime.hub_url)
    try:
        assert (await client.next_frame(5))["frame"] == "hello"
        snapshot = await client.next_frame(5)
        by_type = {e["type"]: e for e in snapshot["events"] if e["source"]["name"] == "core"}
        start = await asyncio.to_thread(regtest_node.rpc, "getblockcount")
        assert by_type["tip.height"]["data"]["height"] == start
        assert by_type["tip.height"]["source"] == {
            "name": "core", "state": "ok", "reason": None, "detail": None
        }
        for kind in ("blockchain.info", "blockchain.network", "blockchain.mining",
                     "network.mempool"):
            assert by_type[kind]["source"]["state"] == "ok", by_type[kind]
        assert by_type["blockchain.info"]["data"]["chain"] == "regtest"
        # This node has no estimatesmartfee: the figure says so, nothing breaks.
        fees = by_type["network.fees"]
        assert fees["source"]["state"] == "unavailable"
        assert "estimatesmartfee" in fees["source"]["reason"]
        assert fees["data"] is None

        for height in range(start + 1, start + 4):
            await asyncio.to_thread(regtest_node.rpc, "generate", 1)
            frame = await client.wait_for(is_tip(height), timeout=5)
            tip = frame["event"]["data"]
            assert tip["hash"] == await asyncio.to_thread(regtest_node.rpc, "getbestblockhash")
        # A jump of several blocks at once is one tip event at the new height.
        await asyncio.to_thread(regtest_node.rpc, "generate", 5)
        await client.wait_for(is_tip(start + 8), timeout=5)
        # The other figures follow the chain too (they may have come already).
        if client.events("blockchain.mining")[-1]["data"]["blocks"] != start + 8:
            await client.wait_for(
                lambda f: f["frame"] == "event" and f["event"]["type"] == "blockchain.mining"
                and f["event"]["data"]["blocks"] == start + 8,
                timeout=5,
            )
        assert node_runtime.scheduler.running
    finally:
        await client.close()


async def test_wrong_password_says_authentication_failed(regtest_node: RegtestNode) -> None:
    settings = node_settings(regtest_node, password="not-the-password")
    runtime = Runtime(settings, "node", discover_rpc_endpoint(settings.node))
    await runtime.start()
    try:
        await asyncio.sleep(1.0)
        tip = runtime.bus.latest_of("tip.height", "core")
        assert tip is not None and tip.data is None
        assert tip.source.state == "unavailable"
        assert tip.source.reason is not None and "authentication failed" in tip.source.reason
        assert "not-the-password" not in tip.model_dump_json()
        assert runtime.scheduler.running
    finally:
        await runtime.stop()
