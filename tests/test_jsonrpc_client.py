"""The JSON-RPC client against a local HTTP server that answers like Core."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from blocksight_tui.adapters.jsonrpc import (
    READ_ONLY_METHODS,
    AuthFailed,
    BadResponse,
    Call,
    JsonRpcClient,
    MethodNotFound,
    NodeUnreachable,
    NodeWarmingUp,
    ReadOnlyViolation,
)
from tests.conftest import load_fixture
from tests.node_daemon import free_port


class FakeCore:
    """Answers with recorded Bitcoin Core exchanges, and counts requests."""

    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.mode = "ok"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        if self.mode == "auth":
            return web.Response(status=401)
        if self.mode == "warmup":
            answer = load_fixture("bitcoin-core", "error-warmup.json")["response"]
            return web.json_response(answer, status=500)
        if self.mode == "garbage":
            return web.Response(text="<html>not json</html>", content_type="text/html")
        if isinstance(body, list):
            return web.json_response([self.answer(c) for c in body])
        return web.json_response(self.answer(body))

    def answer(self, call: dict[str, Any]) -> dict[str, Any]:
        if call["method"] == "getblockcount":
            return {"result": 270, "error": None, "id": call["id"]}
        return {"result": None, "error": {"code": -32601, "message": "Method not found"},
                "id": call["id"]}


@pytest.fixture
async def fake_core() -> AsyncIterator[tuple[FakeCore, str]]:
    fake = FakeCore()
    app = web.Application()
    app.router.add_post("/", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield fake, f"http://127.0.0.1:{port}/"
    await runner.cleanup()


@pytest.mark.parametrize(
    "method",
    ["sendtoaddress", "stop", "generate", "generatetoaddress", "invalidateblock", "setban",
     "submitblock", "sendrawtransaction", "getbalances", "importprivkey", "GETBLOCKCOUNT"],
)
async def test_write_calls_are_refused_before_anything_is_sent(
    fake_core: tuple[FakeCore, str], method: str
) -> None:
    fake, url = fake_core
    client = JsonRpcClient(url, "u", "p")
    try:
        with pytest.raises(ReadOnlyViolation):
            await client.call(method)
        with pytest.raises(ReadOnlyViolation):
            await client.batch([Call("getblockcount"), Call(method)])
    finally:
        await client.close()
    assert fake.requests == []


def test_allowlist_holds_only_reads() -> None:
    assert all(m.startswith(("get", "estimate", "uptime")) for m in READ_ONLY_METHODS)


async def test_batch_gives_each_call_its_result_or_error(fake_core: tuple[FakeCore, str]) -> None:
    fake, url = fake_core
    client = JsonRpcClient(url, "u", "p")
    try:
        results = await client.batch([Call("getblockcount"), Call("estimatesmartfee", (6,))])
    finally:
        await client.close()
    assert results[0] == 270
    assert isinstance(results[1], MethodNotFound)
    assert len(fake.requests) == 1 and isinstance(fake.requests[0], list)


@pytest.mark.parametrize(
    ("mode", "error"),
    [("auth", AuthFailed), ("warmup", NodeWarmingUp), ("garbage", BadResponse)],
)
async def test_failures_are_typed(fake_core: tuple[FakeCore, str], mode: str, error: type) -> None:
    fake, url = fake_core
    fake.mode = mode
    client = JsonRpcClient(url, "u", "p")
    try:
        with pytest.raises(error) as caught:
            await client.call("getblockcount")
    finally:
        await client.close()
    if mode == "warmup":
        assert "Loading banlist" in str(caught.value)


async def test_nothing_listening_is_unreachable_in_a_few_plain_words() -> None:
    port = free_port()
    client = JsonRpcClient(f"http://127.0.0.1:{port}/", "u", "p", timeout=2)
    try:
        with pytest.raises(NodeUnreachable) as caught:
            await client.call("getblockcount")
    finally:
        await client.close()
    # Short enough for a narrow panel: the address, then the reason.
    assert str(caught.value) == f"cannot connect to 127.0.0.1:{port}: connection refused"


def test_recorded_request_shape_matches_ours() -> None:
    recorded = load_fixture("bitcoin-core", "getblockcount.json")["request"]
    assert recorded["jsonrpc"] == "1.0" and recorded["params"] == []
    json.dumps(recorded)
