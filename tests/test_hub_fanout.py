"""The hub's fan-out against real sockets: a client that stops reading costs
bounded memory, delays nobody and is closed; reorgs are never coalesced away;
a peer that stops answering pings is dropped; the frame bytes built once are
those aiohttp would have written."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.http import WebSocketWriter

from blocksight_tui.events import ChainReorg, FxRates, SourceInfo, TipHeight
from blocksight_tui.hub.bus import EventBus
from blocksight_tui.hub.clients import text_frame
from blocksight_tui.hub.server import HubServer
from tests.hub_client import HubClient, RawPeer

SRC = SourceInfo(name="core")
WRITE_LIMIT = 64 * 1024


def tip(height: int) -> TipHeight:
    return TipHeight(height=height, hash=f"{height:064x}", time=height)


def rates(n: int) -> FxRates:
    """A ~6 kB event, so that a peer that stops reading fills its buffers."""
    return FxRates(base="USD", rates={f"C{i:03}": n + i / 1000 for i in range(400)})


def reorg(height: int) -> ChainReorg:
    h = f"{height:064x}"
    return ChainReorg(
        depth=1, fork_height=height - 1, fork_hash=h, old_tip_height=height,
        old_tip_hash=h, new_tip_height=height, new_tip_hash=h,
        disconnected=(h,), connected=(h,),
    )


async def until(condition: Any, timeout: float) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise TimeoutError("condition not met in time")


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
async def hub(bus: EventBus, request: pytest.FixtureRequest) -> AsyncIterator[HubServer]:
    options = getattr(request, "param", {})
    server = HubServer(bus, "127.0.0.1", 0, write_buffer_limit=WRITE_LIMIT, **options)
    await server.start()
    yield server
    await server.stop()


async def stalled_peer(hub: HubServer, bus: EventBus) -> RawPeer:
    """A connected peer that has stopped reading, with the buffers between it
    and the hub already full: what the hub sends it next waits in its outbox."""
    peer = await RawPeer.connect(hub.url)
    await until(lambda: hub.client_count == 1, 5)
    (client,) = hub.clients
    n = 0
    while client.behind_since is None:
        n += 1
        bus.publish("fx.rates", rates(n), SRC)
        await asyncio.sleep(0)
    return peer


@pytest.mark.parametrize("hub", [{"lag_limit": 1.0, "heartbeat": 60.0}], indirect=True)
async def test_a_client_that_never_reads_is_bounded_and_closed_as_too_slow(
    bus: EventBus, hub: HubServer
) -> None:
    slow = await RawPeer.connect(hub.url)
    await until(lambda: hub.client_count == 1, 5)
    (slow_client,) = hub.clients
    fast = await HubClient.connect(hub.url)
    await fast.next_frame(5)  # hello
    await fast.next_frame(5)  # snapshot
    loop = asyncio.get_running_loop()
    arrivals: dict[int, float] = {}

    async def read_fast() -> None:
        while len(arrivals) < 1000:
            frame = await fast.next_frame(10)
            arrivals[frame["event"]["seq"]] = loop.time()

    reader = asyncio.create_task(read_fast())
    published: dict[int, float] = {}
    peak_outbox = peak_buffered = 0
    closed_at = None
    for n in range(1, 1001):
        event = bus.publish("fx.rates", rates(n), SRC)
        assert event is not None
        published[event.seq] = loop.time()
        peak_outbox = max(peak_outbox, len(slow_client.outbox))
        peak_buffered = max(peak_buffered, slow_client.buffered)
        if closed_at is None and hub.stats.clients_closed_slow:
            closed_at = loop.time()
        await asyncio.sleep(0.001)
    await asyncio.wait_for(reader, 10)

    # The reading client got every event, none coalesced, each promptly.
    assert sorted(arrivals) == sorted(published)
    assert max(arrivals[s] - published[s] for s in published) < 1.0
    # The one that never read held one pending frame, and no more than its
    # write limit and one frame in its buffer; what the kernel took for it is
    # bounded by the send buffer (~90 of these frames).
    assert peak_outbox <= 1
    assert peak_buffered <= WRITE_LIMIT + 10_000
    assert hub.stats.frames_coalesced > 100
    assert hub.stats.frames_sent - 1000 < 150
    # Closed once behind for the limit (1 s), by the sweep (every 0.25 s).
    await until(lambda: hub.stats.clients_closed_slow == 1, 5.0)
    closed_at = closed_at or loop.time()
    assert slow_client.behind_since is not None
    assert 1.0 < closed_at - slow_client.behind_since < 1.0 + 0.25 + 0.5
    assert hub.clients == (next(c for c in hub.clients if c is not slow_client),)
    frames, code = await slow.read_frames(10)
    assert code == 1013
    assert [f["frame"] for f in frames[:2]] == ["hello", "snapshot"]
    seqs = [f["event"]["seq"] for f in frames[2:]]
    assert seqs == sorted(seqs) and len(seqs) < 1000
    # The reading client is still served.
    event = bus.publish("tip.height", tip(1), SRC)
    assert event is not None
    assert (await fast.next_frame(5))["event"]["seq"] == event.seq
    assert hub.stats.frames_sent >= 1000 and hub.stats.bytes_sent > 1000 * 5000
    slow.close()
    await fast.close()


@pytest.mark.parametrize("hub", [{"lag_limit": 60.0, "heartbeat": 60.0}], indirect=True)
async def test_a_lagging_client_gets_every_reorg_and_the_newest_of_the_rest(
    bus: EventBus, hub: HubServer
) -> None:
    peer = await stalled_peer(hub, bus)
    reorgs = []
    for height in range(1, 41):
        bus.publish("tip.height", tip(height), SRC)
        if height % 2 == 0:
            event = bus.publish("chain.reorg", reorg(height), SRC)
            assert event is not None
            reorgs.append(event.seq)
    last_tip = bus.latest_of("tip.height")
    assert last_tip is not None
    (client,) = hub.clients
    # Every reorg, the newest tip, and perhaps the newest fx.rates (unless the
    # task draining the outbox holds it already).
    assert len(client.outbox) in (len(reorgs) + 1, len(reorgs) + 2)

    # Now it reads: everything in seq order, every reorg, only the last tip.
    async def read_until(seq: int) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        while not got or got[-1].get("event", {}).get("seq") != seq:
            got.append(await peer.next_frame(10))
        return got

    frames = await read_until(bus.last_seq)
    events = [f["event"] for f in frames if f["frame"] == "event"]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs)
    assert [e["seq"] for e in events if e["type"] == "chain.reorg"] == reorgs
    assert [e["seq"] for e in events if e["type"] == "tip.height"] == [last_tip.seq]
    # Caught up, it is served live again, in order.
    later = bus.publish("tip.height", tip(100), SRC)
    assert later is not None
    assert (await read_until(later.seq))[-1]["event"]["seq"] == later.seq
    assert hub.stats.clients_closed_slow == 0
    peer.close()


@pytest.mark.parametrize("hub", [{"lag_limit": 60.0, "heartbeat": 60.0}], indirect=True)
async def test_more_pending_reorgs_than_the_outbox_keeps_closes_with_1013(
    bus: EventBus, hub: HubServer
) -> None:
    peer = await stalled_peer(hub, bus)
    for height in range(1, 66):
        bus.publish("chain.reorg", reorg(height), SRC)
    assert hub.client_count == 0 and hub.stats.clients_closed_slow == 1
    frames, code = await peer.read_frames(10)
    assert code == 1013
    peer.close()


@pytest.mark.parametrize("hub", [{"heartbeat": 0.2}], indirect=True)
async def test_heartbeat_closes_a_silent_peer_and_keeps_a_live_one(hub: HubServer) -> None:
    live = await HubClient.connect(hub.url)
    # aiohttp answers pings while it is reading.
    reading = asyncio.create_task(live.wait_for(lambda f: False, timeout=30))
    silent = await RawPeer.connect(hub.url)  # never reads, never answers
    await until(lambda: hub.client_count == 2, 5)
    await until(lambda: hub.client_count == 1, 3)
    assert hub.stats.clients_closed_heartbeat == 1
    await asyncio.sleep(1.0)  # several heartbeats
    assert hub.client_count == 1 and not reading.done()
    _, code = await silent.read_frames(5)
    assert code is None  # dropped, not closed: it was not listening
    reading.cancel()
    assert [f["frame"] for f in live.frames] == ["hello", "snapshot"]
    silent.close()
    await live.close()


class _Sink:
    """Where aiohttp's writer writes, for comparing bytes."""

    def __init__(self) -> None:
        self.data = b""
        self._paused = False

    def write(self, data: bytes) -> None:
        self.data += data

    def is_closing(self) -> bool:
        return False


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 70_000])
async def test_a_frame_built_once_is_the_one_aiohttp_would_write(size: int) -> None:
    payload = b"x" * size
    sink = _Sink()
    writer = WebSocketWriter(sink, sink)  # type: ignore[arg-type]
    await writer.send_frame(payload, WSMsgType.TEXT)
    assert text_frame(payload) == sink.data
