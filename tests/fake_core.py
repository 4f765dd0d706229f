"""A local HTTP server that answers JSON-RPC like Bitcoin Core, from the
recorded answers, and can be told to misbehave: for the adapter's failure
paths, which a healthy real node cannot show on demand."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.conftest import FIXTURES
from tests.node_daemon import free_port

RECORDED = {
    "getblockchaininfo": "getblockchaininfo.json",
    "getbestblockhash": "getbestblockhash.json",
    "getblockheader": "getblockheader.json",
    "getmempoolinfo": "getmempoolinfo.json",
    "getnetworkinfo": "getnetworkinfo.json",
    "getmininginfo": "getmininginfo.json",
    "getchaintips": "getchaintips.json",
    "getpeerinfo": "getpeerinfo.json",
    "getnettotals": "getnettotals.json",
    "estimatesmartfee": "estimatesmartfee-6.json",
}


def recorded_result(method: str) -> Any:
    path = Path(FIXTURES / "bitcoin-core" / RECORDED[method])
    return json.loads(path.read_text())["response"]["result"]


class FakeCore:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.stall_s = 0.0
        self.mode = "ok"  # ok | warmup | auth | garbage | huge | missing-fees
        self.port = free_port()
        self._runner: web.AppRunner | None = None
        self.password = "right"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def start(self) -> None:
        app = web.Application(client_max_size=1024**2)
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        calls = body if isinstance(body, list) else [body]
        self.calls += [c["method"] for c in calls]
        if self.stall_s:
            await asyncio.sleep(self.stall_s)
        if self.mode == "auth" or request.headers.get("Authorization") != self._auth():
            return web.Response(status=401)
        if self.mode == "garbage":
            return web.Response(text="{not json at all", content_type="application/json")
        if self.mode == "huge":
            response = web.StreamResponse()
            await response.prepare(request)
            chunk = b"[" + b"1," * 512 * 1024
            for _ in range(80):  # 80 MB, never finished
                await response.write(chunk)
            return response
        answers = [self._answer(c) for c in calls]
        return web.json_response(answers if isinstance(body, list) else answers[0])

    def _auth(self) -> str:
        from blocksight_tui.adapters.jsonrpc import basic_auth

        return basic_auth("user", self.password)

    def _answer(self, call: dict[str, Any]) -> dict[str, Any]:
        method = call["method"]
        if self.mode == "warmup":
            return {"result": None, "error": {"code": -28, "message": "Loading block index…"},
                    "id": call["id"]}
        if method == "getblockhash":
            return {"result": f"{call['params'][0]:064x}", "error": None, "id": call["id"]}
        missing = self.mode == "missing-fees" and method == "estimatesmartfee"
        if method in RECORDED and not missing:
            return {"result": recorded_result(method), "error": None, "id": call["id"]}
        return {"result": None, "error": {"code": -32601, "message": "Method not found"},
                "id": call["id"]}
