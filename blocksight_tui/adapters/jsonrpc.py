"""A read-only JSON-RPC client for Bitcoin Core over aiohttp.

Why not python-bitcoinrpc: its AuthServiceProxy is built on the blocking
`http.client`, so each call would stall the event loop (or need a thread per
call), and it raises on the first error of a batch. Bitcoin Core's JSON-RPC is
small enough to speak directly: one kept-alive `aiohttp.ClientSession`, batches
with a result or an error per call, typed errors for what an operator must see.

Every method is checked against a read-only allowlist *before* anything is
sent: this client cannot change a node, whatever its caller asks.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from yarl import URL

from blocksight_tui.hosts import connection_failure

log = logging.getLogger(__name__)

READ_ONLY_METHODS: Final[frozenset[str]] = frozenset(
    {
        "getbestblockhash",
        "getblock",
        "getblockchaininfo",
        "getblockcount",
        "getblockhash",
        "getblockheader",
        "getblockstats",
        "getchaintips",
        "getchaintxstats",
        "getconnectioncount",
        "getdifficulty",
        "getindexinfo",
        "getmempoolentry",
        "getmempoolinfo",
        "getmininginfo",
        "getnettotals",
        "getnetworkhashps",
        "getnetworkinfo",
        "getpeerinfo",
        "getrawmempool",
        "getrawtransaction",
        "getzmqnotifications",
        "estimatesmartfee",
        "uptime",
    }
)

MAX_RESPONSE_BYTES: Final = 32 * 1024 * 1024
"""A larger answer is refused: a node never needs more for the calls above."""


class RpcFailure(Exception):
    """Base of every way a call can fail; `str()` is fit for the screen."""


class ReadOnlyViolation(RpcFailure):
    def __init__(self, method: str) -> None:
        super().__init__(f"refused: {method!r} is not a read-only method")
        self.method = method


class NodeUnreachable(RpcFailure):
    pass


class AuthFailed(RpcFailure):
    def __init__(self) -> None:
        super().__init__("authentication failed (check rpcuser/rpcpassword or the cookie)")


class BadResponse(RpcFailure):
    pass


class RpcError(RpcFailure):
    """The node answered the call with a JSON-RPC error."""

    def __init__(self, code: int, message: str, method: str) -> None:
        super().__init__(f"{method}: {message} (code {code})")
        self.code = code
        self.message = message
        self.method = method


class NodeWarmingUp(RpcError):
    """Code -28: the node is starting (loading blocks, verifying, …)."""

    def __init__(self, message: str, method: str) -> None:
        super().__init__(-28, message, method)

    def __str__(self) -> str:
        return f"node warming up: {self.message}"


class MethodNotFound(RpcError):
    """Code -32601: this node build has no such call."""

    def __str__(self) -> str:
        return f"this node has no {self.method}"


def error_from(obj: dict[str, Any], method: str) -> RpcError:
    code = obj.get("code")
    message = str(obj.get("message", ""))
    if not isinstance(code, int):
        return RpcError(0, message or repr(obj), method)
    if code == -28:
        return NodeWarmingUp(message, method)
    if code == -32601:
        return MethodNotFound(code, message, method)
    return RpcError(code, message, method)


@dataclass(frozen=True)
class Call:
    method: str
    params: tuple[Any, ...] = ()


def basic_auth(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def check_allowed(method: str) -> None:
    if method not in READ_ONLY_METHODS:
        raise ReadOnlyViolation(method)


def parse_single(body: Any, method: str) -> Any:
    """The result of one call, or the typed error the node gave."""
    if not isinstance(body, dict):
        raise BadResponse(f"{method}: answer is not a JSON object")
    error = body.get("error")
    if error:
        raise error_from(error if isinstance(error, dict) else {"message": str(error)}, method)
    if "result" not in body:
        raise BadResponse(f"{method}: answer has no result")
    return body["result"]


def parse_batch(body: Any, calls: Sequence[Call], first_id: int) -> list[Any | RpcError]:
    """Per call, in order: its result, or its error as a value (not raised)."""
    if not isinstance(body, list):
        if isinstance(body, dict) and body.get("error"):
            raise error_from(body["error"], "batch")
        raise BadResponse("batch answer is not a JSON array")
    by_id: dict[Any, Any] = {}
    for item in body:
        if isinstance(item, dict) and "id" in item:
            by_id[item["id"]] = item
    out: list[Any | RpcError] = []
    for offset, call in enumerate(calls):
        item = by_id.get(first_id + offset)
        if item is None:
            raise BadResponse(f"batch answer lacks {call.method}")
        try:
            out.append(parse_single(item, call.method))
        except RpcError as exc:
            out.append(exc)
    return out


class JsonRpcClient:
    """One kept-alive HTTP session to one node."""

    def __init__(
        self,
        url: str,
        user: str | None,
        password: str | None,
        timeout: float = 10.0,
        max_concurrent: int = 4,
    ) -> None:
        self._url = url
        # host:port, which is what an operator recognises in a message.
        self._address = URL(url).host_port_subcomponent or url
        self._headers: dict[str, str] = {}
        self.set_credentials(user, password)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        # No more requests in flight than a node's default RPC work queue can hold.
        self._slots = asyncio.Semaphore(max_concurrent)
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)

    @property
    def url(self) -> str:
        return self._url

    def set_credentials(self, user: str | None, password: str | None) -> None:
        """New credentials for the next request (a restarted node's cookie)."""
        if user is None:
            self._headers.pop("Authorization", None)
        else:
            self._headers["Authorization"] = basic_auth(user, password or "")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, *params: Any) -> Any:
        check_allowed(method)
        request_id = next(self._ids)
        body = await self._post({"jsonrpc": "1.0", "id": request_id, "method": method,
                                 "params": list(params)}, method)
        return parse_single(body, method)

    async def call_raw(self, method: str, *params: Any, max_bytes: int) -> bytes:
        """The whole answer body, unparsed: for answers too big to parse in
        one go on the event loop (a verbose mempool), which the caller parses
        incrementally. The envelope (`result`/`error`) is the caller's too."""
        check_allowed(method)
        payload = {"jsonrpc": "1.0", "id": next(self._ids), "method": method,
                   "params": list(params)}
        _, raw = await self._post_raw(payload, method, max_bytes)
        return raw

    async def batch(self, calls: Sequence[Call]) -> list[Any | RpcError]:
        """All calls in one request; each gets its result or its own error."""
        for call in calls:
            check_allowed(call.method)
        if not calls:
            return []
        first_id = next(self._ids)
        for _ in range(len(calls) - 1):
            next(self._ids)
        payload = [
            {"jsonrpc": "1.0", "id": first_id + i, "method": c.method, "params": list(c.params)}
            for i, c in enumerate(calls)
        ]
        body = await self._post(payload, "batch")
        return parse_batch(body, calls, first_id)

    def _session_or_new(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=4, keepalive_timeout=30),
            )
        return self._session

    async def _post(self, payload: Any, what: str) -> Any:
        status, raw = await self._post_raw(payload, what, MAX_RESPONSE_BYTES)
        try:
            return json.loads(raw)
        except ValueError as exc:
            if status != 200:
                # Not a JSON-RPC answer at all: the node (or whatever listens
                # there) is failing as a whole, e.g. shutting down.
                raise NodeUnreachable(f"HTTP {status}: {_snippet(raw)}") from exc
            raise BadResponse(f"{what}: answer is not JSON ({len(raw)} bytes)") from exc

    async def _post_raw(self, payload: Any, what: str, max_bytes: int) -> tuple[int, bytes]:
        session = self._session_or_new()
        try:
            async with self._slots, session.post(
                self._url, json=payload, headers=self._headers
            ) as response:
                if response.status == 401:
                    raise AuthFailed()
                if response.status == 403:
                    raise NodeUnreachable("forbidden: this address is not in the node's rpcallowip")
                if response.content_length and response.content_length > max_bytes:
                    raise BadResponse(f"{what}: answer of {response.content_length} bytes refused")
                return response.status, await _read_bounded(response, max_bytes, what)
        except RpcFailure:
            raise
        except TimeoutError as exc:
            raise NodeUnreachable(f"no answer from {self._address} within the timeout") from exc
        except aiohttp.ClientConnectorError as exc:
            reason = connection_failure(exc.os_error)
            raise NodeUnreachable(f"cannot connect to {self._address}: {reason}") from exc
        except aiohttp.ClientError as exc:
            raise NodeUnreachable(f"{self._url}: {exc.__class__.__name__}: {exc}") from exc


def _snippet(raw: bytes, limit: int = 80) -> str:
    text = "".join(c if c.isprintable() else " " for c in raw[:limit].decode("utf-8", "replace"))
    return " ".join(text.split()) or f"{len(raw)} bytes"


async def _read_bounded(response: aiohttp.ClientResponse, limit: int, what: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise BadResponse(f"{what}: answer over {limit} bytes refused")
        chunks.append(chunk)
    return b"".join(chunks)
