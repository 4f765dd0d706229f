"""Who may use the hub: token, Origin allowlist, client cap, frame size,
message rate, abuse; and the settings that refuse an open hub without a token."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blocksight_tui.hub.access import AccessPolicy, MessageBudget, TokenBucket, presented_token
from blocksight_tui.hub.bus import EventBus
from blocksight_tui.hub.protocol import ProtocolError, parse_client_message
from blocksight_tui.hub.server import HubServer
from blocksight_tui.settings import SettingsError, load_settings

TOKEN = "t0ken-for-the-hub-tests"


@asynccontextmanager
async def running_hub(**options: Any) -> AsyncIterator[tuple[HubServer, str]]:
    server = HubServer(EventBus(), "127.0.0.1", 0, **options)
    await server.start()
    try:
        yield server, f"127.0.0.1:{server.bound_port}"
    finally:
        await server.stop()


async def handshake_status(url: str, **kwargs: Any) -> int:
    """101 when the hub took the client, else the HTTP status it refused with."""
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(url, **kwargs) as ws:
                hello = json.loads((await ws.receive(timeout=2)).data)
                assert hello["frame"] == "hello"
                return 101
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status


# ---------------------------------------------------------------- token


async def test_a_token_is_required_by_header_or_query() -> None:
    async with running_hub(access=AccessPolicy(TOKEN)) as (_, address):
        url = f"ws://{address}/ws"
        assert await handshake_status(url) == 401
        assert await handshake_status(url, headers={"Authorization": "Bearer wrong"}) == 401
        assert await handshake_status(url, headers={"Authorization": f"Bearer {TOKEN}"}) == 101
        assert await handshake_status(f"{url}?token={TOKEN}") == 101
        assert await handshake_status(f"{url}?token={TOKEN}x") == 401


async def test_http_answers_that_carry_events_need_the_token() -> None:
    async with running_hub(access=AccessPolicy(TOKEN)) as (server, address), \
            aiohttp.ClientSession() as session:
        base = f"http://{address}"
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        for path in ("/api/snapshot", "/metrics"):
            async with session.get(base + path) as response:
                assert response.status == 401
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
            async with session.get(base + path, headers=bearer) as response:
                assert response.status == 200
        # Health for a load balancer, without the reasons (they may name hosts).
        async with session.get(base + "/healthz") as response:
            assert set(await response.json()) == {"status", "chain"}
        async with session.get(base + "/healthz", headers=bearer) as response:
            assert set(await response.json()) == {"status", "chain", "sources"}
        assert server.stats.refused["token"] == 2


def test_the_token_is_read_from_the_bearer_header_first() -> None:
    assert presented_token({"Authorization": "Bearer abc"}, {"token": "xyz"}) == "abc"
    assert presented_token({"Authorization": "bearer  abc "}, {}) == "abc"
    assert presented_token({"Authorization": "Basic abc"}, {"token": "xyz"}) == "xyz"
    assert presented_token({}, {}) is None


# ---------------------------------------------------------------- origin


@pytest.mark.parametrize(
    ("origin", "host", "token", "allowed"),
    [
        (None, "127.0.0.1:8765", False, True),  # a script or the TUI
        ("http://127.0.0.1:8765", "127.0.0.1:8765", False, True),  # the hub's own page
        ("http://localhost:8765", "localhost:8765", False, True),
        ("http://[::1]:8765", "[::1]:8765", False, True),
        ("https://evil.example", "127.0.0.1:8765", False, False),
        ("http://dash.example.org", "127.0.0.1:8765", False, True),  # allowlisted
        ("HTTP://Dash.Example.org/", "127.0.0.1:8765", False, True),
        # DNS rebinding: same origin by the letter, but not a loopback name.
        ("http://rebind.example:8765", "rebind.example:8765", False, False),
        # Behind a token, the hub's own page may come by any name.
        ("http://nodebox.lan:8765", "nodebox.lan:8765", True, True),
        ("http://other.lan:8765", "nodebox.lan:8765", True, False),
    ],
)
def test_origin_rules(origin: str | None, host: str, token: bool, allowed: bool) -> None:
    policy = AccessPolicy(TOKEN if token else None, ["http://dash.example.org"])
    assert policy.origin_allowed(origin, host, "http") is allowed


async def test_a_browser_page_from_elsewhere_is_refused() -> None:
    async with running_hub(access=AccessPolicy(origins=["http://dash.example.org"])) as (
        server,
        address,
    ):
        url = f"ws://{address}/ws"
        assert await handshake_status(url, origin="https://evil.example") == 403
        assert await handshake_status(url, origin="http://dash.example.org") == 101
        assert await handshake_status(url, origin=f"http://{address}") == 101
        assert server.stats.refused["origin"] == 1


async def test_without_a_token_only_loopback_names_are_answered() -> None:
    """DNS rebinding: a page on evil.example, re-resolved to 127.0.0.1, sends
    its own name as Host; the hub answers it nothing at all."""
    async with running_hub() as (server, address), aiohttp.ClientSession() as session:
        port = address.rsplit(":", 1)[1]
        for path in ("/api/snapshot", "/healthz", "/metrics", "/api/schema"):
            async with session.get(
                f"http://{address}{path}", headers={"Host": f"rebind.example:{port}"}
            ) as response:
                assert response.status == 403
            async with session.get(
                f"http://{address}{path}", headers={"Host": f"localhost:{port}"}
            ) as response:
                assert response.status in (200, 503)  # 503: /healthz with no source yet
        url = f"ws://{address}/ws"
        assert await handshake_status(url, headers={"Host": f"rebind.example:{port}"}) == 403
        assert await handshake_status(url, headers={"Host": f"[::1]:{port}"}) == 101
        assert server.stats.refused["host"] == 5
    async with running_hub(access=AccessPolicy(TOKEN)) as (_, address):
        bearer = {"Authorization": f"Bearer {TOKEN}", "Host": "nodebox.lan"}
        assert await handshake_status(f"ws://{address}/ws", headers=bearer) == 101


async def test_any_origin_with_a_star() -> None:
    async with running_hub(access=AccessPolicy(origins=["*"])) as (_, address):
        assert await handshake_status(f"ws://{address}/ws", origin="https://x.example") == 101


# ---------------------------------------------------------------- limits


async def test_clients_past_the_cap_are_told_to_come_back() -> None:
    async with running_hub(access=AccessPolicy(max_clients=2)) as (server, address), \
            aiohttp.ClientSession() as session:
        url = f"ws://{address}/ws"
        first = await session.ws_connect(url)
        second = await session.ws_connect(url)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url)
        assert refused.value.status == 503
        assert refused.value.headers is not None and "Retry-After" in refused.value.headers
        await first.close()
        await wait_until(lambda: server.client_count == 1)
        third = await session.ws_connect(url)
        await asyncio.gather(second.close(), third.close())
        assert server.stats.refused["full"] == 1


@pytest.mark.parametrize("size", [1024, 1025])
async def test_a_frame_of_the_limit_is_read_and_one_byte_more_closes_with_1009(
    size: int,
) -> None:
    async with running_hub(max_message_bytes=1024) as (server, address), \
            aiohttp.ClientSession() as session, \
            session.ws_connect(f"ws://{address}/ws") as ws:
        ping = '{"op": "ping", "pad": ""}'
        await ws.send_str(ping.replace('""', '"' + "x" * (size - len(ping)) + '"'))
        while (msg := await ws.receive(timeout=2)).type == aiohttp.WSMsgType.TEXT:
            frame = json.loads(msg.data)
            if frame["frame"] in ("pong", "error"):
                break
        if size <= 1024:
            # Read, and answered: a ping with a stray field is a bad message.
            assert msg.type == aiohttp.WSMsgType.TEXT and not ws.closed
        else:
            assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG


async def test_an_oversized_frame_closes_with_1009() -> None:
    async with running_hub(max_message_bytes=1024) as (server, address), \
            aiohttp.ClientSession() as session, \
            session.ws_connect(f"ws://{address}/ws") as ws:
        await ws.send_str(json.dumps({"op": "subscribe", "types": ["tip.height"] * 2000}))
        while (msg := await ws.receive(timeout=2)).type == aiohttp.WSMsgType.TEXT:
            pass
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
        await wait_until(lambda: server.stats.clients_closed_too_big == 1)


async def test_a_client_over_its_rate_is_told_so() -> None:
    async with running_hub(messages_per_second=5) as (server, address), \
            aiohttp.ClientSession() as session, \
            session.ws_connect(f"ws://{address}/ws") as ws:
        for _ in range(15):
            await ws.send_str('{"op":"ping"}')
        await ws.receive(timeout=2)  # hello
        await ws.receive(timeout=2)  # snapshot
        frames = [json.loads((await ws.receive(timeout=2)).data) for _ in range(15)]
        pongs = [f for f in frames if f["frame"] == "pong"]
        limited = [f for f in frames if f["frame"] == "error" and f["code"] == "rate_limited"]
        assert len(pongs) >= 10 and len(pongs) + len(limited) == 15  # the burst is 2 s' worth
        assert limited and not ws.closed and server.stats.clients_closed_abuse == 0


async def test_a_flood_gets_the_client_closed_for_abuse() -> None:
    async with running_hub(messages_per_second=5) as (server, address), \
            aiohttp.ClientSession() as session, \
            session.ws_connect(f"ws://{address}/ws") as ws:
        for _ in range(100):
            await ws.send_str('{"op":"ping"}')
        while (await ws.receive(timeout=2)).type == aiohttp.WSMsgType.TEXT:
            pass
        assert ws.close_code == aiohttp.WSCloseCode.POLICY_VIOLATION
        assert server.stats.clients_closed_abuse == 1


async def test_persistent_garbage_gets_the_client_disconnected() -> None:
    async with running_hub() as (server, address), aiohttp.ClientSession() as session, \
            session.ws_connect(f"ws://{address}/ws") as ws:
        for _ in range(30):
            await ws.send_str("not json")
            await asyncio.sleep(0.01)  # under the message rate: only the faults count
        while (await ws.receive(timeout=2)).type == aiohttp.WSMsgType.TEXT:
            pass
        assert ws.close_code == aiohttp.WSCloseCode.POLICY_VIOLATION
        assert server.stats.clients_closed_abuse == 1


async def test_occasional_mistakes_are_forgiven() -> None:
    """A few bad messages get error frames and the connection stays."""
    async with running_hub() as (server, address), aiohttp.ClientSession() as session, \
            session.ws_connect(f"ws://{address}/ws") as ws:
        for bad in ("nope", '{"op":"subscribe","types":["no.such"]}', '{"op":1}'):
            await ws.send_str(bad)
        await ws.send_bytes(b"\x00\x01")
        await ws.send_str('{"op":"ping"}')
        frames = []
        while not frames or frames[-1]["frame"] != "pong":
            frames.append(json.loads((await ws.receive(timeout=2)).data))
        codes = [f["code"] for f in frames if f["frame"] == "error"]
        assert codes == ["bad_json", "unknown_type", "bad_message", "bad_json"]
        assert not ws.closed and server.stats.clients_closed_abuse == 0


def test_budgets_refill_with_time() -> None:
    now = [0.0]
    bucket = TokenBucket(2.0, 4.0, clock=lambda: now[0])
    assert [bucket.take() for _ in range(5)] == [True] * 4 + [False]
    now[0] += 1.0
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    budget = MessageBudget(1.0, clock=lambda: now[0])
    assert all(budget.forgive_fault() for _ in range(10))
    assert not budget.forgive_fault()
    now[0] += 60.0
    assert budget.forgive_fault()


# ---------------------------------------------------------------- malformed input


client_text = st.one_of(
    st.text(max_size=300),
    st.dictionaries(
        st.sampled_from(["op", "types", "last_seq", "stream", "x"]),
        st.one_of(
            st.sampled_from(["subscribe", "unsubscribe", "snapshot", "ping", "resume"]),
            st.lists(st.text(max_size=20), max_size=5),
            st.integers(),
            st.none(),
            st.floats(allow_nan=True),
        ),
        max_size=4,
    ).map(json.dumps),
)


@given(client_text)
def test_any_text_parses_or_is_a_protocol_error(text: str) -> None:
    try:
        parse_client_message(text)
    except ProtocolError as exc:
        assert exc.code in ("bad_json", "bad_message")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.one_of(client_text, st.binary(max_size=200)), min_size=1, max_size=8))
def test_whatever_a_client_sends_it_is_answered_and_stays(messages: list[str | bytes]) -> None:
    """Text or binary, valid or not: every message gets its answer or an
    error frame (or, for a valid subscribe, nothing), and a ping afterwards
    is still answered on the same connection."""

    async def scenario() -> None:
        async with running_hub(messages_per_second=1000) as (_, address), \
                aiohttp.ClientSession() as session, \
                session.ws_connect(f"ws://{address}/ws") as ws:
            for message in messages:
                if isinstance(message, bytes):
                    await ws.send_bytes(message)
                else:
                    await ws.send_str(message)
            await ws.send_str('{"op":"ping"}')
            while True:
                msg = await ws.receive(timeout=2)
                assert msg.type == aiohttp.WSMsgType.TEXT, msg
                frame = json.loads(msg.data)
                assert frame["frame"] in ("hello", "snapshot", "event", "error", "pong")
                if frame["frame"] == "pong":
                    break

    asyncio.run(scenario())


# ---------------------------------------------------------------- settings


def test_a_hub_beyond_loopback_needs_a_token() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(environ={"BLOCKSIGHT_HUB__HOST": "0.0.0.0"})
    assert "hub.host" in str(refused.value) and "token" in str(refused.value)
    open_hub = load_settings(
        environ={"BLOCKSIGHT_HUB__HOST": "0.0.0.0", "BLOCKSIGHT_HUB__TOKEN": TOKEN}
    )
    assert open_hub.hub.token is not None
    for loopback in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        assert load_settings(environ={"BLOCKSIGHT_HUB__HOST": loopback}).hub.token is None


def test_a_short_token_is_refused_and_never_shown() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(environ={"BLOCKSIGHT_HUB__TOKEN": "short-secret"})
    assert "hub.token" in str(refused.value) and "short-secret" not in str(refused.value)


def test_serve_beyond_loopback_without_token_is_one_line_and_exit_2(tmp_path: Any) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "blocksight_tui", "serve", "--demo", "--hub-host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "hub.host" in lines[0] and "token" in lines[0]


async def wait_until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (polling a plain counter)
            await asyncio.sleep(0.01)
