"""Searches answered by the Electrum server: an address (balance, history,
unspent outputs), a transaction, a block header.

An address sent to a server that is not on this machine, and not reached
over Tor, tells that server which address the user cares about: the first
such lookup of a session says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from blocksight_tui.adapters.addresses import decode_address, script_hash
from blocksight_tui.adapters.electrum.headers import BlockHeader, parse_header
from blocksight_tui.adapters.electrum.pool import ServerPool
from blocksight_tui.adapters.electrum.session import ElectrumFailure, ServerError

DEFAULT_MAX_HISTORY: Final = 50
TXID: Final = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class HistoryItem:
    txid: str
    height: int
    """0 or -1: still in the mempool (-1: with unconfirmed parents)."""


@dataclass(frozen=True)
class Utxo:
    txid: str
    vout: int
    value_sat: int
    height: int


@dataclass(frozen=True)
class AddressReport:
    address: str
    kind: str
    script_hash: str
    confirmed_sat: int
    unconfirmed_sat: int
    history: tuple[HistoryItem, ...]
    """Newest first: the mempool, then by height."""
    history_total: int
    unspent: tuple[Utxo, ...]
    server: str
    privacy_warning: str | None = None


class ElectrumLookups:
    def __init__(
        self,
        pool: ServerPool,
        network: str,
        *,
        max_history: int = DEFAULT_MAX_HISTORY,
        proxied: bool = False,
    ) -> None:
        self._pool = pool
        self._network = network
        self._max_history = max_history
        self._proxied = proxied
        self._warned: set[int] = set()

    async def address(self, text: str) -> AddressReport:
        """Raises AddressError for a bad address, ElectrumFailure/ServerError
        when the server cannot answer."""
        decoded = decode_address(text, self._network)
        scripthash = script_hash(decoded.script)
        link = self._pool.active
        warning = self._privacy_warning()
        balance = await self._pool.request("blockchain.scripthash.get_balance", scripthash)
        history = await self._pool.request("blockchain.scripthash.get_history", scripthash)
        unspent = await self._pool.request("blockchain.scripthash.listunspent", scripthash)
        try:
            items = parse_history(history)
            utxos = parse_unspent(unspent)
            confirmed, unconfirmed = parse_balance(balance)
        except (KeyError, TypeError, ValueError) as exc:
            raise ElectrumFailure(f"malformed answer about {decoded.address}: {exc}") from exc
        return AddressReport(
            address=decoded.address,
            kind=decoded.kind,
            script_hash=scripthash,
            confirmed_sat=confirmed,
            unconfirmed_sat=unconfirmed,
            history=items[: self._max_history],
            history_total=len(items),
            unspent=utxos,
            server=link.url if link is not None else "?",
            privacy_warning=warning,
        )

    def _privacy_warning(self) -> str | None:
        link = self._pool.active
        if link is None or link.connection is None:
            return None
        spec = link.spec
        if spec.is_local or spec.is_onion or self._proxied:
            return None
        session = id(link.connection)
        if session in self._warned:
            return None
        self._warned.add(session)
        return (
            f"{spec.host} is not on this machine: the server learns which addresses "
            "you look up (use your own server, or reach it over Tor)"
        )

    async def transaction(self, txid: str) -> dict[str, Any]:
        """Verbose where the server can; else the raw hex as {"hex": …}."""
        if not TXID.match(txid):
            raise ValueError(f"{txid!r} is not a transaction id (64 hex digits)")
        try:
            verbose = await self._pool.request("blockchain.transaction.get", txid.lower(), True)
            if isinstance(verbose, dict):
                return verbose
        except ServerError:
            pass  # servers without a txindex-backed verbose mode
        raw = await self._pool.request("blockchain.transaction.get", txid.lower(), False)
        if not isinstance(raw, str):
            raise ElectrumFailure(f"blockchain.transaction.get answered {raw!r:.60}")
        return {"txid": txid.lower(), "hex": raw}

    async def header(self, height: int) -> BlockHeader:
        if height < 0:
            raise ValueError("a height is 0 or more")
        raw = await self._pool.request("blockchain.block.header", height)
        if not isinstance(raw, str):
            raise ElectrumFailure(f"blockchain.block.header answered {raw!r:.60}")
        return parse_header(raw)


def parse_history(answer: Any) -> tuple[HistoryItem, ...]:
    """Newest first: mempool entries (height 0 or -1), then by height."""
    items = (HistoryItem(str(h["tx_hash"]), int(h["height"])) for h in answer)
    return tuple(sorted(items, key=lambda h: (h.height > 0, -h.height)))


def parse_unspent(answer: Any) -> tuple[Utxo, ...]:
    return tuple(
        Utxo(str(u["tx_hash"]), int(u["tx_pos"]), int(u["value"]), int(u["height"]))
        for u in answer
    )


def parse_balance(answer: Any) -> tuple[int, int]:
    """(confirmed, unconfirmed) in sat; unconfirmed is negative when the
    mempool spends confirmed coins."""
    return int(answer["confirmed"]), int(answer["unconfirmed"])
