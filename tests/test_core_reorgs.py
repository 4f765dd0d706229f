"""Reorgs, outages and pushed blocks against the real node daemon."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from blocksight_tui.node_discovery import discover_rpc_endpoint
from blocksight_tui.runtime import Runtime
from blocksight_tui.settings import load_settings
from tests.hub_client import HubClient
from tests.node_daemon import (
    RegtestNode,
    free_port,
    remove_node,
    start_node,
)

pytestmark = pytest.mark.daemon


def settings_for(node: RegtestNode, **intervals: float) -> Any:
    fast = {n: 0.5 for n in ("tip", "fees", "mempool", "blockchain", "network", "mining")}
    return load_settings(
        {
            "node": {
                "network": "regtest", "rpc_port": node.rpc_port, "rpc_user": node.user,
                "rpc_password": node.password, "datadir": str(node.datadir),
            },
            "hub": {"port": 0},
            "intervals": fast | intervals,
            "demo": {"mode": "off"},
        },
        environ={},
    )


async def started(node: RegtestNode, **intervals: float) -> Runtime:
    settings = settings_for(node, **intervals)
    runtime = Runtime(settings, "node", discover_rpc_endpoint(settings.node))
    await runtime.start()
    return runtime


async def rpc(node: RegtestNode, method: str, *params: Any) -> Any:
    return await asyncio.to_thread(node.rpc, method, *params)


def event_is(kind: str, **data: Any) -> Any:
    def match(frame: dict[str, Any]) -> bool:
        if frame["frame"] != "event" or frame["event"]["type"] != kind:
            return False
        got = frame["event"]["data"] or {}
        return all(got.get(k) == v for k, v in data.items())

    return match


@pytest.fixture
def own_node() -> Iterator[RegtestNode]:
    """A node of the test's own, for tests that stop it or use ZMQ."""
    zmq_port = free_port()
    node = start_node(f"-zmqpubhashblock=tcp://127.0.0.1:{zmq_port}")
    node.zmq_port = zmq_port  # type: ignore[attr-defined]
    yield node
    remove_node(node)


@pytest.fixture
async def watched(regtest_node: RegtestNode) -> AsyncIterator[tuple[Runtime, HubClient]]:
    runtime = await started(regtest_node, tip=0.2)
    assert runtime.hub_url is not None
    await asyncio.sleep(0.5)
    client = await HubClient.connect(runtime.hub_url)
    yield runtime, client
    await client.close()
    await runtime.stop()


async def test_reorgs_of_depth_1_and_3_and_back(
    regtest_node: RegtestNode, watched: tuple[Runtime, HubClient]
) -> None:
    _, client = watched
    await rpc(regtest_node, "generate", 5)
    h = await rpc(regtest_node, "getblockcount")
    await client.wait_for(event_is("tip.height", height=h), timeout=5)

    # Invalidate the tip, mine two: one reorg of depth 1.
    old_tip = await rpc(regtest_node, "getbestblockhash")
    await rpc(regtest_node, "invalidateblock", old_tip)
    await rpc(regtest_node, "generate", 2)
    frame = await client.wait_for(event_is("chain.reorg"), timeout=5)
    reorg = frame["event"]["data"]
    assert reorg["depth"] == 1 and reorg["fork_height"] == h - 1
    assert reorg["old_tip_hash"] == old_tip and reorg["disconnected"] == [old_tip]
    assert reorg["new_tip_height"] == h + 1
    assert reorg["new_tip_hash"] == await rpc(regtest_node, "getbestblockhash")
    await client.wait_for(event_is("tip.height", height=h + 1), timeout=5)

    # Three deep: invalidate the block two below the tip, mine four.
    top = h + 1
    branch_a = [await rpc(regtest_node, "getblockhash", x) for x in (top - 2, top - 1, top)]
    await rpc(regtest_node, "invalidateblock", branch_a[0])
    await rpc(regtest_node, "generate", 4)
    frame = await client.wait_for(event_is("chain.reorg"), timeout=5)
    reorg = frame["event"]["data"]
    assert reorg["depth"] == 3 and reorg["fork_height"] == top - 3
    assert reorg["disconnected"] == list(reversed(branch_a))
    assert len(reorg["connected"]) == 4
    await client.wait_for(event_is("tip.height", height=top + 1), timeout=5)

    # And back: the old branch made valid again and longer wins.
    branch_b_first = await rpc(regtest_node, "getblockhash", top - 2)
    await rpc(regtest_node, "invalidateblock", branch_b_first)
    await rpc(regtest_node, "reconsiderblock", branch_a[0])
    await rpc(regtest_node, "generate", 2)  # branch a: top + 2
    frame = await client.wait_for(event_is("chain.reorg"), timeout=5)
    back = frame["event"]["data"]
    assert back["fork_height"] == top - 3 and back["depth"] == 4
    assert back["connected"][-3:] == list(reversed(branch_a))
    await asyncio.sleep(1.0)
    assert len(client.events("chain.reorg")) == 3  # exactly one per switch


async def test_jumps_report_every_height_once(
    regtest_node: RegtestNode, watched: tuple[Runtime, HubClient]
) -> None:
    # The hub may coalesce a burst for a client; the bus carries every tip.
    runtime, client = watched
    seen: list[Any] = []
    runtime.bus.subscribe(seen.append)
    h = await rpc(regtest_node, "getblockcount")
    await rpc(regtest_node, "generate", 6)
    await client.wait_for(event_is("tip.height", height=h + 6), timeout=5)
    heights = [
        e.data.height for e in seen
        if e.type == "tip.height" and e.source.state == "ok" and e.data.height > h
    ]
    assert heights == list(range(h + 1, h + 7))
    assert not [e for e in seen if e.type == "chain.reorg"]


async def test_node_going_away_and_coming_back(own_node: RegtestNode) -> None:
    runtime = await started(own_node, tip=0.3)
    assert runtime.hub_url is not None
    seen: list[Any] = []
    runtime.bus.subscribe(seen.append)
    client = await HubClient.connect(runtime.hub_url)
    try:
        await rpc(own_node, "generate", 3)
        await client.wait_for(event_is("tip.height", height=3), timeout=5)
        await asyncio.to_thread(own_node.stop)
        stopped = time.monotonic()
        frame = await client.wait_for(
            lambda f: f["frame"] == "event" and f["event"]["type"] == "tip.height"
            and f["event"]["source"]["state"] == "stale", timeout=5,
        )
        assert time.monotonic() - stopped < 2.0  # within one tip poll (plus the stop)
        assert frame["event"]["data"]["height"] == 3
        assert frame["event"]["source"]["reason"]
        await asyncio.sleep(0.5)
        degraded = {
            e.type: e.source.state for e in runtime.bus.latest()
            if e.source.name == "core" and e.type != "chain.reorg"
        }
        assert set(degraded.values()) <= {"stale", "unavailable"}, degraded
        assert len(degraded) == 6
        assert runtime.scheduler.running

        await asyncio.to_thread(own_node.start)
        await rpc(own_node, "generate", 1)
        frame = await client.wait_for(event_is("tip.height", height=4), timeout=40)
        assert frame["event"]["source"]["state"] == "ok"
        await client.wait_for(
            lambda f: f["frame"] == "event" and f["event"]["type"] == "blockchain.mining"
            and f["event"]["source"]["state"] == "ok", timeout=10,
        )
        ok_tips = [
            (e.data.height, e.data.hash) for e in seen
            if e.type == "tip.height" and e.source.state == "ok"
        ]
        # The same tip again once the node is back is a state change, not a
        # block: distinct tips cover each height once, none skipped.
        heights = [h for h, _ in dict.fromkeys(ok_tips)]
        assert heights == list(range(heights[0], 5)) and heights[0] <= 3
        assert not [e for e in seen if e.type == "chain.reorg"]  # a restart is no reorg
    finally:
        await client.close()
        await runtime.stop()


async def test_zmq_block_reaches_a_client_within_a_second(own_node: RegtestNode) -> None:
    # The tip is polled once a minute: only the push can be this fast.
    settings = settings_for(own_node, tip=60.0)
    settings = settings.model_copy(
        update={"node": settings.node.model_copy(
            update={"zmq_endpoint": f"tcp://127.0.0.1:{own_node.zmq_port}"}  # type: ignore[attr-defined]
        )}
    )
    runtime = Runtime(settings, "node", discover_rpc_endpoint(settings.node))
    await runtime.start()
    assert runtime.hub_url is not None
    client = await HubClient.connect(runtime.hub_url)
    try:
        # A subscriber misses what is published before it has joined: mine
        # until a block arrives by push, then time the next ones.
        for _ in range(10):
            h = await rpc(own_node, "getblockcount") + 1
            await rpc(own_node, "generate", 1)
            try:
                await client.wait_for(event_is("tip.height", height=h), timeout=1.0)
                break
            except TimeoutError:
                continue
        else:
            pytest.fail("no block arrived by ZMQ")
        for n in range(1, 4):
            mined = time.monotonic()
            await rpc(own_node, "generate", 1)
            await client.wait_for(event_is("tip.height", height=h + n), timeout=1.0)
            assert time.monotonic() - mined < 1.0
    finally:
        await client.close()
        await runtime.stop()
