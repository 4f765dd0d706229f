"""The hub's HTTP side: /healthz from the sources' states, and /api/schema."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from blocksight_tui.events import SourceInfo, TipHeight
from blocksight_tui.hub.bus import EventBus
from blocksight_tui.hub.health import healthy, source_health
from blocksight_tui.hub.server import HubServer

TIP = TipHeight(height=1, hash="0" * 63 + "1", time=1)


@pytest.fixture
async def hub() -> AsyncIterator[tuple[EventBus, str]]:
    bus = EventBus()
    server = HubServer(bus, "127.0.0.1", 0)
    await server.start()
    yield bus, f"http://127.0.0.1:{server.bound_port}"
    await server.stop()


async def get(url: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


async def test_healthz_follows_the_chain_source(hub: tuple[EventBus, str]) -> None:
    bus, base = hub
    status, body = await get(f"{base}/healthz")
    assert status == 503 and body["chain"] is None  # nothing heard yet
    bus.publish("tip.height", TIP, SourceInfo(name="core"))
    absent = SourceInfo(name="electrum", state="unavailable", reason="no Electrum server")
    bus.publish("tip.height", None, absent)
    status, body = await get(f"{base}/healthz")
    assert status == 200 and body["status"] == "ok" and body["chain"] == "core"
    assert body["sources"]["electrum"]["state"] == "unavailable"  # reported, not fatal
    off = SourceInfo(name="prices", state="off", reason="off (--no-price)")
    bus.publish("price.current", None, off)
    status, body = await get(f"{base}/healthz")
    assert status == 200 and body["sources"]["prices"]["state"] == "off"
    down = SourceInfo(name="core", state="stale", reason="cannot connect to 127.0.0.1:8332")
    bus.publish("tip.height", TIP, down)
    status, body = await get(f"{base}/healthz")
    assert status == 503 and body["status"] == "degraded"
    assert body["sources"]["core"]["reasons"] == [
        "tip.height: cannot connect to 127.0.0.1:8332"
    ]
    bus.publish("tip.height", TIP, SourceInfo(name="core"))  # the node is back
    status, body = await get(f"{base}/healthz")
    assert status == 200 and body["status"] == "ok"


async def test_healthz_says_when_the_chain_is_the_simulated_one(
    hub: tuple[EventBus, str],
) -> None:
    """A public dashboard's monitor must be able to tell made-up blocks
    from a node's: the demo is healthy, and named."""
    bus, base = hub
    bus.publish("tip.height", TIP, SourceInfo(name="demo"))
    status, body = await get(f"{base}/healthz")
    assert status == 200 and body["chain"] == "demo"


def test_a_chain_source_that_never_answered_is_unhealthy() -> None:
    bus = EventBus()
    bus.publish("tip.height", None, SourceInfo(name="core", state="unavailable", reason="401"))
    assert not healthy(source_health(bus.latest()))


async def test_schema_is_served(hub: tuple[EventBus, str]) -> None:
    _, base = hub
    status, body = await get(f"{base}/api/schema")
    assert status == 200 and set(body) == {"events", "frames"}
    assert body["events"]["title"] == "BlockSight event"
