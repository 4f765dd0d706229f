"""The Electrum adapter against real ElectrumX servers on the regtest node,
and against hostile ones: pushed tips to a hub client, failover and return,
TLS pinning, address search, and sessions dropped for bad behaviour."""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Callable
from typing import Any

import pytest

from blocksight_tui.adapters.electrum.adapter import ElectrumAdapter
from blocksight_tui.adapters.electrum.servers import parse_server
from blocksight_tui.node_discovery import discover_rpc_endpoint
from blocksight_tui.runtime import Runtime
from blocksight_tui.settings import load_settings
from tests.electrumx_server import (
    BLOCK_REWARD_SATS,
    MINED_BLOCKS,
    MINER_ADDRESS,
    ElectrumXServer,
    mine_blocks,
)
from tests.hostile_electrum import hostile_server
from tests.hub_client import HubClient
from tests.node_daemon import RegtestNode

pytestmark = pytest.mark.daemon

SLOW = {"tip": 60.0, "fees": 60.0}


async def until(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> float:
    """Seconds until `predicate` holds; fails the test past `timeout`."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            pytest.fail(f"not within {timeout} s")
        await asyncio.sleep(step)
    return time.monotonic() - started


def runtime_for(node: RegtestNode, servers: list[str], **electrum: Any) -> Runtime:
    settings = load_settings(
        {
            "node": {
                "network": "regtest", "rpc_port": node.rpc_port, "rpc_user": node.user,
                "rpc_password": node.password, "datadir": str(node.datadir),
            },
            "electrum": {"servers": servers, "ping_interval": 0.5, "timeout": 2.0} | electrum,
            "intervals": {"tip": 60.0, "fees": 60.0},
            "hub": {"port": 0},
            "demo": {"mode": "off"},
        },
        environ={},
    )
    return Runtime(settings, "node", discover_rpc_endpoint(settings.node))


def electrum_of(runtime: Runtime) -> ElectrumAdapter:
    adapter = runtime.adapters[-1]
    assert isinstance(adapter, ElectrumAdapter)
    return adapter


async def test_a_block_reaches_a_hub_client_within_2_s(
    electrum_node: RegtestNode, electrumx: ElectrumXServer
) -> None:
    runtime = runtime_for(electrum_node, [electrumx.tcp_url])
    await runtime.start()
    assert runtime.hub_url is not None
    client = await HubClient.connect(runtime.hub_url)
    try:
        adapter = electrum_of(runtime)
        await until(lambda: adapter.pool.active is not None, 10)
        height = await asyncio.to_thread(mine_blocks, electrum_node, 1)
        mined = time.monotonic()
        frame = await client.wait_for(
            lambda f: f["frame"] == "event" and f["event"]["type"] == "tip.height"
            and f["event"]["source"]["name"] == "electrum"
            and (f["event"]["data"] or {}).get("height") == height,
            timeout=2.0,
        )
        assert time.monotonic() - mined < 2.0
        assert "ElectrumX" in frame["event"]["source"]["detail"]
        assert frame["event"]["data"]["hash"] == electrum_node.rpc("getbestblockhash")
    finally:
        await client.close()
        await runtime.stop()


async def test_failover_within_5_s_and_back(
    electrumx_factory: Callable[..., ElectrumXServer]
) -> None:
    first, second = electrumx_factory(), electrumx_factory()
    adapter = ElectrumAdapter(
        [parse_server(first.tcp_url), parse_server(second.tcp_url)], SLOW,
        ping_interval=0.5, timeout=2.0,
    )
    await adapter.start(lambda *names: None)
    try:
        await until(lambda: all(link.state == "up" for link in adapter.pool.links), 15)
        # The first server to answer is active; make it the first listed.
        assert adapter.pool.prefer(first.tcp_url)
        await asyncio.to_thread(first.stop)
        took = await until(
            lambda: adapter.pool.active is not None
            and adapter.pool.active.url == second.tcp_url, 5.0,
        )
        assert took < 5.0
        (tip,) = await adapter.poll_tip()
        assert tip.source.state == "ok" and second.tcp_url in (tip.source.detail or "")
        # The stopped server comes back: its session returns, not its role.
        await asyncio.to_thread(first.restart)
        await until(lambda: adapter.pool.links[0].state == "up", 40)
        assert adapter.pool.active.url == second.tcp_url
        # Back when asked...
        assert adapter.pool.prefer(first.tcp_url)
        assert adapter.pool.active.url == first.tcp_url
        # ...or when the other fails.
        adapter.pool.prefer(second.tcp_url)
        await asyncio.to_thread(second.stop)
        await until(lambda: adapter.pool.active is not None
                    and adapter.pool.active.url == first.tcp_url, 5.0)
    finally:
        await adapter.close()


async def test_self_signed_tls_is_refused_unless_pinned(electrumx_ssl: ElectrumXServer) -> None:
    assert electrumx_ssl.ssl_url
    unpinned = ElectrumAdapter([parse_server(electrumx_ssl.ssl_url)], SLOW, timeout=2.0)
    await unpinned.start(lambda *names: None)
    try:
        link = unpinned.pool.links[0]
        await until(lambda: link.last_error is not None, 10)
        assert link.state != "up" and "certificate" in (link.last_error or "").lower()
    finally:
        await unpinned.close()
    pins = {electrumx_ssl.ssl_url: electrumx_ssl.fingerprint_sha256()}
    pinned = ElectrumAdapter([parse_server(electrumx_ssl.ssl_url, pins)], SLOW, timeout=2.0)
    await pinned.start(lambda *names: None)
    try:
        await until(lambda: pinned.pool.active is not None, 10)
        (tip,) = await pinned.poll_tip()
        assert tip.source.state == "ok"
    finally:
        await pinned.close()
    # The certificate file itself may be pinned instead of its fingerprint.
    assert electrumx_ssl.cert_file is not None
    by_file = {electrumx_ssl.ssl_url: str(electrumx_ssl.cert_file)}
    spec = parse_server(electrumx_ssl.ssl_url, by_file)
    assert spec.pin == electrumx_ssl.fingerprint_sha256()
    wrong = {electrumx_ssl.ssl_url: "ab" * 32}
    mispinned = ElectrumAdapter([parse_server(electrumx_ssl.ssl_url, wrong)], SLOW, timeout=2.0)
    await mispinned.start(lambda *names: None)
    try:
        link = mispinned.pool.links[0]
        await until(lambda: link.last_error is not None, 10)
        assert "not the pinned one" in (link.last_error or "")
    finally:
        await mispinned.close()


async def test_address_search_finds_the_mined_coins(
    electrum_node: RegtestNode, electrumx: ElectrumXServer
) -> None:
    adapter = ElectrumAdapter([parse_server(electrumx.tcp_url)], SLOW, network="regtest")
    await adapter.start(lambda *names: None)
    try:
        await until(lambda: adapter.pool.active is not None, 10)
        report = await adapter.lookups.address(MINER_ADDRESS)
        assert report.confirmed_sat == MINED_BLOCKS * BLOCK_REWARD_SATS
        assert report.history_total == MINED_BLOCKS
        heights = [item.height for item in report.history]
        assert heights == sorted(heights, reverse=True)  # newest first
        assert len(report.history) == 50  # bounded
        coinbase = await adapter.lookups.transaction(report.history[-1].txid)
        assert coinbase.get("txid") == report.history[-1].txid
        assert report.privacy_warning is None  # the server is on this machine
    finally:
        await adapter.close()


@pytest.mark.parametrize("kind", ["garbage", "huge_line", "silent", "wrong_version", "slow_drip"])
async def test_a_hostile_server_is_dropped_and_the_rest_goes_on(
    electrum_node: RegtestNode, electrumx: ElectrumXServer, kind: str
) -> None:
    async with hostile_server(kind) as bad_url:
        runtime = runtime_for(electrum_node, [bad_url, electrumx.tcp_url])
        core_events: list[Any] = []
        runtime.bus.subscribe(lambda e: e.source.name == "core" and core_events.append(e))
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        await runtime.start()
        try:
            adapter = electrum_of(runtime)
            hostile = adapter.pool.links[0]
            await until(lambda: hostile.last_error is not None, 10)
            assert hostile.state != "up"
            await until(lambda: adapter.pool.active is not None, 10)
            assert adapter.pool.active.url == electrumx.tcp_url
            before = len(core_events)
            runtime.scheduler.trigger()
            await until(lambda: len(core_events) > before or bool(core_events), 5)
            grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
            assert grown_mb < 120, f"grew {grown_mb:.0f} MB"
        finally:
            await runtime.stop()
