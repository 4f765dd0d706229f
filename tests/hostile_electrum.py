"""Misbehaving Electrum servers on loopback, for the adapter's robustness tests.

Each reads newline-terminated requests like a real server and misbehaves in
one named way:

- `garbage`: answers every line with a line of random bytes;
- `huge_line`: answers the first request with one 50 MB line (a JSON object
  whose newline comes only after 50 MB);
- `silent`: accepts and reads, never answers;
- `wrong_version`: refuses `server.version` as ElectrumX does for a protocol
  it does not speak (a JSON-RPC error, then it hangs up), other requests
  with "method not found";
- `slow_drip`: answers with a well-formed reply, one byte a second.

Every connection ends when the context manager exits, so a test never leaves
a writer running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal, TypeAlias

HostileKind: TypeAlias = Literal["garbage", "huge_line", "silent", "wrong_version", "slow_drip"]
HOSTILE_KINDS: tuple[HostileKind, ...] = (
    "garbage", "huge_line", "silent", "wrong_version", "slow_drip",
)
HUGE_LINE_BYTES = 50 * 1024 * 1024
DRIP_INTERVAL = 1.0
# ElectrumX's code for a refused request (aiorpcX's BAD_REQUEST).
BAD_REQUEST = 1
METHOD_NOT_FOUND = -32601

Handler: TypeAlias = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _request_id(line: bytes) -> Any:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message.get("id") if isinstance(message, dict) else None


def _method(line: bytes) -> str | None:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message.get("method") if isinstance(message, dict) else None


def _reply(request_id: Any, result: Any = None, error: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
    if error is None:
        body["result"] = result
    else:
        body["error"] = error
    return json.dumps(body).encode() + b"\n"


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # Seeded per connection: the bytes are arbitrary but the run repeats.
    rng = random.Random(0x6A7)
    while await reader.readline():
        writer.write(rng.randbytes(256).replace(b"\n", b"\x00") + b"\n")
        await writer.drain()


async def _huge_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    line = await reader.readline()
    if not line:
        return
    head = b'{"jsonrpc": "2.0", "id": ' + json.dumps(_request_id(line)).encode() + b', "result": "'
    tail = b'"}'
    filler = HUGE_LINE_BYTES - len(head) - len(tail)
    writer.write(head)
    chunk = b"a" * (1 << 20)
    while filler > 0:
        writer.write(chunk[:filler])
        filler -= len(chunk)
        await writer.drain()
    writer.write(tail + b"\n")
    await writer.drain()
    # Then keep the connection open and quiet: the client decides.
    while await reader.readline():
        pass


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while await reader.readline():
        pass


async def _wrong_version(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while line := await reader.readline():
        request_id = _request_id(line)
        method = _method(line)
        if method == "server.version":
            try:
                offered = json.loads(line).get("params", [None, None])[1:2]
            except (ValueError, AttributeError):
                offered = []
            message = f"unsupported protocol version: {offered[0] if offered else None}"
            writer.write(_reply(request_id, error={"code": BAD_REQUEST, "message": message}))
            await writer.drain()
            return
        error = {"code": METHOD_NOT_FOUND, "message": f'unknown method "{method}"'}
        writer.write(_reply(request_id, error=error))
        await writer.drain()


async def _slow_drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while line := await reader.readline():
        if _method(line) == "server.version":
            answer = _reply(_request_id(line), ["ElectrumX 1.20.2", "1.4"])
        else:
            answer = _reply(_request_id(line), None)
        for byte in answer:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(DRIP_INTERVAL)


HANDLERS: dict[HostileKind, Handler] = {
    "garbage": _garbage,
    "huge_line": _huge_line,
    "silent": _silent,
    "wrong_version": _wrong_version,
    "slow_drip": _slow_drip,
}


@contextlib.asynccontextmanager
async def hostile_server(kind: HostileKind) -> AsyncIterator[str]:
    """Serve `kind` on a free loopback port; yields its `tcp://` URL."""
    handler = HANDLERS[kind]
    tasks: set[asyncio.Task[Any]] = set()
    writers: set[asyncio.StreamWriter] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        writers.add(writer)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writers.discard(writer)
            tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    # A large read limit: the client's requests are never what is tested here.
    server = await asyncio.start_server(serve, "127.0.0.1", 0, limit=1 << 20)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"tcp://127.0.0.1:{port}"
    finally:
        server.close()
        for writer in list(writers):
            writer.close()
        for task in list(tasks):
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()
