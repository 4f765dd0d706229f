"""The hub protocol against a real HubServer and real WebSocket clients:
subscriptions, snapshots on request, ping, errors, resume, and the schema of
every frame that crosses the wire."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from jsonschema import Draft202012Validator

from blocksight_tui.events import (
    EVENT_TYPES,
    ChainReorg,
    FxRates,
    Payload,
    PriceCurrent,
    SourceInfo,
    TipHeight,
)
from blocksight_tui.hub import protocol
from blocksight_tui.hub.bus import EventBus
from blocksight_tui.hub.history import EventHistory
from blocksight_tui.hub.server import MAX_PENDING_ANSWERS, HubServer
from tests.hub_client import HubClient

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "frames.schema.json"
SRC = SourceInfo(name="core")
Connect = Callable[[], Awaitable[HubClient]]


def _validator(definition: str) -> Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    schema["oneOf"] = [{"$ref": f"#/$defs/{definition}"}]
    return Draft202012Validator(schema)


SERVER_FRAMES = _validator("ServerFrame")
CLIENT_MESSAGES = _validator("ClientMessage")


def tip(height: int) -> TipHeight:
    return TipHeight(height=height, hash=f"{height:064x}", time=height)


def price(value: float) -> PriceCurrent:
    return PriceCurrent(currency="USD", price=value)


def fx(value: float) -> FxRates:
    return FxRates(base="USD", rates={"EUR": value})


def reorg(height: int) -> ChainReorg:
    h = f"{height:064x}"
    return ChainReorg(
        depth=1,
        fork_height=height - 1,
        fork_hash=h,
        old_tip_height=height,
        old_tip_hash=h,
        new_tip_height=height,
        new_tip_hash=h,
        disconnected=(h,),
        connected=(h,),
    )


def publish(bus: EventBus, payload: Payload) -> int:
    kinds = {TipHeight: "tip.height", PriceCurrent: "price.current", FxRates: "fx.rates"}
    kind = kinds.get(type(payload), "chain.reorg")
    event = bus.publish(kind, payload, SRC)  # type: ignore[arg-type]
    assert event is not None
    return event.seq


async def send(client: HubClient, message: dict[str, Any]) -> None:
    CLIENT_MESSAGES.validate(message)
    await client.ws.send_str(json.dumps(message))


async def until_pong(client: HubClient) -> list[dict[str, Any]]:
    """Everything the hub sends in answer to what came before a ping: the hub
    reads a client's messages in order, so the pong closes the batch."""
    await send(client, {"op": "ping"})
    frames = []
    while (frame := await client.next_frame(5))["frame"] != "pong":
        frames.append(frame)
    return frames


def event_seqs(frames: list[dict[str, Any]]) -> list[int]:
    return [f["event"]["seq"] for f in frames if f["frame"] == "event"]


@pytest.fixture
def bus() -> EventBus:
    return EventBus(clock=lambda: 1.0)


@pytest.fixture
async def hub(bus: EventBus) -> AsyncIterator[HubServer]:
    # The message rate is tested on its own (test_hub_security); here clients
    # may ask as fast as they like.
    server = HubServer(bus, "127.0.0.1", 0, history_size=20, messages_per_second=100_000)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def connect(hub: HubServer) -> AsyncIterator[Connect]:
    """Connects clients that have read their hello and snapshot; at the end,
    every frame any of them received must match the published schema."""
    clients: list[HubClient] = []

    async def _connect() -> HubClient:
        client = await HubClient.connect(hub.url)
        clients.append(client)
        assert (await client.next_frame(5))["frame"] == "hello"
        assert (await client.next_frame(5))["frame"] == "snapshot"
        return client

    yield _connect
    for client in clients:
        await client.close()
    assert clients and all(c.frames for c in clients)
    for client in clients:
        for frame in client.frames:
            SERVER_FRAMES.validate(frame)


def test_schema_file_is_up_to_date() -> None:
    assert SCHEMA_FILE.read_text() == protocol.render_schema(), (
        "docs/frames.schema.json is out of date: "
        "run `python -m blocksight_tui.hub.protocol > docs/frames.schema.json`"
    )


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (("*",), set(EVENT_TYPES)),
        (("price.*",), {"price.current"}),
        (
            ("blockchain.*", "tip.height"),
            {"blockchain.info", "blockchain.network", "blockchain.mining", "tip.height"},
        ),
    ],
)
def test_patterns_expand_to_event_types(patterns: tuple[str, ...], expected: set[str]) -> None:
    assert protocol.expand(patterns) == expected


@pytest.mark.parametrize("pattern", ["price", "nope.*", "tip.height.extra"])
def test_a_pattern_that_names_nothing_is_refused(pattern: str) -> None:
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.expand((pattern,))
    assert caught.value.code == "unknown_type"


@pytest.mark.parametrize(
    "raw",
    [
        '{"op": "resume", "last_seq": "5"}',
        '{"op": "resume", "last_seq": 5.0}',
        '{"op": "resume", "last_seq": true}',
        '{"op": "resume", "last_seq": -1}',
        '{"op": "resume", "last_seq": 5, "stream": 7}',
        '{"op": "subscribe", "types": "price.*"}',
    ],
)
def test_a_value_of_the_wrong_kind_is_refused_not_converted(raw: str) -> None:
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.parse_client_message(raw)
    assert caught.value.code == "bad_message"


def test_history_knows_when_a_gap_is_too_old() -> None:
    history = EventHistory(last_seq=0, size=3)
    bus = EventBus()
    for height in range(1, 6):
        event = bus.publish("tip.height", tip(height), SRC)
        assert event is not None
        history.append(event, f"f{height}")
    types = frozenset(EVENT_TYPES)
    assert history.since(2, 5, types) == [(3, "f3"), (4, "f4"), (5, "f5")]
    assert history.since(3, 4, types) == [(4, "f4")]
    assert history.since(5, 5, types) == []
    assert history.since(1, 5, types) is None
    assert history.since(6, 5, types) is None


async def test_hello_and_snapshot_on_connect(
    bus: EventBus, hub: HubServer, connect: Connect
) -> None:
    publish(bus, tip(1))
    client = await connect()
    hello, snapshot = client.frames
    assert hello["protocol"] == protocol.PROTOCOL_VERSION
    assert hello["stream"] == hub.stream and tuple(hello["types"]) == EVENT_TYPES
    assert snapshot["fresh"] is False and snapshot["last_seq"] == 1


async def test_subscriptions_with_patterns_filter_the_stream(
    bus: EventBus, connect: Connect
) -> None:
    client = await connect()
    bystander = await connect()
    await send(client, {"op": "subscribe", "types": ["price.*"]})
    await until_pong(client)
    publish(bus, tip(1))
    price_seq = publish(bus, price(100.0))
    publish(bus, fx(0.9))
    assert event_seqs(await until_pong(client)) == [price_seq]

    await send(client, {"op": "subscribe", "types": ["fx.*", "chain.reorg"]})
    await send(client, {"op": "unsubscribe", "types": ["price.current"]})
    await until_pong(client)
    publish(bus, tip(2))
    publish(bus, price(101.0))
    fx_seq = publish(bus, fx(0.8))
    reorg_seq = publish(bus, reorg(2))
    assert event_seqs(await until_pong(client)) == [fx_seq, reorg_seq]

    # The client that said nothing got every event.
    assert event_seqs(await until_pong(bystander)) == list(range(1, reorg_seq + 1))


async def test_unsubscribing_everything_then_star_brings_all_back(
    bus: EventBus, connect: Connect
) -> None:
    client = await connect()
    await send(client, {"op": "unsubscribe", "types": ["*"]})
    await until_pong(client)
    publish(bus, tip(1))
    assert event_seqs(await until_pong(client)) == []
    await send(client, {"op": "subscribe", "types": ["*"]})
    await until_pong(client)
    seq = publish(bus, price(5.0))
    assert event_seqs(await until_pong(client)) == [seq]


async def test_snapshot_on_request_holds_the_subscribed_types(
    bus: EventBus, connect: Connect
) -> None:
    publish(bus, tip(1))
    price_seq = publish(bus, price(100.0))
    publish(bus, fx(0.9))
    client = await connect()
    await send(client, {"op": "subscribe", "types": ["price.*", "network.*"]})
    await send(client, {"op": "snapshot"})
    (snapshot,) = await until_pong(client)
    assert snapshot["frame"] == "snapshot" and snapshot["fresh"] is False
    assert [e["seq"] for e in snapshot["events"]] == [price_seq]
    assert snapshot["last_seq"] == price_seq


async def test_ping_gets_pong_with_server_time(connect: Connect) -> None:
    client = await connect()
    await send(client, {"op": "ping"})
    pong = await client.next_frame(5)
    assert pong["frame"] == "pong" and pong["time"] > 0


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_json"),
        ('{"op": "dance"}', "bad_message"),
        ('{"types": ["tip.height"]}', "bad_message"),
        ('{"op": "subscribe", "types": []}', "bad_message"),
        ('{"op": "subscribe", "types": ["TIP"]}', "bad_message"),
        ('{"op": "subscribe", "types": ["nope.*"]}', "unknown_type"),
        ('{"op": "resume", "last_seq": -1}', "bad_message"),
        ('{"op": "ping", "extra": 1}', "bad_message"),
        ("[1, 2]", "bad_message"),
    ],
)
async def test_an_invalid_message_gets_an_error_and_the_link_stays(
    bus: EventBus, connect: Connect, raw: str, code: str
) -> None:
    client = await connect()
    await client.ws.send_str(raw)
    error = await client.next_frame(5)
    assert error["frame"] == "error" and error["code"] == code and error["message"]
    # Still connected, still subscribed to everything.
    seq = publish(bus, tip(1))
    assert event_seqs(await until_pong(client)) == [seq]


async def test_a_binary_frame_gets_an_error(connect: Connect) -> None:
    client = await connect()
    await client.ws.send_bytes(b"\x00\x01")
    assert [f["code"] for f in await until_pong(client)] == ["bad_json"]


async def test_resume_replays_exactly_the_missed_events(bus: EventBus, connect: Connect) -> None:
    first = await connect()
    publish(bus, tip(1))
    last_seen = event_seqs(await until_pong(first))[-1]
    await first.close()

    # While the link is down: blocks, a reorg, prices, several of a type.
    missed = [
        publish(bus, tip(2)),
        publish(bus, price(100.0)),
        publish(bus, tip(3)),
        publish(bus, reorg(3)),
        publish(bus, tip(4)),
        publish(bus, fx(0.9)),
        publish(bus, price(101.0)),
    ]
    again = await connect()
    await send(again, {"op": "resume", "last_seq": last_seen})
    replay = await until_pong(again)
    assert event_seqs(replay) == missed
    assert all(f["frame"] == "event" for f in replay)

    # A client subscribed to some types gets only those of the gap.
    picky = await connect()
    await send(picky, {"op": "subscribe", "types": ["tip.*", "chain.*"]})
    await send(picky, {"op": "resume", "last_seq": last_seen})
    assert event_seqs(await until_pong(picky)) == [missed[0], missed[2], missed[3], missed[4]]


async def test_resume_and_live_events_together_miss_nothing_and_repeat_nothing(
    bus: EventBus, hub: HubServer, connect: Connect
) -> None:
    publish(bus, tip(1))
    gap = [publish(bus, tip(2)), publish(bus, reorg(2)), publish(bus, price(10.0))]
    client = await connect()
    live = [publish(bus, fx(0.9)), publish(bus, tip(3))]
    await send(client, {"op": "resume", "last_seq": 1, "stream": hub.stream})
    received = event_seqs(await until_pong(client))
    assert sorted(received) == gap + live and len(received) == len(set(received))
    replayed = [s for s in received if s in gap]
    assert replayed == gap


async def test_resume_beyond_the_history_gets_a_fresh_snapshot(
    bus: EventBus, hub: HubServer, connect: Connect
) -> None:
    for height in range(1, 41):  # the hub keeps 20
        publish(bus, tip(height))
    latest_price = publish(bus, price(100.0))
    client = await connect()
    await send(client, {"op": "subscribe", "types": ["price.*"]})
    for resume in (
        {"op": "resume", "last_seq": 5},
        {"op": "resume", "last_seq": 10_000},  # from a hub run that got further
        {"op": "resume", "last_seq": 38, "stream": "another-run"},
    ):
        await send(client, resume)
        (snapshot,) = await until_pong(client)
        assert snapshot["frame"] == "snapshot" and snapshot["fresh"] is True
        assert [e["seq"] for e in snapshot["events"]] == [latest_price]

    # Within the history, the same client gets events, not a snapshot.
    await send(client, {"op": "resume", "last_seq": 30})
    assert event_seqs(await until_pong(client)) == [latest_price]


async def test_an_oversized_frame_closes_the_link_with_1009(connect: Connect) -> None:
    client = await connect()
    await client.ws.send_str('{"op": "ping", "pad": "' + "x" * 70_000 + '"}')
    msg = await client.ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1009


async def test_a_client_that_asks_but_never_reads_gets_a_bounded_answer(
    bus: EventBus, hub: HubServer, connect: Connect
) -> None:
    rates = {f"C{i:04}": 1.0 for i in range(4000)}  # ~80 kB a snapshot
    bus.publish("fx.rates", FxRates(base="USD", rates=rates), SRC)
    client = await connect()
    for _ in range(1000):
        await client.ws.send_str('{"op": "snapshot"}')
    await asyncio.sleep(1.0)  # the hub reads them all while nothing is read back
    # What the hub holds for it is bounded: a full outbox (the history's
    # worth plus the answers) and one write buffer. How many answers the
    # kernel holds on the way depends on its socket buffers, not on the hub.
    (held,) = hub._clients
    assert len(held.outbox) <= 20 + MAX_PENDING_ANSWERS + 1
    assert held.buffered <= hub._write_limit + 100_000
    answered = 0
    with contextlib.suppress(TimeoutError):
        while True:
            assert (await client.next_frame(1.0))["frame"] == "snapshot"
            answered += 1
    # Requests past the full outbox were ignored, and then, having caught
    # up, the client is answered again.
    assert 0 < answered < 1000
    assert await until_pong(client) == []
