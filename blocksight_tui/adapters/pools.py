"""Which mining pool made a block, read from its coinbase transaction.

Pools sign their blocks with a text tag in the coinbase script ("/AntPool/",
"Foundry USA Pool") and most pay the reward to a few well-known addresses.
Neither is authenticated: anyone can write any tag, so the name shown is a
claim, and a pool that changes its tag or address reads as unknown until this
table learns it. An unknown pool still shows its raw printable tag.

The tags and addresses follow the public known-pools lists
(github.com/bitcoin-data/mining-pools, github.com/mempool/mining-pools).
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final, NamedTuple

from blocksight_tui.adapters.jsonrpc import BadResponse

TAG_MAX_LEN: Final = 40
MIN_RUN: Final = 3


class KnownPool(NamedTuple):
    name: str
    tags: tuple[str, ...]
    addresses: tuple[str, ...] = ()


class PoolMatch(NamedTuple):
    name: str | None
    """The known pool, or None."""
    tag: str | None
    """Printable text of the coinbase script, None when it has none."""


# Checked in this order, so a pool whose tag can appear next to another
# pool's comes first (OCEAN templates carry the miner's own text too).
KNOWN_POOLS: Final[tuple[KnownPool, ...]] = (
    KnownPool("OCEAN", ("OCEAN.XYZ",), ("37dvwZZoT3D7RXpTCpN2yKzMmNs2i2Fd1n",)),
    KnownPool(
        "Foundry USA",
        ("Foundry USA Pool", "/2cDw/"),
        (
            "12KKDt4Mj7N5UAkQMN7LtPZMayenXHa8KL",
            "1FFxkVijzvUPUeHgkFjBk2Qw8j3wQY2cDw",
            "bc1qxhmdufsvnuaaaer4ynz88fspdsxq2h9e9cetdj",
            "bc1qwzrryqr3ja8w7hnja2spmkgfdcgvqwp5swz4af4ngsjecfz0w0pqud7k38",
        ),
    ),
    KnownPool(
        "AntPool",
        ("/AntPool/", "Mined by AntPool"),
        (
            "12dRugNcdxK39288NjcDV4GX7rMsKCGn6B",
            "15kiNKfDWsq7UsPg87UwxA8rVvWAjzRkYS",
            "16MdTdqmXusauybtXTmFEW4GNFPPgGxQYE",
            "16kUc5B48qnASbxeZTisCqTNx6G3DPXuKn",
            "17gVZssumiJqYMCHozHKXGyaAvyu6NCX6V",
            "1AJQ3jXhUF8WiisEcuVd8Xmfq4QJ7n1SdL",
            "1BWW3pg5jb6rxebrNeo9TATarwJ1rthnoe",
            "1CyB8GJNEsNVXtPutB36nrDY3fMXBTzXSX",
            "1D4UZG4qo8bF1MuZHSEyBHRZaxT8inatXS",
            "1DDXyKUT6q3H9e5QXm2Gv6BNNWgztFG55g",
            "1Dek9ArRHb9tyWb9gaaX8SWmkfi5V7U5Y6",
            "1DyR7HPQWjM6Zrnk7SzHVY2GEpXRGNNH9o",
            "1FdJkPdpXtK3t5utZHJAop3saLZWfPfgak",
            "1GRcX882sdBYCAWyG99iF2oz7j3nYzXhLM",
            "1Gp7iCzDGMZiV55Kt8uKsux6VyoHe1aJaN",
            "1H3u6R813MHGYhmGW6v86EYYriawRtACYD",
            "1JBVrhSSDrZrRmm4RnoWouqgGGqJMvWHi8",
            "1JwUDWVSbAY5NeCBJhxQk1E8AfETfZuPj4",
            "1K8PNogxBZ6ts532DZnzxdbjgzJLjLdXqz",
            "1LTGvTjDxiy5S9YcKEE9Lb7xSpZcPSqinw",
            "1NS4gbx1G2D5rc9PnvVsPys12nKxGiQg72",
            "1Nh7uHdvY6fNwtQtM1G5EZAFPLC33B59rB",
            "1Sjj2cPC3rTWcSTEYDeu2f3BavLosog4T",
            "1jLVpwtNMfXWaHY4eiLDmGuBxokYLgv1X",
            "39C7fxSzEACPjM78Z7xdPxhf7mKxJwvfMJ",
        ),
    ),
    KnownPool("ViaBTC", ("/ViaBTC/", "viabtc.com deploy"), ("1PuJjnF476W3zXfVYmJfGnouzFDAXakkL4",)),
    KnownPool(
        "F2Pool",
        ("F2Pool", "七彩神仙鱼", "🐟"),
        (
            "1KFHE7w8BhaENAswwryaoccDb6qcT6DbYY",
            "bc1q7wedv4zdu5smt3shljpu5mgns48jn299mukymc",
            "bc1qf274x7penhcd8hsv3jcmwa5xxzjl2a6pa9pxwm",
        ),
    ),
    KnownPool(
        "MARA Pool",
        ("MARA Pool", "MARA Made in USA"),
        (
            "15MdAHnkxt9TMC2Rj595hsg8Hnv693pPBB",
            "1A32KFEX7JNPmU1PVjrtiXRrTQcesT3Nf1",
            "3D72db1KMCnj7FL7MBsmxTw81z2bVu4UN5",
            "3LC8dDKyBsrWPfzhXyt7aAyjXxGYkfDdHu",
        ),
    ),
    KnownPool(
        "SpiderPool",
        ("SpiderPool",),
        (
            "125m2H43pwKpSZjLhMQHneuTwTJN5qRyYu",
            "38u1srayb1oybVB43UWKBJsrwJbdHGtPx2",
            "1BM1sAcrfV6d4zPKytzziu4McLQDsFC2Qc",
        ),
    ),
    KnownPool(
        "Luxor",
        ("/LUXOR/", "Luxor Tech"),
        ("1MkCDCzHpBsYQivp8MxjY5AkTGG1f2baoe", "39bitUyBcUu3y3hRTtYprKbTp712t4ZWqK"),
    ),
    KnownPool(
        "Binance Pool",
        ("/Binance/", "binance"),
        (
            "122pN8zvqTxJaA8fRY1PDBu4QYodqE5m2X",
            "16moWjUJVRnDQKqhoCdcszfJg9wzBdoTHw",
            "1DSh7vX6ed2cgTeKPwufV5i4hSi4pp373h",
            "1JvXhnHCi6XqcanvrZJ5s2Qiv4tsmm2UMy",
            "3L8Ck6bm3sve1vJGKo6Ht2k167YKSKi8TZ",
            "3G7jcEELKh38L6kaSV8K35pTqsh5bgZW2D",
            "bc1qx9t2l3pyny2spqpqlye8svce70nppwtaxwdrp4",
        ),
    ),
    KnownPool(
        "Braiins Pool",
        ("/slush/", "Braiins"),
        ("1AqTMY7kmHZxBuLUR5wJjPFUvqGs23sesr", "1CK6KHY6MHgYvmRQ4PAafKYDrg1ejbH1cE"),
    ),
    KnownPool("SECPOOL", ("SecPool",), ("3Awm3FNpmwrbvAFVThRUFqgpbVuqWisni9",)),
    KnownPool("SBI Crypto", ("SBICrypto", "SBI Crypto")),
    KnownPool(
        "Poolin",
        ("/poolin.com", "/poolin/"),
        (
            "14sA8jqYQgMRQV9zUtGFvpeMEw7YDn77SK",
            "17tUZLvy3X2557JGhceXRiij2TNYuhRr4r",
            "1E8CZo2S3CqWg1VZSJNFCTbtT8hZPuQ2kB",
            "1GNgwA8JfG7Kc8akJ8opdNWJUihqUztfPe",
            "36n452uGq1x4mK7bfyZR8wgE47AnBb2pzi",
            "3JQSigWTCHyBLRD979JWgEtWP5YiiFwcQB",
            "3KJrsjfg1dD6CrsTeHdHVH3KqMpvL2XWQn",
        ),
    ),
    KnownPool(
        "BTC.com",
        ("/BTC.COM/", "btccom"),
        (
            "1Bf9sZvBHPFGVPX71WX2njhd1NXKv5y7v5",
            "34qkc2iac6RsyxZVfyE2S5U5WcRsbg2dpK",
            "3EhLZarJUNSfV6TWMZY1Nh5mi3FMsdHa5U",
            "3NA8hsjfdgVkmmVS9moHmkZsVCoLxUkvvv",
            "bc1qjl8uwezzlech723lpnyuza0h2cdkvxvh54v3dn",
        ),
    ),
    KnownPool(
        "EMCD",
        ("/EMCD/", "/one_more_mcd/", "get___emcd", "emcd.io"),
        ("1BDbsWi3Mrcjp1wdop3PWFNCNZtu4R7Hjy",),
    ),
    KnownPool("KuCoin Pool", ("KuCoinPool",), ("1ArTPjj6pV3aNRhLPjJVPYoxB98VLBzUmb",)),
    KnownPool("Titan", ("Titan.io",), ("14hLEtxozmmih6Gg5xrGZLfx51bEMj21NW",)),
    KnownPool("WhitePool", ("WhitePool",), ("14VkxDwSAUWrzYTxV49HnYhKLWTJ3pCoUS",)),
    KnownPool(
        "1THash",
        ("/1THash&58COIN/", "/1THash/"),
        ("147SwRQdpCfj5p8PnfsXV2SsVVpVcz3aPq", "15vgygQ7ZsWdvZpctmTZK4673QBHsos6Sh"),
    ),
    KnownPool(
        "Carbon Negative",
        (),
        ("33SAB6pzbhEGPbfY6NVgRDV7jVfspZ3A3Z", "3KZDwmJHB6QJ13QPXHaW7SS3yTESFPZoxb"),
    ),
    KnownPool(
        "ULTIMUSPOOL",
        ("/ultimus/", "ULTIMUSPOOL"),
        ("1EMVSMe1VJUuqv7D7SFzctnVXk4KdjXATi", "3C9sAKXrBVpJVe3b738yik4LPHpPmceBgd"),
    ),
    KnownPool(
        "Mining Squared",
        ("MiningSquared", "BSquared Network", "/bsquared/"),
        ("3GdjWJdkJhtkxRZ3Ns1LstaoHNMBW8XsvU", "3AvXzTUat4p6Qf6ZLnRNvB3mDLjp3fNmjJ"),
    ),
    KnownPool(
        "Innopolis Tech",
        ("Innopolis",),
        ("bc1q75t4wewkmf3l9qg097zvtlh05v5pdz6699kv8k",),
    ),
    KnownPool("BitFuFu", ("BitFuFu",), ("3JP3zF7LoeoAotqkNGdvX5szUyNPwd937d",)),
    KnownPool("Terra Pool", ("terrapool.io",)),
    KnownPool("NiceHash", ("/NiceHash",)),
    KnownPool("Huobi Pool", ("/HuoBi/",)),
    KnownPool("Bitfarms", ("BITFARMS",), ("3GvEGtnvgeBJ3p3EpdZhvUkxY4pDARkbjd",)),
    KnownPool("Solo CK", ("/solo.ckpool.org/",)),
    KnownPool("Public Pool", ("Public-Pool", "Public Pool on Umbrel")),
)

_TAG_INDEX: Final[tuple[tuple[bytes, str], ...]] = tuple(
    (tag.encode().lower(), pool.name) for pool in KNOWN_POOLS for tag in pool.tags
)
_ADDRESS_INDEX: Final[dict[str, str]] = {
    address: pool.name for pool in KNOWN_POOLS for address in pool.addresses
}
_PRINTABLE_RUN: Final = re.compile(rb"[\x20-\x7e]{%d,}" % MIN_RUN)

# Opcodes that push a small number by themselves: OP_0, OP_1NEGATE, OP_1..OP_16.
_SMALL_INT_OPS: Final = frozenset({0x00, 0x4F, *range(0x51, 0x61)})
# A BIP34 height needs at most 5 bytes; before BIP34 the first push was often
# the 4-byte nBits. Anything longer is text and is kept.
_MAX_HEIGHT_PUSH: Final = 8
_PUSHDATA_WIDTH: Final[dict[int, int]] = {0x4C: 1, 0x4D: 2, 0x4E: 4}


def strip_height_push(script: bytes) -> bytes:
    """The coinbase script after its leading number push (BIP34 height)."""
    if not script:
        return script
    first = script[0]
    if first in _SMALL_INT_OPS:
        return script[1:]
    if 1 <= first <= _MAX_HEIGHT_PUSH and len(script) > first:
        return script[1 + first :]
    return script


def script_pushes(script: bytes) -> list[bytes] | None:
    """The data of each push when `script` is only pushes, else None.

    Most pools push their text, and the push-length bytes (0x20 to 0x4b) are
    printable: reading push by push keeps them out of the tag.
    """
    chunks: list[bytes] = []
    i = 0
    while i < len(script):
        op = script[i]
        i += 1
        if op in _SMALL_INT_OPS:
            continue
        if op <= 0x4B:
            size = op
        elif op in _PUSHDATA_WIDTH:
            width = _PUSHDATA_WIDTH[op]
            if i + width > len(script):
                return None
            size = int.from_bytes(script[i : i + width], "little")
            i += width
        else:
            return None
        if i + size > len(script):
            return None
        chunks.append(script[i : i + size])
        i += size
    return chunks


def printable_tag(body: bytes, max_len: int = TAG_MAX_LEN) -> str | None:
    """Runs of at least three printable ASCII characters, joined by a space,
    cut to `max_len`.

    `body` is the coinbase script after the height. Extra-nonce bytes are
    random, so a short run of noise can still appear; the three-character
    floor keeps most of it out.
    """
    chunks = script_pushes(body)
    runs = (
        " ".join(match.group().decode("ascii").split())
        for chunk in (chunks if chunks is not None else [body])
        for match in _PRINTABLE_RUN.finditer(chunk)
    )
    text = " ".join(run for run in runs if len(run) >= MIN_RUN)
    if len(text) > max_len:
        text = text[: max_len - 1].rstrip() + "…"
    return text or None


def pool_from_script(script: bytes) -> str | None:
    lowered = script.lower()
    for needle, name in _TAG_INDEX:
        if needle in lowered:
            return name
    return None


def pool_from_addresses(addresses: Iterable[str]) -> str | None:
    for address in addresses:
        name = _ADDRESS_INDEX.get(address)
        if name is not None:
            return name
    return None


def coinbase_script(tx: Mapping[str, Any]) -> bytes | None:
    """The coinbase script bytes, from a verbose transaction (`vin[0].coinbase`)
    or the `coinbase_tx` object of getblock (`coinbase`); None when neither."""
    script_hex = tx.get("coinbase")
    if script_hex is None:
        vin = tx.get("vin")
        if not isinstance(vin, list) or not vin:
            return None
        first = vin[0]
        if not isinstance(first, Mapping):
            raise BadResponse("coinbase transaction: vin[0] is not an object")
        script_hex = first.get("coinbase")
        if script_hex is None:
            return None
    if not isinstance(script_hex, str):
        raise BadResponse("coinbase transaction: coinbase script is not a string")
    try:
        return binascii.unhexlify(script_hex)
    except (binascii.Error, ValueError) as exc:
        raise BadResponse(f"coinbase transaction: coinbase script is not hex: {exc}") from exc


def payout_addresses(tx: Mapping[str, Any]) -> Iterator[str]:
    """Addresses of the outputs: `scriptPubKey.address` (Core 22 and later) or
    `scriptPubKey.addresses` (older Core and its forks)."""
    vout = tx.get("vout")
    if not isinstance(vout, list):
        return
    for output in vout:
        spk = output.get("scriptPubKey") if isinstance(output, Mapping) else None
        if not isinstance(spk, Mapping):
            continue
        address = spk.get("address")
        if isinstance(address, str):
            yield address
        addresses = spk.get("addresses")
        if isinstance(addresses, list):
            yield from (a for a in addresses if isinstance(a, str))


def identify_pool(coinbase_tx: Any) -> PoolMatch:
    """Pool name (tag first, then payout address) and the printable tag.

    A missing transaction gives `PoolMatch(None, None)`; a malformed one raises
    `BadResponse`.
    """
    if coinbase_tx is None:
        return PoolMatch(None, None)
    if not isinstance(coinbase_tx, Mapping):
        raise BadResponse("coinbase transaction: not an object")
    script = coinbase_script(coinbase_tx)
    body = strip_height_push(script) if script is not None else b""
    name = pool_from_script(body) or pool_from_addresses(payout_addresses(coinbase_tx))
    return PoolMatch(name, printable_tag(body))
