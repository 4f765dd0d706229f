"""Incremental parsers for the two `getrawmempool` answers, verbose and txids only.

A mainnet `getrawmempool true` answer of 100,000 transactions is about 50 MB;
`json.loads` of it blocks the event loop for most of a second and builds a tree
several times that size. These parsers walk the raw body a window at a time,
keep only the txid, vsize and fee of each transaction, and hand the loop back
every few milliseconds. Each entry is still decoded by the json module's own C
scanner, so the values are exactly those `json.loads` would give and a
malformed entry is caught; only the long outer object is walked by hand.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import math
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any, Final, TypeAlias

from blocksight_tui.adapters.jsonrpc import BadResponse, error_from

Source: TypeAlias = bytes | bytearray | memoryview | AsyncIterable[bytes]
"""The whole raw answer, or its chunks as they arrive."""
Item: TypeAlias = tuple[bytes, int, int]
"""(txid as 32 bytes, vsize in vB, base fee in sat)."""

STEP_BUDGET_S: Final = 0.003
"""Parse for this long, then let the loop run. A keypress can wait about two
such steps (and what runs between them), well under the 20 ms a step may take."""

WINDOW_BYTES: Final = 512 * 1024
SATS_PER_BTC: Final = 100_000_000
MAX_VSIZE: Final = 2**32 - 1

_WS = "[ \t\n\r]*"
_TXID_KEY = re.compile(_WS + '"([0-9a-fA-F]{64})"' + _WS + ":" + _WS)
_TXID_ITEM = re.compile(_WS + '"([0-9a-fA-F]{64})"' + _WS + r"([,\]])")
_TXID_RUN = re.compile('(?:"[0-9a-fA-F]{64}",){1,2048}')
_OBJ_SEP = re.compile(_WS + "([,}])")
_NEXT = re.compile(_WS + "(.?)", re.DOTALL)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# The C scanner `json.loads` itself uses (typeshed lacks the attribute),
# minus NaN and Infinity.
_scan_once: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder(  # type: ignore[attr-defined]
    parse_constant=_no_constant
).scan_once


class _Incomplete(Exception):
    """The token at `pos` does not parse in the text decoded so far."""

    def __init__(self, what: str, pos: int) -> None:
        super().__init__(what)
        self.what = what
        self.pos = pos


def _scan_failure(exc: Exception, what: str, pos: int) -> _Incomplete:
    if isinstance(exc, json.JSONDecodeError):
        return _Incomplete(f"{what}: {exc.msg}", exc.pos)
    if isinstance(exc, RecursionError):
        return _Incomplete(f"{what}: nested too deep", pos)
    if isinstance(exc, ValueError):  # NaN or Infinity
        return _Incomplete(f"{what}: {exc}", pos)
    return _Incomplete(what, pos)  # StopIteration: no value starts there


class _Text:
    """The answer decoded a window at a time; `s[i:]` is what is left to read.

    The answer is either the whole body, or its chunks as they arrive (then
    not even the body is held, only a window of it).
    """

    def __init__(self, source: Source, method: str, window: int) -> None:
        self.method = method
        self._window = window
        self._chunks: AsyncIterator[bytes | memoryview] = (
            _slices(memoryview(source).cast("B"), window)
            if isinstance(source, bytes | bytearray | memoryview)
            else aiter(source)
        )
        self._pos = 0
        self._tail = b""
        self._dropped = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.s = ""
        self.i = 0

    async def refill(self) -> bool:
        """Drop what was read, decode more; False at the end of the answer."""
        # Growing at least by what is buffered keeps a value larger than a
        # window from being rescanned a quadratic number of times.
        want = max(self._window, len(self.s) - self.i)
        parts: list[bytes | memoryview] = []
        got = 0
        while got < want:
            chunk = await anext(self._chunks, None)
            if chunk is None:
                break
            parts.append(chunk)
            got += len(chunk)
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        try:
            text = self._decoder.decode(data, final=not parts)
        except UnicodeDecodeError as exc:
            raise self.bad(f"not UTF-8 near byte {self._pos + exc.start}") from None
        if not parts:
            return False
        self._pos += got
        self._tail = (self._tail + bytes(data[-64:]))[-64:]
        self._dropped += self.i
        self.s = self.s[self.i :] + text
        self.i = 0
        return True

    def bad(self, reason: str) -> BadResponse:
        return BadResponse(f"{self.method}: {reason}")

    def failed(self, exc: _Incomplete) -> BadResponse:
        """The reason for a token that did not parse up to the end of the answer."""
        where = f"{exc.what} (character {self._dropped + exc.pos})"
        if self._tail.rstrip().endswith(b"}"):
            return self.bad(where)
        return self.bad(f"answer cut short ({where})")

    async def next_char(self) -> str:
        """Consume whitespace and one character; "" at the end of the answer."""
        while True:
            m = _NEXT.match(self.s, self.i)
            assert m is not None  # the pattern matches the empty string
            if m.group(1) or not await self.refill():
                self.i = m.end()
                return m.group(1)

    async def peek(self) -> str:
        c = await self.next_char()
        if c:
            self.i -= 1
        return c

    async def expect(self, char: str, where: str) -> None:
        c = await self.next_char()
        if c != char:
            raise self.bad(f"expected {char!r} {where}, found {c or 'the end'!r}")

    async def value(self) -> Any:
        """One JSON value of the envelope (small: error, id, a null result)."""
        while True:
            await self.peek()
            try:
                obj, end = _scan_once(self.s, self.i)
            except (StopIteration, ValueError, RecursionError) as exc:
                if await self.refill():
                    continue
                raise self.failed(_scan_failure(exc, "not JSON", self.i)) from None
            # A number at the end of the window may go on in the next one.
            if end == len(self.s) and await self.refill():
                continue
            self.i = end
            return obj


async def _slices(body: memoryview, size: int) -> AsyncIterator[memoryview]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def entry_size_fee(entry: Any, txid: str) -> tuple[int, int]:
    """(vsize, base fee in sat) of one mempool entry.

    Bitcoin Core gives `vsize` and `fees.base`; older Core and Bitcoin SV's
    bitcoind give `size` (virtual for Core) and `fee`, both in BTC. The base
    fee is the one paid; the modified fee includes local prioritisation.
    """
    if not isinstance(entry, dict):
        raise BadResponse(f"mempool entry {txid} is not an object")
    vsize = entry.get("vsize", entry.get("size"))
    if type(vsize) is not int or not 0 < vsize <= MAX_VSIZE:
        raise BadResponse(f"mempool entry {txid} has no valid vsize: {vsize!r}")
    fees = entry.get("fees")
    fee = fees.get("base") if isinstance(fees, dict) else None
    if fee is None:
        fee = entry.get("fee")
    if not isinstance(fee, int | float) or isinstance(fee, bool) or not 0 <= fee < math.inf:
        raise BadResponse(f"mempool entry {txid} has no valid fee: {fee!r}")
    return vsize, round(fee * SATS_PER_BTC)


def _verbose_item(s: str, i: int) -> tuple[list[Item], int, str]:
    m = _TXID_KEY.match(s, i)
    if m is None:
        raise _Incomplete("expected a txid key", i)
    txid = m.group(1)
    try:
        entry, end = _scan_once(s, m.end())
    except (StopIteration, ValueError, RecursionError) as exc:
        raise _scan_failure(exc, f"the entry of {txid} is not JSON", m.end()) from None
    sep = _OBJ_SEP.match(s, end)
    if sep is None:
        raise _Incomplete(f"expected ',' or '}}' after the entry of {txid}", end)
    vsize, fee = entry_size_fee(entry, txid)
    return [(bytes.fromhex(txid), vsize, fee)], sep.end(), sep.group(1)


def _txid_items(s: str, i: int) -> tuple[list[bytes], int, str]:
    # Bitcoin Core writes the list compact: a run of `"<txid>",` is matched
    # and decoded by a few operations in C, not one regex match per item.
    m = _TXID_RUN.match(s, i)
    if m is not None:
        blob = bytes.fromhex(s[i : m.end()].replace('"', "").replace(",", ""))
        return [blob[j : j + 32] for j in range(0, len(blob), 32)], m.end(), ","
    m = _TXID_ITEM.match(s, i)
    if m is None:
        raise _Incomplete("expected a txid", i)
    return [bytes.fromhex(m.group(1))], m.end(), m.group(2)


async def _items(
    text: _Text,
    parse: Callable[[str, int], tuple[list[Any], int, str]],
    close: str,
    budget_s: float,
) -> AsyncIterator[list[Any]]:
    """The members of the result object or array, a step's worth at a time."""
    await text.next_char()  # the opening bracket, checked by the caller
    if await text.peek() == close:
        await text.next_char()
        return
    batch: list[Any] = []
    unchecked = 0
    deadline = time.perf_counter() + budget_s
    s, i = text.s, text.i
    while True:
        try:
            items, end, sep = parse(s, i)
        except _Incomplete as exc:
            text.i = i
            if await text.refill():
                s, i = text.s, text.i
                continue
            raise text.failed(exc) from None
        batch += items
        i = end
        if sep == close:
            break
        unchecked += len(items)
        if unchecked < 32:
            continue
        unchecked = 0
        if time.perf_counter() >= deadline:
            text.i = i
            yield batch
            batch = []
            await asyncio.sleep(0)
            s, i = text.s, text.i
            deadline = time.perf_counter() + budget_s
    text.i = i
    if batch:
        yield batch


async def _result_items(
    source: Source,
    method: str,
    opening: str,
    parse: Callable[[str, int], tuple[list[Any], int, str]],
    budget_s: float,
    window: int,
) -> AsyncIterator[list[Any]]:
    """Walk the `{"result": …, "error": …, "id": …}` envelope in any key order."""
    text = _Text(source, method, window)
    await text.expect("{", "at the start of the answer")
    error: Any = None
    seen_result = False
    while True:
        key = await text.value()
        if not isinstance(key, str):
            raise text.bad("answer is not a JSON-RPC object")
        await text.expect(":", f"after {key!r}")
        if key == "result" and await text.peek() == opening:
            seen_result = True
            async for batch in _items(text, parse, "}" if opening == "{" else "]", budget_s):
                yield batch
        elif key == "result":
            result = await text.value()
            seen_result = result is not None
            if seen_result:
                want = "an object" if opening == "{" else "an array"
                raise text.bad(f"result is {type(result).__name__}, expected {want}")
        elif key == "error":
            error = await text.value()
        else:
            await text.value()
        c = await text.next_char()
        if c == "}":
            break
        if c != ",":
            raise text.bad(f"expected ',' or '}}' in the answer, found {c or 'the end'!r}")
    if await text.next_char():
        raise text.bad("data after the answer")
    if error:
        raise error_from(error if isinstance(error, dict) else {"message": str(error)}, method)
    if not seen_result:
        raise text.bad("answer has no result")


def iter_verbose_mempool(
    source: Source, *, budget_s: float = STEP_BUDGET_S, window: int = WINDOW_BYTES
) -> AsyncIterator[list[Item]]:
    """Batches of (txid, vsize, fee_sat) from a raw `getrawmempool true` answer.

    Raises the node's RpcError for an error answer, BadResponse for anything
    malformed. A consumer that keeps the batches must drop them if it raises:
    the envelope is only known to be good once the last batch is out.
    """
    return _result_items(source, "getrawmempool", "{", _verbose_item, budget_s, window)


def iter_txids(
    source: Source, *, budget_s: float = STEP_BUDGET_S, window: int = WINDOW_BYTES
) -> AsyncIterator[list[bytes]]:
    """Batches of txids (32 bytes each) from a raw `getrawmempool false` answer."""
    return _result_items(source, "getrawmempool", "[", _txid_items, budget_s, window)


async def parse_verbose_mempool(
    source: Source, *, budget_s: float = STEP_BUDGET_S, window: int = WINDOW_BYTES
) -> dict[bytes, tuple[int, int]]:
    """txid → (vsize, fee_sat) of a whole raw `getrawmempool true` answer."""
    out: dict[bytes, tuple[int, int]] = {}
    async for batch in iter_verbose_mempool(source, budget_s=budget_s, window=window):
        for txid, vsize, fee in batch:
            out[txid] = (vsize, fee)
    return out
