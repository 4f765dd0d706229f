"""`blocksight attach`: the hub link against a real HubServer on loopback,
through drops and restarts, and its URL, backoff and link states."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from blocksight_tui.adapters.resilience import Backoff
from blocksight_tui.events import (
    ChainReorg,
    Event,
    PriceCurrent,
    SourceInfo,
    TipHeight,
    make_event,
)
from blocksight_tui.hub.bus import EventBus
from blocksight_tui.hub.protocol import event_frame, hello_frame, snapshot_frame
from blocksight_tui.hub.server import HubServer
from blocksight_tui.orchestrator.main import MainOrchestrator
from blocksight_tui.remote.frames import BadFrame, ProtocolMismatch, Skipped, read_frame
from blocksight_tui.remote.link import LINK_LOST, HubLink, token_notices
from blocksight_tui.remote.state import LinkState, describe
from blocksight_tui.remote.url import HubAddress, parse_hub_url
from tests.attach_support import Recorder, drop_listener, free_port, until

CORE = SourceInfo(name="core")
PRICES = SourceInfo(name="prices")


def tip(height: int, salt: int = 0) -> TipHeight:
    return TipHeight(height=height, hash=f"{salt:02x}{height:062x}", time=height)


def reorg(height: int) -> ChainReorg:
    old, new = tip(height, salt=1).hash, tip(height).hash
    return ChainReorg(
        depth=1,
        fork_height=height - 1,
        fork_hash=tip(height - 1).hash,
        old_tip_height=height,
        old_tip_hash=old,
        new_tip_height=height,
        new_tip_hash=new,
        disconnected=(old,),
        connected=(new,),
    )


def address(port: int) -> HubAddress:
    return parse_hub_url(f"ws://127.0.0.1:{port}")


def fast_link(port: int, sink: Recorder, **kwargs: Any) -> HubLink:
    """A link that retries within a tenth of a second."""
    return HubLink(address(port), sink, backoff=Backoff(0.02, 0.1), sync_timeout=5.0, **kwargs)


def height_of(sink: Recorder) -> int | None:
    chain = sink.state("blockchain")
    return chain.tip.data.height if chain.tip is not None else None


@pytest.fixture
async def links() -> AsyncIterator[list[HubLink]]:
    """Links made by a test, stopped after it whatever happened."""
    made: list[HubLink] = []
    yield made
    for link in made:
        await link.stop()


@pytest.fixture
async def hubs() -> AsyncIterator[list[HubServer]]:
    made: list[HubServer] = []
    yield made
    for hub in made:
        await hub.stop()


async def start_hub(hubs: list[HubServer], bus: EventBus, port: int) -> HubServer:
    hub = HubServer(bus, "127.0.0.1", port)
    await hub.start()
    hubs.append(hub)
    return hub


async def linked_hub(
    hubs: list[HubServer], links: list[HubLink]
) -> tuple[EventBus, HubServer, Recorder, HubLink]:
    """A hub that knows a tip and a price, and a link connected to it."""
    bus = EventBus()
    bus.publish("tip.height", tip(100), CORE)
    bus.publish("price.current", PriceCurrent(currency="USD", price=97_000.0), PRICES)
    port = free_port()
    hub = await start_hub(hubs, bus, port)
    sink = Recorder()
    link = fast_link(port, sink)
    links.append(link)
    await link.start()
    await until(lambda: sink.phase == "connected", what="connected")
    return bus, hub, sink, link


# ---------------------------------------------------------------- against a real hub


async def test_the_link_takes_the_hubs_state_then_its_events(
    hubs: list[HubServer], links: list[HubLink]
) -> None:
    bus, hub, sink, link = await linked_hub(hubs, links)
    assert height_of(sink) == 100
    assert sink.state("external_api").price.data.price == 97_000.0
    assert sink.phases == ["connecting", "connected"]
    assert link.last_seq == bus.last_seq == 2

    bus.publish("tip.height", tip(101), CORE)
    await until(lambda: height_of(sink) == 101, what="tip 101")
    system = sink.state("system")
    assert system.mode == "attach" and system.link.phase == "connected"
    assert system.link.address == f"127.0.0.1:{hub.bound_port}"
    assert system.link.server and system.link.server.startswith("blocksight/")


async def test_a_restarted_listener_is_resumed_with_exactly_the_missed_events(
    hubs: list[HubServer], links: list[HubLink]
) -> None:
    bus, hub, sink, link = await linked_hub(hubs, links)
    stream, seen = link.stream, link.last_seq

    await drop_listener(hub)
    await until(lambda: sink.phase == "reconnecting", what="reconnecting")
    chain = sink.state("blockchain")
    # What the hub last said stays, marked stale, with the reason.
    assert chain.tip.data.height == 100
    assert chain.tip.source.state == "stale" and chain.tip.source.reason == LINK_LOST
    assert sink.state("external_api").price.source.state == "stale"
    assert {info.state for _, info in sink.state("system").sources} == {"stale"}

    # While the link is down: two blocks, a reorg, a price.
    missed = [
        bus.publish("tip.height", tip(101, salt=1), CORE),
        bus.publish("tip.height", tip(102), CORE),
        bus.publish("chain.reorg", reorg(101), CORE),
        bus.publish("tip.height", tip(101), CORE),
        bus.publish("tip.height", tip(102, salt=2), CORE),
        bus.publish("price.current", PriceCurrent(currency="USD", price=98_000.0), PRICES),
    ]
    missed_seqs = [e.seq for e in missed if e is not None]
    assert len(missed_seqs) == 6

    await hub.start()
    await until(lambda: sink.phase == "connected" and link.connections == 2, what="resumed")
    after = [e.seq for e in sink.events if e.seq > seen]
    assert after == missed_seqs  # each missed event once, in order: no block, no reorg lost
    assert link.stream == stream and link.last_seq == bus.last_seq
    assert sink.resets == 1  # the first connection only: a resume replaces nothing

    chain = sink.state("blockchain")
    assert chain.reorg_count == 1 and chain.last_reorg == reorg(101)
    assert chain.tip.data == tip(102, salt=2) and chain.tip.source.state == "ok"
    assert sink.state("external_api").price.data.price == 98_000.0
    phases = sink.phases
    assert phases[:3] == ["connecting", "connected", "reconnecting"]
    assert phases[-1] == "connected"

    # Live again, and a figure unchanged through the outage is no longer stale.
    bus.publish("tip.height", tip(103), CORE)
    await until(lambda: height_of(sink) == 103)
    assert all(info.state == "ok" for _, info in sink.state("system").sources)


async def test_reorgs_published_through_the_restart_each_arrive_once_in_order(
    hubs: list[HubServer], links: list[HubLink]
) -> None:
    """Reorgs are never coalesced, so every one must arrive: the replay and
    the live events overlap while the link resumes, and neither may be lost
    nor doubled."""
    bus = EventBus()
    bus.publish("tip.height", tip(100), CORE)
    port = free_port()
    hub = await start_hub(hubs, bus, port)
    sink = Recorder()
    link = HubLink(address(port), sink, backoff=Backoff(0.01, 0.02))
    links.append(link)
    await link.start()
    await until(lambda: sink.phase == "connected")
    published: list[int] = []
    stop = asyncio.Event()

    async def keep_reorging() -> None:
        height = 200
        while not stop.is_set():
            event = bus.publish("chain.reorg", reorg(height), CORE)
            assert event is not None
            published.append(event.seq)
            height += 1
            await asyncio.sleep(0.002)

    publisher = asyncio.create_task(keep_reorging())
    try:
        await asyncio.sleep(0.05)
        await drop_listener(hub)
        await asyncio.sleep(0.1)
        await hub.start()
        await until(lambda: link.connections == 2)
        await asyncio.sleep(0.1)
    finally:
        stop.set()
        await publisher
    await until(lambda: link.last_seq == bus.last_seq, what="the last reorg")
    delivered = [e.seq for e in sink.events if e.type == "chain.reorg" and e.data is not None]
    assert delivered == published
    assert sink.state("blockchain").reorg_count == len(published) > 50


async def test_a_figure_unchanged_through_the_drop_is_fresh_again_after_resume(
    hubs: list[HubServer], links: list[HubLink]
) -> None:
    bus, hub, sink, link = await linked_hub(hubs, links)
    await drop_listener(hub)
    await until(lambda: sink.state("blockchain").tip.source.state == "stale")
    await hub.start()  # nothing happened meanwhile: no event to replay
    await until(lambda: link.connections == 2)
    assert sink.state("blockchain").tip.source.state == "ok"
    assert sink.state("external_api").price.source.state == "ok"
    assert sink.resets == 1


async def test_a_new_hub_on_the_same_port_replaces_the_state(
    hubs: list[HubServer], links: list[HubLink]
) -> None:
    first = EventBus()
    first.publish("tip.height", tip(100), CORE)
    first.publish("chain.reorg", reorg(100), CORE)
    first.publish("price.current", PriceCurrent(currency="USD", price=97_000.0), PRICES)
    port = free_port()
    old = await start_hub(hubs, first, port)
    sink = Recorder()
    link = fast_link(port, sink)
    links.append(link)
    await link.start()
    await until(lambda: sink.phase == "connected")
    old_stream = link.stream
    assert sink.state("blockchain").reorg_count == 1

    await old.stop()
    await until(lambda: sink.phase in ("reconnecting", "connecting"))
    assert sink.links[-1].last_error in ("hub shutting down", "connection refused")
    second = EventBus()
    second.publish("tip.height", tip(500), CORE)  # seq 1 again, another stream
    new = await start_hub(hubs, second, port)
    await until(lambda: link.connections == 2, what="connected to the new hub")
    assert link.stream == new.stream != old_stream
    assert link.last_seq == 1
    assert sink.resets == 2
    chain = sink.state("blockchain")
    assert chain.tip.data.height == 500 and chain.tip.source.state == "ok"
    assert chain.reorg_count == 0 and [b.height for b in chain.recent_blocks] == [500]
    assert sink.state("external_api").price is None  # the new hub has no price
    assert [info.name for _, info in sink.state("system").sources] == ["core"]
    assert sink.phases[-3:] in (
        ["connected", "reconnecting", "connected"],
        ["reconnecting", "connecting", "connected"],
    )
    second.publish("tip.height", tip(501), CORE)
    await until(lambda: height_of(sink) == 501)


async def test_a_hub_that_is_not_there_yet_is_waited_for(
    hubs: list[HubServer], links: list[HubLink]
) -> None:
    port = free_port()
    sink = Recorder()
    link = fast_link(port, sink)
    links.append(link)
    await link.start()
    await until(lambda: sink.phase == "reconnecting")
    assert sink.links[-1].last_error == "connection refused"
    assert sink.state("blockchain").tip is None  # nothing to mark stale
    bus = EventBus()
    bus.publish("tip.height", tip(7), CORE)
    await start_hub(hubs, bus, port)
    await until(lambda: height_of(sink) == 7)
    assert sink.phase == "connected"


# ---------------------------------------------------------------- backoff


class Ceiling(random.Random):
    """Jitter that always picks the top of the range."""

    def uniform(self, a: float, b: float) -> float:
        return b


def recording_sleep(
    delays: list[float], wanted: int, done: asyncio.Event
) -> Callable[[float], Awaitable[None]]:
    async def sleep(delay: float) -> None:
        delays.append(delay)
        if len(delays) >= wanted:
            done.set()
            await asyncio.Event().wait()  # park the link here
        await asyncio.sleep(0)

    return sleep


async def until_the_first_retry(
    where: HubAddress, links: list[HubLink]
) -> tuple[LinkState, list[float]]:
    """A link to `where`, parked at its first wait to retry: the state it
    said then, and that wait."""
    delays: list[float] = []
    done = asyncio.Event()
    sink = Recorder()
    link = HubLink(where, sink, sleep=recording_sleep(delays, 1, done))
    links.append(link)
    await link.start()
    await asyncio.wait_for(done.wait(), 10)
    return sink.links[-1], delays


async def test_backoff_doubles_from_half_a_second_and_stops_at_thirty(
    links: list[HubLink],
) -> None:
    delays: list[float] = []
    done = asyncio.Event()
    sink = Recorder()
    link = HubLink(
        address(free_port()),
        sink,
        backoff=Backoff(0.5, 30.0, rng=Ceiling()),
        sleep=recording_sleep(delays, 9, done),
        clock=lambda: 1_000.0,
    )
    links.append(link)
    await link.start()
    await asyncio.wait_for(done.wait(), 10)
    assert delays == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    waits = [s for s in sink.links if s.phase == "reconnecting"]
    assert [s.attempt for s in waits] == list(range(1, 10))
    assert [s.retry_at for s in waits] == [1_000.0 + d for d in delays]
    assert all(s.last_error == "connection refused" for s in waits)


async def test_the_default_backoff_is_jittered_within_its_bounds(links: list[HubLink]) -> None:
    delays: list[float] = []
    done = asyncio.Event()
    link = HubLink(address(free_port()), Recorder(), sleep=recording_sleep(delays, 12, done))
    links.append(link)
    await link.start()
    await asyncio.wait_for(done.wait(), 10)
    for attempt, delay in enumerate(delays):
        assert 0.25 <= delay <= min(30.0, 0.5 * 2**attempt)
    assert len(set(delays)) > 1


# ---------------------------------------------------------------- stand-in hubs


async def serve(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.AppRunner:
    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    return runner


@pytest.fixture
async def stand_in() -> AsyncIterator[Callable[..., Awaitable[int]]]:
    """A small aiohttp server on loopback answering /ws with `handler`."""
    runners: list[web.AppRunner] = []

    async def start(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> int:
        runner = await serve(handler)
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port: int = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return port

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.mark.parametrize("status", [401, 403])
async def test_a_refused_token_is_said_and_retried_slowly(
    status: int,
    stand_in: Callable[..., Awaitable[int]],
    links: list[HubLink],
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str | None] = []

    async def refuse(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.Response(status=status, text="no")

    port = await stand_in(refuse)
    delays: list[float] = []
    done = asyncio.Event()
    sink = Recorder()
    secret = "s3cr3t-t0ken"
    from pydantic import SecretStr

    caplog.set_level(logging.DEBUG)
    link = HubLink(
        address(port), sink, token=SecretStr(secret), sleep=recording_sleep(delays, 2, done)
    )
    links.append(link)
    await link.start()
    await asyncio.wait_for(done.wait(), 10)
    assert seen[0] == f"Bearer {secret}"
    assert delays == [60.0, 60.0]
    refused = sink.links[-1]
    assert refused.phase == "refused"
    assert refused.last_error == f"bad or missing token (HTTP {status})"
    assert describe(refused, refused.retry_at or 0).startswith(
        f"refused: bad or missing token (HTTP {status}) · retry"
    )
    assert secret not in caplog.text
    assert secret not in repr(link.__dict__)


async def test_another_protocol_version_is_unavailable(
    stand_in: Callable[..., Awaitable[int]], links: list[HubLink]
) -> None:
    async def newer(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"frame": "hello", "protocol": 2, "shape": "new"}))
        await ws.receive()
        return ws

    port = await stand_in(newer)
    state, delays = await until_the_first_retry(address(port), links)
    assert state.phase == "unavailable"
    assert state.last_error == "hub speaks protocol 2 (this client speaks 1)"
    assert delays == [60.0]


async def test_a_wrong_path_is_unavailable_and_retried_slowly(
    hubs: list[HubServer], links: list[HubLink]
) -> None:
    hub = await start_hub(hubs, EventBus(), free_port())
    wrong = parse_hub_url(f"ws://127.0.0.1:{hub.bound_port}/other")
    state, delays = await until_the_first_retry(wrong, links)
    assert state.phase == "unavailable"
    assert state.last_error == "HTTP 404 at /other: not a BlockSight hub?"
    assert delays == [60.0]


async def test_bad_frames_are_refused_and_the_link_goes_on(
    stand_in: Callable[..., Awaitable[int]], links: list[HubLink]
) -> None:
    good = make_event("tip.height", tip(10), CORE, seq=1, ts=1.0)
    later = make_event("tip.height", tip(11), CORE, seq=3, ts=2.0)

    async def sloppy(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(hello_frame("blocksight/test", 1.0, "s1"))
        await ws.send_str(snapshot_frame([good]))
        await ws.send_str("{not json")
        await ws.send_str('{"frame": "event", "event": {"type": "tip.height", "seq": "x"}}')
        await ws.send_bytes(b"\x00\x01")
        await ws.send_str('{"frame": "gossip", "news": 1}')  # a newer kind: skipped
        await ws.send_str('{"frame":"event","event":{"type":"mempool.blocks","seq":2}}')
        await ws.send_str(event_frame(later))
        await ws.receive()
        return ws

    port = await stand_in(sloppy)
    sink = Recorder()
    link = fast_link(port, sink)
    links.append(link)
    await link.start()
    await until(lambda: height_of(sink) == 11)
    assert link.refused_frames == 3
    assert sink.phase == "connected"
    assert [e.seq for e in sink.events] == [1, 3]


async def test_a_hub_that_stops_answering_is_noticed_by_the_heartbeat(
    stand_in: Callable[..., Awaitable[int]], links: list[HubLink]
) -> None:
    async def frozen(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False)  # pings go unanswered
        await ws.prepare(request)
        await ws.send_str(hello_frame("blocksight/test", 1.0, "s1"))
        await ws.send_str(snapshot_frame([make_event("tip.height", tip(3), CORE, seq=1)]))
        async for _ in ws:  # reads the pings, answers none
            pass
        return ws

    port = await stand_in(frozen)
    sink = Recorder()
    link = fast_link(port, sink, heartbeat=0.2)
    links.append(link)
    await link.start()
    await until(lambda: sink.phase == "reconnecting", what="the heartbeat to fail")
    assert sink.links[-1].last_error == "hub stopped answering"
    assert sink.state("blockchain").tip.source.state == "stale"


class Clumsy(Recorder):
    """A sink that fails on its first event, as a bug would."""

    def handle(self, event: Event) -> None:
        if not self.events:
            self.events.append(event)
            raise RuntimeError("boom")
        super().handle(event)


async def test_a_failure_in_delivery_is_a_dropped_link_not_a_dead_one(
    hubs: list[HubServer], links: list[HubLink]
) -> None:
    bus = EventBus()
    bus.publish("tip.height", tip(100), CORE)
    port = free_port()
    await start_hub(hubs, bus, port)
    sink = Clumsy()
    link = fast_link(port, sink)
    links.append(link)
    await link.start()
    await until(lambda: link.connections == 1, what="the second try")
    assert "RuntimeError: boom" in [s.last_error for s in sink.links]
    assert sink.phase == "connected" and height_of(sink) == 100


async def test_a_replay_that_arrives_after_live_events_is_put_in_order(
    stand_in: Callable[..., Awaitable[int]], links: list[HubLink]
) -> None:
    """A hub may send events published since the reconnection before the
    replay of older ones (docs/protocol.md, `resume`): all that comes before
    the pong is delivered in `seq` order."""
    ev = {
        1: make_event("tip.height", tip(1), CORE, seq=1, ts=1.0),
        2: make_event("tip.height", tip(2), CORE, seq=2, ts=2.0),
        3: make_event("chain.reorg", reorg(2), CORE, seq=3, ts=3.0),
        4: make_event("tip.height", tip(3), CORE, seq=4, ts=4.0),
        5: make_event("tip.height", tip(4), CORE, seq=5, ts=5.0),
        6: make_event("tip.height", tip(5), CORE, seq=6, ts=6.0),
        7: make_event("tip.height", tip(6), CORE, seq=7, ts=7.0),
    }
    connections: list[list[dict[str, object]]] = []

    async def hub(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        received: list[dict[str, object]] = []
        connections.append(received)
        await ws.send_str(hello_frame("blocksight/test", 1.0, "s1"))
        if len(connections) == 1:
            await ws.send_str(snapshot_frame([ev[1]]))
            await ws.send_str(event_frame(ev[2]))
            await ws.close(code=1001)
            return ws
        await ws.send_str(snapshot_frame([ev[5]]))  # as of joining
        received.append(json.loads(await ws.receive_str()))  # resume
        received.append(json.loads(await ws.receive_str()))  # ping
        for seq in (6, 3, 4, 5):  # a live event overtakes the replay
            await ws.send_str(event_frame(ev[seq]))
        await ws.send_str('{"frame":"pong","time":1.0}')
        await ws.send_str(event_frame(ev[7]))
        async for _ in ws:
            pass
        return ws

    port = await stand_in(hub)
    sink = Recorder()
    link = fast_link(port, sink)
    links.append(link)
    await link.start()
    await until(lambda: link.last_seq == 7, what="seq 7")
    assert connections[1] == [
        {"op": "resume", "last_seq": 2, "stream": "s1"},
        {"op": "ping"},
    ]
    delivered = [e.seq for e in sink.events if e.source.state == "ok"]
    assert delivered == [1, 2, 3, 4, 5, 6, 7]
    chain = sink.state("blockchain")
    assert chain.reorg_count == 1 and chain.tip.data == tip(6)


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("ws://192.0.2.7:8765", True),
        ("wss://192.0.2.7:8765", False),
        ("ws://127.0.0.1:8765", False),
        ("ws://[::1]:8765", False),
        ("ws://localhost:8765", False),
    ],
)
def test_a_token_over_plain_ws_to_another_machine_is_warned_of(url: str, warned: bool) -> None:
    from pydantic import SecretStr

    notices = token_notices(parse_hub_url(url), SecretStr("t"))
    assert bool(notices) == warned
    if warned:
        assert "unencrypted" in notices[0] and "SSH tunnel" in notices[0]
    assert token_notices(parse_hub_url(url), None) == []


# ---------------------------------------------------------------- the orchestrator's side


def test_a_reset_forgets_what_events_said_and_keeps_the_setup() -> None:
    orchestrator = MainOrchestrator.standard(
        mode="attach", label="ws://box:8765", electrum_configured=True
    )
    electrum = SourceInfo(name="electrum")
    for seq, (kind, payload, source) in enumerate(
        [
            ("tip.height", tip(5), CORE),
            ("chain.reorg", reorg(5), CORE),
            ("chain.reorg", reorg(5), electrum),
            ("price.current", PriceCurrent(currency="USD", price=1.0), PRICES),
        ],
        start=1,
    ):
        orchestrator.handle(make_event(kind, payload, source, seq=seq))  # type: ignore[arg-type]
    orchestrator.set_link(LinkState("box:8765", "connected"))
    changed: list[str] = []
    orchestrator.subscribe(lambda name, _state: changed.append(name))
    changed.clear()

    orchestrator.reset()
    assert sorted(changed) == ["blockchain", "electrum", "external_api", "system"]
    chain = orchestrator.state_of("blockchain")
    assert chain.tip is None and chain.reorg_count == 0 and chain.recent_blocks == ()
    assert orchestrator.state_of("external_api").price is None
    assert orchestrator.state_of("electrum").configured
    assert orchestrator.state_of("electrum").reorg_count == 0
    system = orchestrator.state_of("system")
    assert system.sources == () and system.events_seen == 4
    assert system.label == "ws://box:8765" and system.link == LinkState("box:8765", "connected")


def test_a_reorg_without_data_states_its_source_and_counts_nothing() -> None:
    orchestrator = MainOrchestrator.standard(mode="attach")
    electrum = SourceInfo(name="electrum", state="stale", reason=LINK_LOST)
    orchestrator.handle(make_event("chain.reorg", None, electrum, seq=1))
    orchestrator.handle(make_event("chain.reorg", None, CORE, seq=2))
    assert orchestrator.state_of("electrum").reorg_count == 0
    assert orchestrator.state_of("blockchain").reorg_count == 0
    assert [i.state for _, i in orchestrator.state_of("system").sources] == ["stale", "ok"]


def test_link_states_reach_the_system_state_once_each() -> None:
    orchestrator = MainOrchestrator.standard(mode="attach")
    changed: list[str] = []
    orchestrator.subscribe(lambda name, _state: changed.append(name))
    changed.clear()
    state = LinkState("box:8765", "reconnecting", 2, 10.0, "connection refused")
    orchestrator.set_link(state)
    orchestrator.set_link(state)
    assert changed == ["system"]
    assert orchestrator.state_of("system").link == state


# ---------------------------------------------------------------- frames, URLs, states


def test_frames_with_fields_a_newer_hub_adds_are_read() -> None:
    hello = json.loads(hello_frame("blocksight/9", 1.0, "abc"))
    hello["types"].append("mempool.blocks")
    hello["region"] = "eu"
    frame = read_frame(json.dumps(hello))
    assert not isinstance(frame, Skipped) and frame.frame == "hello"
    assert isinstance(read_frame('{"frame": "news"}'), Skipped)
    with pytest.raises(ProtocolMismatch):
        read_frame('{"frame": "hello", "protocol": 3}')
    with pytest.raises(BadFrame, match="snapshot"):
        read_frame('{"frame": "snapshot", "last_seq": 1, "events": [{"type": "tip.height"}]}')
    with pytest.raises(BadFrame):
        read_frame("[1, 2]")


def test_events_a_newer_hub_extends_are_read_and_wrong_ones_refused() -> None:
    from tests.tui_support import all_events

    info = next(p for kind, p, _ in all_events() if kind == "blockchain.info")
    event = make_event("blockchain.info", info, CORE, seq=9, ts=1.0).model_dump(mode="json")
    event["region"] = "eu"
    event["source"]["latency_ms"] = 3
    event["data"]["mempool_policy"] = {"rbf": True}
    event["data"]["recent_blocks"][0]["miner_country"] = "IS"
    event["data"]["chain_tips"][0]["work"] = "ff"
    frame = read_frame(json.dumps({"frame": "event", "event": event, "hop": 1}))
    assert not isinstance(frame, Skipped) and frame.frame == "event"
    assert frame.event.data == info  # type: ignore[union-attr]
    snapshot = read_frame(json.dumps({"frame": "snapshot", "last_seq": 9, "events": [event]}))
    assert snapshot.events[0].data == info  # type: ignore[union-attr]

    event["data"]["blocks"] = -1
    with pytest.raises(BadFrame, match="blocks"):
        read_frame(json.dumps({"frame": "event", "event": event}))


@pytest.mark.parametrize(
    ("text", "url", "label"),
    [
        ("ws://box:8765", "ws://box:8765/ws", "ws://box:8765"),
        ("ws://box:8765/ws", "ws://box:8765/ws", "ws://box:8765"),
        ("ws://box:8765/", "ws://box:8765/ws", "ws://box:8765"),
        ("wss://hub.example.org", "wss://hub.example.org:443/ws", "wss://hub.example.org:443"),
        ("ws://[::1]:9000", "ws://[::1]:9000/ws", "ws://[::1]:9000"),
        ("WS://Box:1/blocksight/ws", "ws://box:1/blocksight/ws", "ws://box:1/blocksight/ws"),
    ],
)
def test_hub_urls(text: str, url: str, label: str) -> None:
    hub = parse_hub_url(text)
    assert (hub.url, hub.label) == (url, label)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("http://box:8765", "ws:// or wss://"),
        ("box:8765", "ws:// or wss://"),
        ("ws://", "no host"),
        ("ws://:8765", "no host"),
        ("ws://box:port", "^the port must be a number from 1 to 65535$"),
        ("ws://box:0", "^the port must be a number from 1 to 65535$"),
        ("ws://box:70000", "^the port must be a number from 1 to 65535$"),
        ("ws://box:8765/ws?token=abc", "--token"),
        ("ws://me:pw@box:8765", "--token"),
    ],
)
def test_bad_hub_urls_say_why(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why.replace("?", r"\?")):
        parse_hub_url(text)


@pytest.mark.parametrize(
    ("state", "text"),
    [
        (LinkState("box:8765", "connected"), "connected to box:8765"),
        (LinkState("box:8765"), "connecting to box:8765…"),
        (
            LinkState("box:8765", "reconnecting", 3, 104.2, "connection refused"),
            "reconnecting in 4 s (attempt 3, connection refused)",
        ),
        (
            LinkState("box:8765", "reconnecting", 1, 100.3, "hub shutting down"),
            "reconnecting now (attempt 1, hub shutting down)",
        ),
        (
            LinkState("box:8765", "refused", 1, 160.0, "bad or missing token (HTTP 401)"),
            "refused: bad or missing token (HTTP 401) · retry in 60 s",
        ),
    ],
)
def test_link_states_read_as_one_line(state: LinkState, text: str) -> None:
    assert describe(state, 100.0) == text


async def test_the_token_opens_a_real_hub_and_a_wrong_one_is_refused(
    links: list[HubLink],
) -> None:
    from pydantic import SecretStr

    from blocksight_tui.hub.access import AccessPolicy

    token = "attach-token-for-a-real-hub"
    bus = EventBus()
    bus.publish("tip.height", tip(7), CORE)
    hub = HubServer(bus, "127.0.0.1", 0, access=AccessPolicy(token))
    await hub.start()
    assert hub.bound_port is not None
    try:
        good = Recorder()
        links.append(fast_link(hub.bound_port, good, token=SecretStr(token)))
        bad = Recorder()
        links.append(fast_link(hub.bound_port, bad, token=SecretStr(token + "x")))
        for link in links:
            await link.start()
        await until(lambda: good.phase == "connected" and height_of(good) == 7, what="good")
        await until(lambda: bad.phase == "refused", what="refused")
        assert bad.links[-1].last_error == "bad or missing token (HTTP 401)"
        assert height_of(bad) is None
    finally:
        await hub.stop()
