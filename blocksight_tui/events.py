"""The event contracts: one envelope, nine typed payloads, and their JSON Schema.

Everything that crosses a boundary (adapter → bus → hub/orchestrator → widget,
or over the WebSocket) is one of these frozen models, so a consumer can never
mutate what another one is reading.

`docs/events.schema.json` is generated from this module
(`python -m blocksight_tui.events > docs/events.schema.json`); a test fails when
the file and the models disagree.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, Final, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

SCHEMA_ID: Final = "https://blocksight.invalid/schema/events.schema.json"

EventType: TypeAlias = Literal[
    "tip.height",
    "network.fees",
    "network.mempool",
    "chain.reorg",
    "price.current",
    "fx.rates",
    "blockchain.info",
    "blockchain.network",
    "blockchain.mining",
]

EVENT_TYPES: Final[tuple[EventType, ...]] = (
    "tip.height",
    "network.fees",
    "network.mempool",
    "chain.reorg",
    "price.current",
    "fx.rates",
    "blockchain.info",
    "blockchain.network",
    "blockchain.mining",
)

CHAIN_SOURCES: Final = frozenset({"core", "demo"})
"""Sources that speak for the chain itself: the node, or the simulated one."""

SourceState: TypeAlias = Literal["ok", "stale", "unavailable", "off"]
"""ok: fresh data. stale: the source failed, `data` is the last good value.
unavailable: the source cannot give this figure; `reason` says why, `data` may be null.
off: the operator turned the source off (or it has nothing to say on this
network); `reason` says how, `data` is null. Not a fault."""

FeeMode: TypeAlias = Literal["economical", "conservative"]

Hash: TypeAlias = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
NonNegInt: TypeAlias = Annotated[int, Field(ge=0)]
NonNegFloat: TypeAlias = Annotated[float, Field(ge=0)]


class Frozen(BaseModel):
    """Immutable, strict about unknown fields, so contract drift is caught early."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceInfo(Frozen):
    """Which adapter produced an event, and how healthy it was when it did."""

    name: str = Field(description="Adapter name: core, electrum, prices, demo, hub.")
    state: SourceState = "ok"
    reason: str | None = Field(default=None, description="Why the state is not ok.")
    detail: str | None = Field(
        default=None, description="Which server answered, and how (e.g. protocol version)."
    )


# ---------------------------------------------------------------- payloads


class TipHeight(Frozen):
    height: NonNegInt
    hash: Hash
    time: NonNegInt = Field(description="Block header time, Unix seconds.")
    previous_hash: Hash | None = None


class FeeEstimate(Frozen):
    target_blocks: Annotated[int, Field(ge=1, le=1008)]
    mode: FeeMode = "economical"
    sat_per_vb: NonNegFloat | None = Field(
        default=None, description="null when the node has no estimate for this target."
    )


class NetworkFees(Frozen):
    estimates: tuple[FeeEstimate, ...]


class FeeBand(Frozen):
    """Mempool transactions paying from `min_sat_per_vb` up to (not including)
    `max_sat_per_vb`; the top band has no upper bound."""

    min_sat_per_vb: NonNegFloat
    max_sat_per_vb: NonNegFloat | None = None
    vsize: NonNegInt
    tx_count: NonNegInt | None = Field(
        default=None, description="null when the source gives only vsize (Electrum servers)."
    )


class NetworkMempool(Frozen):
    tx_count: NonNegInt | None = Field(description="null when the source does not count.")
    vsize: NonNegInt = Field(description="Sum of the virtual sizes of all transactions, vB.")
    usage: NonNegInt | None = Field(description="Memory used by the mempool, bytes.")
    max_usage: NonNegInt | None = Field(default=None, description="-maxmempool, bytes.")
    min_fee_sat_per_vb: NonNegFloat | None = None
    total_fee_btc: NonNegFloat | None = None
    incremental_relay_fee_sat_per_vb: NonNegFloat | None = None
    full_rbf: bool | None = None
    loaded: bool | None = None
    fee_histogram: tuple[FeeBand, ...] | None = Field(
        default=None, description="vsize per fee-rate band, lowest band first; null if not known."
    )


class ChainReorg(Frozen):
    depth: Annotated[int, Field(ge=1)]
    fork_height: NonNegInt
    fork_hash: Hash
    old_tip_height: NonNegInt
    old_tip_hash: Hash
    new_tip_height: NonNegInt
    new_tip_hash: Hash
    disconnected: tuple[Hash, ...] = Field(description="Hashes of the branch left, tip first.")
    connected: tuple[Hash, ...] = Field(description="Hashes of the branch joined, tip first.")


class PriceQuote(Frozen):
    provider: str
    price: Annotated[float, Field(gt=0)]
    age_s: NonNegFloat


class PriceCurrent(Frozen):
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    price: Annotated[float, Field(gt=0)]
    quotes: tuple[PriceQuote, ...] = ()
    stale: bool = False


class FxRates(Frozen):
    base: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    rates: dict[str, Annotated[float, Field(gt=0)]]


class BlockSummary(Frozen):
    """One recent block as a node operator reads it; what the node could not
    tell is null."""

    height: NonNegInt
    hash: Hash
    time: NonNegInt
    tx_count: NonNegInt | None = None
    size: NonNegInt | None = None
    weight: NonNegInt | None = None
    total_fee_btc: NonNegFloat | None = None
    fee_rate_percentiles: tuple[NonNegFloat, ...] | None = Field(
        default=None, description="sat/vB at the 10th, 25th, 50th, 75th and 90th percentile."
    )
    subsidy_btc: NonNegFloat | None = None
    pool: str | None = Field(default=None, description="Known mining pool, from the coinbase.")
    coinbase_tag: str | None = Field(
        default=None, description="Printable text of the coinbase script, for unknown pools."
    )


class ChainTip(Frozen):
    height: NonNegInt
    hash: Hash
    branch_length: NonNegInt
    status: str = Field(description="active, valid-fork, valid-headers, headers-only or invalid.")


class SyncProgress(Frozen):
    """Initial block download, as measured between two polls."""

    progress: NonNegFloat = Field(description="verificationprogress, 0 to 1.")
    blocks_behind: NonNegInt
    blocks_per_second: NonNegFloat | None = None
    eta_seconds: NonNegFloat | None = None


class BlockchainInfo(Frozen):
    chain: str
    blocks: NonNegInt
    headers: NonNegInt
    best_block_hash: Hash
    difficulty: NonNegFloat
    median_time: NonNegInt
    verification_progress: NonNegFloat
    initial_block_download: bool | None = None
    size_on_disk: NonNegInt | None = None
    pruned: bool = False
    warnings: tuple[str, ...] = ()
    sync: SyncProgress | None = Field(default=None, description="Set during initial download.")
    chain_tips: tuple[ChainTip, ...] = ()
    recent_blocks: tuple[BlockSummary, ...] = Field(
        default=(), description="The last blocks of the active chain, newest first."
    )


class PeerSummary(Frozen):
    inbound: NonNegInt
    outbound: NonNegInt
    by_connection_type: dict[str, NonNegInt] = Field(
        default_factory=dict, description="outbound-full-relay, block-relay-only, inbound, …"
    )
    v2_transport: NonNegInt | None = None
    top_user_agents: tuple[tuple[str, NonNegInt], ...] = ()
    ping_ms_median: NonNegFloat | None = None
    ping_ms_min: NonNegFloat | None = None


class TrafficTotals(Frozen):
    bytes_received: NonNegInt
    bytes_sent: NonNegInt
    receive_rate_bps: NonNegFloat | None = Field(
        default=None, description="Bytes per second since the previous sample."
    )
    send_rate_bps: NonNegFloat | None = None


class BlockchainNetwork(Frozen):
    version: int
    subversion: str
    protocol_version: int
    connections: NonNegInt
    connections_in: NonNegInt | None = None
    connections_out: NonNegInt | None = None
    network_active: bool = True
    relay_fee_sat_per_vb: NonNegFloat | None = None
    reachable_networks: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    peers: PeerSummary | None = None
    traffic: TrafficTotals | None = None


class BlockchainMining(Frozen):
    chain: str
    blocks: NonNegInt
    difficulty: NonNegFloat
    network_hashps: NonNegFloat | None = None
    pooled_tx: NonNegInt | None = None
    blocks_until_retarget: NonNegInt
    blocks_until_halving: NonNegInt
    subsidy_btc: NonNegFloat
    expected_difficulty_change_pct: float | None = Field(
        default=None, description="From the block times since the last retarget."
    )
    mean_block_interval_s: NonNegFloat | None = None


PAYLOADS: Final[dict[EventType, type[Frozen]]] = {
    "tip.height": TipHeight,
    "network.fees": NetworkFees,
    "network.mempool": NetworkMempool,
    "chain.reorg": ChainReorg,
    "price.current": PriceCurrent,
    "fx.rates": FxRates,
    "blockchain.info": BlockchainInfo,
    "blockchain.network": BlockchainNetwork,
    "blockchain.mining": BlockchainMining,
}

Payload: TypeAlias = (
    TipHeight
    | NetworkFees
    | NetworkMempool
    | ChainReorg
    | PriceCurrent
    | FxRates
    | BlockchainInfo
    | BlockchainNetwork
    | BlockchainMining
)


# ---------------------------------------------------------------- envelopes


class _Envelope(Frozen):
    seq: NonNegInt = Field(description="Global sequence number, increasing by one per event.")
    ts: NonNegFloat = Field(description="When the event was published, Unix seconds.")
    source: SourceInfo


class TipHeightEvent(_Envelope):
    type: Literal["tip.height"] = "tip.height"
    data: TipHeight | None


class NetworkFeesEvent(_Envelope):
    type: Literal["network.fees"] = "network.fees"
    data: NetworkFees | None


class NetworkMempoolEvent(_Envelope):
    type: Literal["network.mempool"] = "network.mempool"
    data: NetworkMempool | None


class ChainReorgEvent(_Envelope):
    type: Literal["chain.reorg"] = "chain.reorg"
    data: ChainReorg | None


class PriceCurrentEvent(_Envelope):
    type: Literal["price.current"] = "price.current"
    data: PriceCurrent | None


class FxRatesEvent(_Envelope):
    type: Literal["fx.rates"] = "fx.rates"
    data: FxRates | None


class BlockchainInfoEvent(_Envelope):
    type: Literal["blockchain.info"] = "blockchain.info"
    data: BlockchainInfo | None


class BlockchainNetworkEvent(_Envelope):
    type: Literal["blockchain.network"] = "blockchain.network"
    data: BlockchainNetwork | None


class BlockchainMiningEvent(_Envelope):
    type: Literal["blockchain.mining"] = "blockchain.mining"
    data: BlockchainMining | None


Event: TypeAlias = Annotated[
    TipHeightEvent
    | NetworkFeesEvent
    | NetworkMempoolEvent
    | ChainReorgEvent
    | PriceCurrentEvent
    | FxRatesEvent
    | BlockchainInfoEvent
    | BlockchainNetworkEvent
    | BlockchainMiningEvent,
    Field(discriminator="type"),
]

ENVELOPES: Final[dict[EventType, type[_Envelope]]] = {
    "tip.height": TipHeightEvent,
    "network.fees": NetworkFeesEvent,
    "network.mempool": NetworkMempoolEvent,
    "chain.reorg": ChainReorgEvent,
    "price.current": PriceCurrentEvent,
    "fx.rates": FxRatesEvent,
    "blockchain.info": BlockchainInfoEvent,
    "blockchain.network": BlockchainNetworkEvent,
    "blockchain.mining": BlockchainMiningEvent,
}

EVENT_ADAPTER: Final[TypeAdapter[Event]] = TypeAdapter(Event)


def make_event(
    event_type: EventType,
    data: Payload | None,
    source: SourceInfo,
    seq: int,
    ts: float | None = None,
) -> Event:
    """Wrap a payload in the envelope of its type, checking the two agree."""
    expected = PAYLOADS[event_type]
    if data is not None and not isinstance(data, expected):
        raise TypeError(f"{event_type} carries {expected.__name__}, not {type(data).__name__}")
    fields = {"seq": seq, "ts": time.time() if ts is None else ts, "source": source, "data": data}
    event: Event = ENVELOPES[event_type].model_validate(fields)  # type: ignore[assignment]
    return event


def parse_event(raw: str | bytes | dict[str, Any]) -> Event:
    """Validate an event received from outside (a hub, a file)."""
    if isinstance(raw, dict):
        return EVENT_ADAPTER.validate_python(raw)
    return EVENT_ADAPTER.validate_json(raw)


def events_json_schema() -> dict[str, Any]:
    schema = EVENT_ADAPTER.json_schema(ref_template="#/$defs/{model}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "BlockSight event",
        "description": (
            "One event as published on the bus and sent by the hub: an envelope "
            "(type, seq, ts, source) around a typed payload in `data`."
        ),
        **schema,
    }


def render_schema() -> str:
    return json.dumps(events_json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render_schema(), end="")
