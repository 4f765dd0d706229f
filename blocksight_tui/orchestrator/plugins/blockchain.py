"""The chain as the node sees it: tip, recent blocks, reorgs, fees, mempool,
network and mining."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from blocksight_tui.events import (
    BlockchainInfoEvent,
    BlockchainMiningEvent,
    BlockchainNetworkEvent,
    ChainReorg,
    ChainReorgEvent,
    Event,
    NetworkFeesEvent,
    NetworkMempoolEvent,
    TipHeight,
    TipHeightEvent,
)
from blocksight_tui.orchestrator.plugins.base import ContextPlugin

RECENT_BLOCKS = 32


@dataclass(frozen=True)
class BlockchainState:
    tip: TipHeightEvent | None = None
    info: BlockchainInfoEvent | None = None
    network: BlockchainNetworkEvent | None = None
    mining: BlockchainMiningEvent | None = None
    fees: NetworkFeesEvent | None = None
    mempool: NetworkMempoolEvent | None = None
    recent_blocks: tuple[TipHeight, ...] = ()
    """Tips seen, oldest first, at most one per height (a reorg replaces)."""
    last_reorg: ChainReorg | None = None
    reorg_count: int = 0


class BlockchainPlugin(ContextPlugin):
    name: ClassVar[str] = "blockchain"
    _FIELDS: ClassVar[dict[str, str]] = {
        "blockchain.info": "info",
        "blockchain.network": "network",
        "blockchain.mining": "mining",
        "network.fees": "fees",
        "network.mempool": "mempool",
    }

    def __init__(self) -> None:
        self._state = BlockchainState()
        self._electrum_only = True
        """Electrum's figures stand in for the node's until the node speaks."""

    @property
    def state(self) -> BlockchainState:
        return self._state

    def reset(self) -> None:
        self._state = BlockchainState()
        self._electrum_only = True

    def accepts(self, event: Event) -> bool:
        if event.type not in self._FIELDS and event.type not in ("tip.height", "chain.reorg"):
            return False
        if event.source.name == "electrum":
            return self._electrum_only
        self._electrum_only = False
        return True

    def handle(self, event: Event) -> bool:
        old = self._state
        if isinstance(event, TipHeightEvent):
            self._state = replace(old, tip=event, recent_blocks=_extend(old.recent_blocks, event))
        elif isinstance(event, ChainReorgEvent):
            if event.data is not None:
                self._state = replace(
                    old,
                    last_reorg=event.data,
                    reorg_count=old.reorg_count + 1,
                    recent_blocks=tuple(
                        b for b in old.recent_blocks if b.height <= event.data.fork_height
                    ),
                )
        elif event.type in self._FIELDS:
            self._state = replace(old, **{self._FIELDS[event.type]: event})  # type: ignore[arg-type]
        return self._state != old


def _extend(blocks: tuple[TipHeight, ...], event: TipHeightEvent) -> tuple[TipHeight, ...]:
    tip = event.data
    if tip is None:
        return blocks
    kept = [b for b in blocks if b.height < tip.height]
    kept.append(tip)
    return tuple(kept[-RECENT_BLOCKS:])
