"""Mining pool identification from hand-built coinbase scripts and the recorded one."""

from __future__ import annotations

from typing import Any

import pytest

from blocksight_tui.adapters import pools
from blocksight_tui.adapters.jsonrpc import BadResponse
from blocksight_tui.adapters.pools import PoolMatch, identify_pool
from tests.conftest import load_fixture

# Height 900,000 = 0x0dbba0, pushed little-endian in three bytes (BIP34).
HEIGHT_PUSH = bytes.fromhex("03a0bb0d")
EXTRANONCE = bytes.fromhex("08") + bytes.fromhex("f1e2d3c4b5a69788")
GENESIS_COINBASE = (
    "04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72"
    "206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73"
)


def push(data: bytes) -> bytes:
    assert len(data) <= 0x4B
    return bytes([len(data)]) + data


def tx(script: bytes, *addresses: str, legacy: bool = False) -> dict[str, Any]:
    """A verbose getrawtransaction answer for a coinbase paying `addresses`."""
    vout = []
    for n, address in enumerate(addresses):
        spk: dict[str, Any] = {"addresses": [address]} if legacy else {"address": address}
        vout.append({"value": 3.125, "n": n, "scriptPubKey": spk})
    return {"vin": [{"coinbase": script.hex(), "sequence": 4294967295}], "vout": vout}


def result(name: str) -> Any:
    return load_fixture("bitcoin-core", f"{name}.json")["response"]["result"]


# ---------------------------------------------------------------- script reading


@pytest.mark.parametrize(
    ("script", "body"),
    [
        (HEIGHT_PUSH + b"\x00", b"\x00"),
        (bytes.fromhex("020e0100"), b"\x00"),  # the recorded regtest coinbase, height 270
        (bytes.fromhex("5100"), b"\x00"),  # heights 1 to 16 are OP_1..OP_16
        (b"", b""),
        (push(b"/a tag first, no height/"), push(b"/a tag first, no height/")),
        (b"\x05\x01", b"\x05\x01"),  # truncated push: kept as it is
    ],
)
def test_strip_height_push(script: bytes, body: bytes) -> None:
    assert pools.strip_height_push(script) == body


def test_script_pushes() -> None:
    script = push(b"abc") + b"\x00" + b"\x4c\x02xy" + b"\x4d\x01\x00z"
    assert pools.script_pushes(script) == [b"abc", b"xy", b"z"]
    assert pools.script_pushes(b"\xffabc") is None  # not a push
    assert pools.script_pushes(b"\x05ab") is None  # cut short


@pytest.mark.parametrize(
    ("body", "tag"),
    [
        (push(b"/Foundry USA Pool #dropgold/") + EXTRANONCE, "/Foundry USA Pool #dropgold/"),
        (push(b"ab") + push(b"\x01\x02"), None),  # runs shorter than three are noise
        (push(b"Mined by") + push(b"\x00\x01") + push(b"  x   "), "Mined by"),
        (push(b"one") + push(b"two"), "one two"),
        # Not only pushes: the raw bytes are read, length bytes included.
        (b"\xff/ViaBTC/\xfe\x00Mined by someone/", "/ViaBTC/ Mined by someone/"),
        (b"", None),
    ],
)
def test_printable_tag(body: bytes, tag: str | None) -> None:
    assert pools.printable_tag(body) == tag


def test_long_tags_are_cut() -> None:
    tag = pools.printable_tag(push(b"x" * 60))
    assert tag == "x" * 39 + "…"
    assert tag is not None and len(tag) == pools.TAG_MAX_LEN


def test_genesis_text_without_push_lengths() -> None:
    # The 0x45 length byte before the text is a printable "E".
    body = pools.strip_height_push(bytes.fromhex(GENESIS_COINBASE))
    assert pools.printable_tag(body, max_len=80) == (
        "The Times 03/Jan/2009 Chancellor on brink of second bailout for banks"
    )


# ---------------------------------------------------------------- identification


@pytest.mark.parametrize(
    ("text", "pool"),
    [
        (b"/Foundry USA Pool #dropgold/", "Foundry USA"),
        (b"Mined by AntPool971\x00", "AntPool"),
        (b"mined BY antpool", "AntPool"),  # case does not matter
        (b"/ViaBTC/Mined by hkmj/", "ViaBTC"),
        ("七彩神仙鱼".encode(), "F2Pool"),
        (b"MARA Pool", "MARA Pool"),
        (b"SpiderPool/", "SpiderPool"),
        (b"/LUXOR/", "Luxor"),
        (b"/Binance/1236", "Binance Pool"),
        (b"/slush/", "Braiins Pool"),
        (b"OCEAN.XYZ", "OCEAN"),
        (b"/SecPool/", "SECPOOL"),
        (b"/SBICrypto.com Pool/", "SBI Crypto"),
        (b"/poolin.com", "Poolin"),
        (b"/BTC.COM/", "BTC.com"),
        (b"/EMCD/", "EMCD"),
        (b"KuCoinPool", "KuCoin Pool"),
        (b"Titan.io", "Titan"),
        (b"WhitePool", "WhitePool"),
        (b"/1THash&58COIN/", "1THash"),
        (b"/ultimus/", "ULTIMUSPOOL"),
        (b"Innopolis", "Innopolis Tech"),
        (b"/BitFuFu/", "BitFuFu"),
        (b"MiningSquared", "Mining Squared"),
        # DATUM templates carry the miner's text too; the pool is OCEAN.
        (b"OCEAN.XYZ/Foundry USA Pool", "OCEAN"),
    ],
)
def test_known_tags(text: bytes, pool: str) -> None:
    script = HEIGHT_PUSH + push(text) + EXTRANONCE
    assert identify_pool(tx(script)).name == pool


def test_foundry_block_gives_name_and_tag() -> None:
    script = HEIGHT_PUSH + push(b"/Foundry USA Pool #dropgold/") + EXTRANONCE
    assert identify_pool(tx(script)) == PoolMatch("Foundry USA", "/Foundry USA Pool #dropgold/")


def test_non_ascii_tag_names_the_pool_but_is_not_shown() -> None:
    script = HEIGHT_PUSH + push("七彩神仙鱼".encode()) + EXTRANONCE
    assert identify_pool(tx(script)) == PoolMatch("F2Pool", None)


def test_unknown_pool_keeps_its_tag() -> None:
    script = HEIGHT_PUSH + push(b"/MyBasementMiner/") + EXTRANONCE
    assert identify_pool(tx(script)) == PoolMatch(None, "/MyBasementMiner/")


@pytest.mark.parametrize("legacy", [False, True])
def test_payout_address_names_an_untagged_pool(legacy: bool) -> None:
    script = HEIGHT_PUSH + EXTRANONCE
    coinbase = tx(script, "1KFHE7w8BhaENAswwryaoccDb6qcT6DbYY", legacy=legacy)
    assert identify_pool(coinbase) == PoolMatch("F2Pool", None)


def test_tag_wins_over_address() -> None:
    script = HEIGHT_PUSH + push(b"/ViaBTC/") + EXTRANONCE
    coinbase = tx(script, "1KFHE7w8BhaENAswwryaoccDb6qcT6DbYY")
    assert identify_pool(coinbase).name == "ViaBTC"


def test_unknown_address_and_no_tag() -> None:
    script = HEIGHT_PUSH + EXTRANONCE
    assert identify_pool(tx(script, "bc1qunknown")) == PoolMatch(None, None)


def test_getblock_coinbase_tx_object() -> None:
    # Core 29+ getblock (verbosity 1) embeds the script, without outputs.
    script = HEIGHT_PUSH + push(b"/AntPool/") + EXTRANONCE
    assert identify_pool({"coinbase": script.hex(), "sequence": 0}) == PoolMatch(
        "AntPool", "/AntPool/"
    )


def test_recorded_regtest_coinbase() -> None:
    assert identify_pool(result("getrawtransaction-verbose")) == PoolMatch(None, None)
    assert identify_pool(result("getblock-v1")["coinbase_tx"]) == PoolMatch(None, None)


def test_absent_coinbase() -> None:
    assert identify_pool(None) == PoolMatch(None, None)
    assert identify_pool({"vin": [], "vout": []}) == PoolMatch(None, None)
    assert identify_pool({"vin": [{"txid": "ab", "vout": 0}]}) == PoolMatch(None, None)


@pytest.mark.parametrize(
    "coinbase",
    [
        "020e0100",
        {"vin": [{"coinbase": "not hex"}]},
        {"vin": [{"coinbase": "abc"}]},
        {"vin": [{"coinbase": 12}]},
        {"vin": ["020e0100"]},
        {"coinbase": ["020e0100"]},
    ],
)
def test_malformed_coinbase(coinbase: Any) -> None:
    with pytest.raises(BadResponse):
        identify_pool(coinbase)


def test_table_is_consistent() -> None:
    names = [pool.name for pool in pools.KNOWN_POOLS]
    assert len(names) == len(set(names))
    addresses = [a for pool in pools.KNOWN_POOLS for a in pool.addresses]
    assert len(addresses) == len(set(addresses))
    for pool in pools.KNOWN_POOLS:
        assert pool.tags or pool.addresses, pool.name
        assert all(len(tag) >= 1 for tag in pool.tags)
