"""The event contracts: every model round-trips, and the published schema is
the one the models give."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from blocksight_tui import events as ev
from blocksight_tui.events import EVENT_TYPES, PAYLOADS, SourceInfo, make_event, parse_event

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "events.schema.json"
H1, H2, H3 = "0" * 63 + "1", "0" * 63 + "2", "0" * 63 + "3"

SAMPLES: dict[str, ev.Frozen] = {
    "tip.height": ev.TipHeight(height=840_000, hash=H1, time=1_713_571_767, previous_hash=H2),
    "network.fees": ev.NetworkFees(
        estimates=(
            ev.FeeEstimate(target_blocks=1, sat_per_vb=12.5),
            ev.FeeEstimate(target_blocks=6, mode="conservative", sat_per_vb=None),
        )
    ),
    "network.mempool": ev.NetworkMempool(
        tx_count=25, vsize=3525, usage=30296, max_usage=300_000_000, min_fee_sat_per_vb=0.1,
        total_fee_btc=0.00068859, incremental_relay_fee_sat_per_vb=0.1, full_rbf=True,
        loaded=True,
    ),
    "chain.reorg": ev.ChainReorg(
        depth=1, fork_height=99, fork_hash=H3, old_tip_height=100, old_tip_hash=H1,
        new_tip_height=101, new_tip_hash=H2, disconnected=(H1,), connected=(H2, H3),
    ),
    "price.current": ev.PriceCurrent(
        currency="USD", price=96_000.5,
        quotes=(ev.PriceQuote(provider="kraken", price=96_001.0, age_s=3.5),), stale=False,
    ),
    "fx.rates": ev.FxRates(base="USD", rates={"EUR": 0.92, "JPY": 151.2}),
    "blockchain.info": ev.BlockchainInfo(
        chain="main", blocks=840_000, headers=840_001, best_block_hash=H1, difficulty=8.6e13,
        median_time=1_713_570_000, verification_progress=0.9999, initial_block_download=False,
        size_on_disk=650_000_000_000, warnings=("a warning",),
    ),
    "blockchain.network": ev.BlockchainNetwork(
        version=310100, subversion="/Satoshi:31.1.0/", protocol_version=70016, connections=12,
        connections_in=2, connections_out=10, relay_fee_sat_per_vb=0.1,
        reachable_networks=("ipv4", "onion"),
    ),
    "blockchain.mining": ev.BlockchainMining(
        chain="main", blocks=840_000, difficulty=8.6e13, network_hashps=6.1e20, pooled_tx=4000,
        blocks_until_retarget=672, blocks_until_halving=210_000, subsidy_btc=3.125,
    ),
}


def test_every_type_has_a_sample_and_a_payload() -> None:
    assert set(SAMPLES) == set(EVENT_TYPES) == set(PAYLOADS)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_round_trip(event_type: ev.EventType) -> None:
    source = SourceInfo(name="core")
    event = make_event(event_type, SAMPLES[event_type], source, seq=7, ts=1.5)  # type: ignore[arg-type]
    assert event.type == event_type
    assert parse_event(event.model_dump_json()) == event
    assert parse_event(json.loads(event.model_dump_json())) == event


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_a_figure_can_be_unavailable(event_type: ev.EventType) -> None:
    source = SourceInfo(name="core", state="unavailable", reason="node unreachable")
    event = make_event(event_type, None, source, seq=1, ts=0)
    assert parse_event(event.model_dump_json()).source.reason == "node unreachable"


def test_payload_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(TypeError):
        make_event("tip.height", SAMPLES["network.fees"], SourceInfo(name="x"), seq=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "tip.height", "seq": 1, "ts": 0, "source": {"name": "core"},
         "data": {"height": -1, "hash": H1, "time": 0}},
        {"type": "tip.height", "seq": 1, "ts": 0, "source": {"name": "core"},
         "data": {"height": 1, "hash": "nothex", "time": 0}},
        {"type": "no.such", "seq": 1, "ts": 0, "source": {"name": "core"}, "data": None},
        {"type": "fx.rates", "seq": 1, "ts": 0, "source": {"name": "core"},
         "data": {"base": "USD", "rates": {"EUR": 0}}},
        {"type": "tip.height", "seq": 1, "ts": 0, "source": {"name": "core"}, "data": None,
         "extra": 1},
    ],
)
def test_invalid_events_are_refused(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        parse_event(raw)


def test_events_are_immutable() -> None:
    event = make_event("tip.height", SAMPLES["tip.height"], SourceInfo(name="core"), seq=1)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        event.seq = 2  # type: ignore[misc]


def test_schema_file_is_up_to_date() -> None:
    assert SCHEMA_FILE.read_text() == ev.render_schema(), (
        "docs/events.schema.json is out of date: run `make schema`"
    )


def test_schema_covers_every_type() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    listed = set()
    for ref in schema["oneOf"]:
        model = schema["$defs"][ref["$ref"].split("/")[-1]]
        listed.add(model["properties"]["type"]["const"])
    assert listed == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_events_validate_against_the_published_schema(event_type: ev.EventType) -> None:
    import jsonschema

    schema = json.loads(SCHEMA_FILE.read_text())
    event = make_event(event_type, SAMPLES[event_type], SourceInfo(name="core"), seq=3, ts=2.0)  # type: ignore[arg-type]
    jsonschema.validate(json.loads(event.model_dump_json()), schema)
    bad = json.loads(event.model_dump_json()) | {"seq": -1}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
