"""A scripted Electrum server on loopback answering with the recorded answers
of a newer server (../shared/fixtures/electrum-ex2): for the adapter's unit
tests, and for pushing headers on demand."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.conftest import FIXTURES

EX2 = FIXTURES / "electrum-ex2"


def recorded(name: str) -> Any:
    return json.loads((EX2 / name).read_text())["response"]["result"]


def synthetic_header(height: int) -> bytes:
    """A stand-in header for heights the recordings do not cover: only its
    hash is used (by the reorg tracker)."""
    return (
        (0x20000000).to_bytes(4, "little") + height.to_bytes(32, "little") + b"\x22" * 32
        + (1_796_000_000 + height).to_bytes(4, "little") + (0x207FFFFF).to_bytes(4, "little")
        + height.to_bytes(4, "little")
    )


class FakeElectrum:
    def __init__(self, protocol: str = "1.6") -> None:
        self.protocol = protocol
        self.requests: list[tuple[str, list[Any]]] = []
        self.header = recorded("blockchain.headers.subscribe-v1.6.json")
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.port = 0
        self.silent = False
        self.fee_histogram: list[list[float]] = [[12, 100_000], [4, 250_000], [1, 400_000]]

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in self._writers:
                writer.close()
            await self._server.wait_closed()
            self._server = None
        self._writers.clear()

    async def push_header(self, header: dict[str, Any]) -> None:
        self.header = header
        line = {"jsonrpc": "2.0", "method": "blockchain.headers.subscribe", "params": [header]}
        for writer in self._writers:
            writer.write((json.dumps(line) + "\n").encode())
            await writer.drain()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        try:
            while line := await reader.readline():
                request = json.loads(line)
                self.requests.append((request["method"], request.get("params", [])))
                if self.silent:
                    continue
                writer.write((json.dumps(self._answer(request)) + "\n").encode())
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if writer in self._writers:
                self._writers.remove(writer)

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        method, params = request["method"], request.get("params", [])
        v = "v1.6" if self.protocol == "1.6" else "v1.4"
        results: dict[str, Any] = {
            "server.version": ["ElectrumX 2.0.0", self.protocol],
            "server.features": recorded(f"server.features-{v}.json"),
            "server.ping": None,
            "blockchain.headers.subscribe": self.header,
            "blockchain.scripthash.get_balance": recorded(
                f"blockchain.scripthash.get_balance-{v}.json"
            ),
            "blockchain.scripthash.get_history": recorded(
                f"blockchain.scripthash.get_history-{v}.json"
            ),
            "blockchain.scripthash.listunspent": recorded(
                f"blockchain.scripthash.listunspent-{v}.json"
            ),
            "blockchain.block.header": recorded(f"blockchain.block.header-{v}.json"),
            # The recordings' histogram is empty (the server had just started).
            "mempool.get_fee_histogram": self.fee_histogram,
        }
        if self.protocol == "1.6":
            results["mempool.get_info"] = recorded("mempool.get_info-v1.6.json")
        else:
            results["blockchain.relayfee"] = recorded("blockchain.relayfee-v1.4.json")
        if method == "blockchain.block.headers":
            start, count = params
            chain = b"".join(synthetic_header(h) for h in range(start, start + count))
            result = {"hex": chain.hex(), "count": count, "max": 2016}
            return {"jsonrpc": "2.0", "id": request["id"], "result": result}
        if method == "blockchain.estimatefee":
            result: Any = 0.00016 if params[0] <= 6 else -1
            return {"jsonrpc": "2.0", "id": request["id"], "result": result}
        if method == "blockchain.transaction.get":
            result = recorded(f"blockchain.transaction.get-verbose-{v}.json")
            return {"jsonrpc": "2.0", "id": request["id"], "result": result}
        if method in results:
            return {"jsonrpc": "2.0", "id": request["id"], "result": results[method]}
        error = {"code": -32601, "message": f"unknown method {method!r}"}
        return {"jsonrpc": "2.0", "id": request["id"], "error": error}
