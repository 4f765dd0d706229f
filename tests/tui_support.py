"""Shared fixtures for the TUI tests: realistic events of every type, a fake
feed that publishes them through a real bus, and screen text extraction."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from textual.app import App
from textual.widget import Widget

from blocksight_tui.events import (
    BlockchainInfo,
    BlockchainMining,
    BlockchainNetwork,
    ChainReorg,
    EventType,
    FeeEstimate,
    FxRates,
    NetworkFees,
    NetworkMempool,
    Payload,
    PriceCurrent,
    PriceQuote,
    SourceInfo,
    TipHeight,
)
from blocksight_tui.hub.bus import EventBus
from blocksight_tui.orchestrator.main import MainOrchestrator

NOW = 1_750_000_000
TIP = 901_234
CORE = SourceInfo(name="core")
PRICES = SourceInfo(name="prices")

Publication = tuple[EventType, Payload | None, SourceInfo]


def block_hash(height: int, salt: int = 0) -> str:
    """A block-like hash: leading zeros, then digits unique to (height, salt)."""
    digest = hashlib.sha256(f"{height}/{salt}".encode()).hexdigest()
    return "0" * 18 + digest[18:]


def tips(count: int = 6, top: int = TIP) -> list[TipHeight]:
    """Consecutive tips ending at ``top``, about ten minutes apart."""
    out = []
    for height in range(top - count + 1, top + 1):
        out.append(
            TipHeight(
                height=height,
                hash=block_hash(height),
                time=NOW - (top - height) * 600 - 192,
                previous_hash=block_hash(height - 1),
            )
        )
    return out


def reorg(fork: int = TIP - 2, depth: int = 1) -> ChainReorg:
    return ChainReorg(
        depth=depth,
        fork_height=fork,
        fork_hash=block_hash(fork),
        old_tip_height=fork + depth,
        old_tip_hash=block_hash(fork + depth, salt=1),
        new_tip_height=fork + depth,
        new_tip_hash=block_hash(fork + depth),
        disconnected=(block_hash(fork + depth, salt=1),),
        connected=(block_hash(fork + depth),),
    )


def all_events() -> list[Publication]:
    """One realistic event of each of the nine types (the tip last)."""
    chain = tips()
    tip = chain[-1]
    stale = chain[-2].model_copy(update={"hash": block_hash(TIP - 1, salt=1)})
    published: list[Publication] = [("tip.height", t, CORE) for t in chain[:-2]]
    published += [
        ("tip.height", stale, CORE),
        ("chain.reorg", reorg(), CORE),
        ("tip.height", chain[-2], CORE),
        (
            "blockchain.info",
            BlockchainInfo(
                chain="main",
                blocks=TIP,
                headers=TIP,
                best_block_hash=tip.hash,
                difficulty=126_982_285_146_989.3,
                median_time=NOW - 3_000,
                verification_progress=0.9999987,
                initial_block_download=False,
                size_on_disk=712_345_678_901,
            ),
            CORE,
        ),
        (
            "blockchain.network",
            BlockchainNetwork(
                version=290000,
                subversion="/Satoshi:29.0.0/",
                protocol_version=70016,
                connections=18,
                connections_in=8,
                connections_out=10,
                relay_fee_sat_per_vb=1.0,
                reachable_networks=("ipv4", "ipv6", "onion"),
            ),
            CORE,
        ),
        (
            "blockchain.mining",
            BlockchainMining(
                chain="main",
                blocks=TIP,
                difficulty=126_982_285_146_989.3,
                network_hashps=9.087e20,
                blocks_until_retarget=1_234,
                blocks_until_halving=148_766,
                subsidy_btc=3.125,
            ),
            CORE,
        ),
        (
            "network.fees",
            NetworkFees(
                estimates=(
                    FeeEstimate(target_blocks=1, sat_per_vb=12.4),
                    FeeEstimate(target_blocks=3, sat_per_vb=8.1),
                    FeeEstimate(target_blocks=6, sat_per_vb=5.03),
                    FeeEstimate(target_blocks=144, sat_per_vb=1.01),
                )
            ),
            CORE,
        ),
        (
            "network.mempool",
            NetworkMempool(
                tx_count=45_123,
                vsize=25_300_000,
                usage=123_456_789,
                max_usage=300_000_000,
                min_fee_sat_per_vb=1.0,
                total_fee_btc=0.51234567,
            ),
            CORE,
        ),
        (
            "price.current",
            PriceCurrent(
                currency="USD",
                price=104_321.5,
                quotes=(
                    PriceQuote(provider="coinbase", price=104_320.0, age_s=3),
                    PriceQuote(provider="kraken", price=104_323.0, age_s=5),
                    PriceQuote(provider="bitstamp", price=104_321.5, age_s=12),
                ),
            ),
            PRICES,
        ),
        ("fx.rates", FxRates(base="USD", rates={"EUR": 0.92, "GBP": 0.79}), PRICES),
        ("tip.height", tip, CORE),
    ]
    return published


@dataclass
class FakeFeed:
    """Publishes a fixed list through a real bus; optionally fails on start."""

    bus: EventBus
    events: Sequence[Publication] = ()
    fail_with: Exception | None = None
    started: int = 0
    stopped: int = 0
    log: list[str] = field(default_factory=list)

    async def start(self) -> None:
        self.started += 1
        if self.fail_with is not None:
            raise self.fail_with
        for event_type, payload, source in self.events:
            self.bus.publish(event_type, payload, source)

    async def stop(self) -> None:
        self.stopped += 1


def wired(
    events: Sequence[Publication] = (), mode: str = "demo", label: str = ""
) -> tuple[MainOrchestrator, EventBus, FakeFeed]:
    orch = MainOrchestrator.standard(mode=mode, label=label)  # type: ignore[arg-type]
    bus = EventBus(clock=lambda: float(NOW))
    bus.subscribe(orch.handle)
    return orch, bus, FakeFeed(bus, events)


def screen_text(app: App[Any]) -> str:
    """What the terminal shows, as plain text lines."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


def widget_text(widget: Widget) -> str:
    """The widget's own cells (border included), as plain text lines."""
    region = widget.region
    lines = screen_text(widget.app).splitlines()
    return "\n".join(line[region.x : region.right] for line in lines[region.y : region.bottom])


def visible(app: App[Any], widget: Widget) -> bool:
    region = widget.region
    return bool(region.width and region.height) and app.screen.region.contains_region(region)
