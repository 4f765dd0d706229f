"""The Electrum adapter against scripted servers answering with a newer
server's recorded answers: handshake, tips and reorgs from notifications,
fees in both protocol versions, failover, lookups."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator

import pytest

from blocksight_tui.adapters.addresses import p2pkh_address
from blocksight_tui.adapters.electrum.adapter import ElectrumAdapter
from blocksight_tui.adapters.electrum.headers import bits_to_difficulty, parse_header
from blocksight_tui.adapters.electrum.servers import (
    PinMismatch,
    ServerSpec,
    check_pin,
    normalise_fingerprint,
    parse_server,
)
from blocksight_tui.adapters.electrum.session import ElectrumFailure, open_connection
from tests.fake_electrum import EX2, FakeElectrum, recorded

INTERVALS = {"tip": 60.0, "fees": 60.0}


def header_hex(prev: str, nonce: int, time_: int = 1_796_315_000) -> str:
    raw = (
        (0x20000000).to_bytes(4, "little") + bytes.fromhex(prev)[::-1] + b"\x11" * 32
        + time_.to_bytes(4, "little") + (0x207FFFFF).to_bytes(4, "little")
        + nonce.to_bytes(4, "little")
    )
    return raw.hex()


async def until_active(adapter: ElectrumAdapter, timeout: float = 2.0) -> None:
    started = time.monotonic()
    while adapter.pool.active is None:
        assert time.monotonic() - started < timeout, "no server became active"
        await asyncio.sleep(0.02)


@pytest.fixture
async def server() -> AsyncIterator[FakeElectrum]:
    fake = FakeElectrum()
    await fake.start()
    yield fake
    await fake.stop()


def test_recorded_header_parses() -> None:
    tip = recorded("blockchain.headers.subscribe-v1.6.json")
    header = parse_header(tip["hex"])
    raw = bytes.fromhex(tip["hex"])
    assert header.hash == hashlib.sha256(hashlib.sha256(raw).digest()).digest()[::-1].hex()
    assert header.bits == 0x207FFFFF and header.difficulty == pytest.approx(4.6565e-10, rel=1e-3)
    # The next header names this one's parent; block 1's parent is regtest genesis.
    one = parse_header(recorded("blockchain.block.header-v1.6.json"))
    assert one.previous_hash == (
        "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"
    )
    assert bits_to_difficulty(0x1D00FFFF) == 1.0
    assert bits_to_difficulty(0x207FFFFF) == pytest.approx(4.656542373906925e-10)
    with pytest.raises(ValueError):
        parse_header("00" * 79)


def test_every_recorded_exchange_is_json_with_an_answer() -> None:
    for path in EX2.glob("*.json"):
        exchange = json.loads(path.read_text())
        assert "result" in exchange["response"] or "error" in exchange["response"], path


@pytest.mark.parametrize(
    ("text", "url"),
    [("tcp://127.0.0.1:50001", "tcp://127.0.0.1:50001"), ("ssl://[::1]:50002", "ssl://[::1]:50002"),
     ("ssl://abcdefg.onion:50002", "ssl://abcdefg.onion:50002")],
)
def test_servers_parse(text: str, url: str) -> None:
    assert parse_server(text).url == url


@pytest.mark.parametrize("bad", ["http://x:1", "tcp://x", "x:50001", "ssl://:5"])
def test_bad_servers_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_server(bad)


def test_pins_are_checked_by_fingerprint() -> None:
    der = b"certificate bytes"
    pin = hashlib.sha256(der).hexdigest()
    spec = parse_server("ssl://node.local:50002", {"ssl://node.local:50002": pin.upper()})
    assert spec.pin == pin
    check_pin(spec, der)
    with pytest.raises(PinMismatch):
        check_pin(spec, b"another certificate")
    with pytest.raises(ValueError):
        normalise_fingerprint("12:34")
    assert ServerSpec("tcp", "127.0.0.1", 1).is_local and not ServerSpec("tcp", "x.org", 1).is_local


async def test_handshake_negotiates_and_reads_features(server: FakeElectrum) -> None:
    connection = await open_connection(parse_server(server.url), lambda m, a: None)
    try:
        assert connection.negotiated is not None
        assert connection.negotiated.protocol == "1.6" and connection.negotiated.at_least_1_6
        assert connection.features["genesis_hash"].startswith("0f9188f1")
        method, params = server.requests[0]
        assert method == "server.version" and params[1] == ["1.4", "1.6"]
    finally:
        await connection.close()


async def test_tips_are_pushed_and_reorgs_found(server: FakeElectrum) -> None:
    adapter = ElectrumAdapter([parse_server(server.url)], INTERVALS)
    woken: list[tuple[str, ...]] = []
    await adapter.start(lambda *names: woken.append(names))
    try:
        await until_active(adapter)
        (tip,) = await adapter.poll_tip()
        first = parse_header(server.header["hex"])
        assert tip.type == "tip.height" and tip.data.height == 131  # type: ignore[union-attr]
        assert tip.data.hash == first.hash  # type: ignore[union-attr]
        assert "ElectrumX 2.0.0" in (tip.source.detail or "")
        woken.clear()
        started = time.monotonic()
        await server.push_header({"hex": header_hex(first.hash, 1), "height": 132})
        while not woken and time.monotonic() - started < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        assert woken == [("electrum.tip",)]
        (tip,) = await adapter.poll_tip()
        assert tip.data.height == 132  # type: ignore[union-attr]
    finally:
        await adapter.close()


async def test_fees_with_and_without_modes() -> None:
    for protocol, count in (("1.6", 14), ("1.4", 7)):
        fake = FakeElectrum(protocol)
        await fake.start()
        adapter = ElectrumAdapter([parse_server(fake.url)], INTERVALS)
        await adapter.start(lambda *names: None)
        try:
            for _ in range(100):
                if adapter.pool.active is not None:
                    break
                await asyncio.sleep(0.02)
            (fees,) = await adapter.poll_fees()
            estimates = fees.data.estimates  # type: ignore[union-attr]
            assert len(estimates) == count
            by_target = {e.target_blocks: e.sat_per_vb for e in estimates}
            assert by_target[6] == 16.0  # 0.00016 BTC/kB
            assert by_target[144] is None  # -1: no estimate
            sent = [p for m, p in fake.requests if m == "blockchain.estimatefee"]
            assert all(len(p) == (2 if protocol == "1.6" else 1) for p in sent)
        finally:
            await adapter.close()
            await fake.stop()


async def test_failover_to_the_next_server_within_5_s() -> None:
    first, second = FakeElectrum(), FakeElectrum()
    await first.start()
    await second.start()
    adapter = ElectrumAdapter(
        [parse_server(first.url), parse_server(second.url)], INTERVALS, ping_interval=0.5,
        timeout=1.0,
    )
    await adapter.start(lambda *names: None)
    try:
        for _ in range(100):
            if adapter.pool.active is not None and all(
                link.state == "up" for link in adapter.pool.links
            ):
                break
            await asyncio.sleep(0.02)
        assert adapter.pool.active is not None and adapter.pool.active.url == first.url
        first.silent = True  # stops answering, keeps the socket open
        started = time.monotonic()
        while adapter.pool.active is not None and adapter.pool.active.url == first.url:
            await asyncio.sleep(0.05)
            assert time.monotonic() - started < 5.0
        assert adapter.pool.active is not None and adapter.pool.active.url == second.url
        (tip,) = await adapter.poll_tip()
        assert tip.source.state == "ok"
        # Back when asked, once the first answers again.
        first.silent = False
        for _ in range(200):
            if adapter.pool.prefer(first.url):
                break
            await asyncio.sleep(0.05)
        assert adapter.pool.active.url == first.url
    finally:
        await adapter.close()
        await first.stop()
        await second.stop()


async def test_no_server_says_why(server: FakeElectrum) -> None:
    port = server.port
    await server.stop()
    adapter = ElectrumAdapter([parse_server(f"tcp://127.0.0.1:{port}")], INTERVALS)
    await adapter.start(lambda *names: None)
    try:
        await asyncio.sleep(0.3)
        pubs = await adapter.poll_tip()
        assert {p.source.state for p in pubs} == {"unavailable"}
        assert "no Electrum server reachable" in (pubs[0].source.reason or "")
    finally:
        await adapter.close()


async def test_address_lookup_and_privacy_warning(server: FakeElectrum) -> None:
    adapter = ElectrumAdapter([parse_server(server.url)], INTERVALS, network="regtest")
    await adapter.start(lambda *names: None)
    try:
        await until_active(adapter)
        address = p2pkh_address(b"\x01" * 20, "regtest")
        report = await adapter.lookups.address(address)
        assert report.confirmed_sat == 595000311422 and report.unconfirmed_sat == -5000000000
        heights = [h.height for h in report.history]
        assert heights == sorted(heights, key=lambda h: (h > 0, -h))
        assert report.unspent and report.unspent[0].value_sat == 5000000000
        assert report.privacy_warning is None  # this server is on this machine
        txid = "6a7af83daf9deb4fe22e88b622e4094569871d38c67d572f9f3b3a0f51ac7457"
        tx = await adapter.lookups.transaction(txid)
        assert tx["vsize"] == 208
        header = await adapter.lookups.header(1)
        assert header.previous_hash.startswith("0f9188f1")
        with pytest.raises(ValueError):
            await adapter.lookups.address("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")  # mainnet
    finally:
        await adapter.close()


async def test_a_remote_server_gets_a_privacy_warning_once(server: FakeElectrum) -> None:
    adapter = ElectrumAdapter([parse_server(server.url)], INTERVALS, network="regtest")
    await adapter.start(lambda *names: None)
    try:
        await until_active(adapter)
        link = adapter.pool.active
        assert link is not None
        link.spec = ServerSpec("tcp", "electrum.example.org", server.port)  # as if remote
        address = p2pkh_address(b"\x02" * 20, "regtest")
        first = await adapter.lookups.address(address)
        second = await adapter.lookups.address(address)
        assert first.privacy_warning and "learns which addresses" in first.privacy_warning
        assert second.privacy_warning is None
    finally:
        await adapter.close()


async def test_a_server_that_never_answers_is_left(server: FakeElectrum) -> None:
    server.silent = True
    with pytest.raises(ElectrumFailure, match="no answer"):
        await open_connection(parse_server(server.url), lambda m, a: None, timeout=0.5)


async def test_mempool_histogram_and_minimum_fees() -> None:
    for protocol in ("1.6", "1.4"):
        fake = FakeElectrum(protocol)
        await fake.start()
        adapter = ElectrumAdapter([parse_server(fake.url)], INTERVALS | {"mempool": 60.0})
        await adapter.start(lambda *names: None)
        try:
            await until_active(adapter)
            (pub,) = await adapter.poll_mempool()
            mempool = pub.data
            assert pub.source.state == "ok" and mempool is not None
            assert mempool.tx_count is None and mempool.usage is None  # type: ignore[union-attr]
            assert mempool.vsize == 750_000  # type: ignore[union-attr]
            bands = [(b.min_sat_per_vb, b.max_sat_per_vb, b.vsize)
                     for b in mempool.fee_histogram]  # type: ignore[union-attr]
            assert bands == [(1, 4, 400_000), (4, 12, 250_000), (12, None, 100_000)]
            assert mempool.min_fee_sat_per_vb == 0.1  # type: ignore[union-attr]
            asked = {m for m, _ in fake.requests}
            assert ("mempool.get_info" in asked) == (protocol == "1.6")
            assert ("blockchain.relayfee" in asked) == (protocol == "1.4")
            fake.fee_histogram = [[1, 5], [3, 7]]  # ascending: refused, not shown
            (bad,) = await adapter.poll_mempool()
            assert bad.source.state == "stale" and "descending" in (bad.source.reason or "")
        finally:
            await adapter.close()
            await fake.stop()


async def test_an_onion_server_through_a_socks5_proxy(server: FakeElectrum) -> None:
    from tests.socks5_proxy import socks5_proxy

    onion = "blocksightexampleabcdefghijklmnopqrstuvwxyz234567abcdefg.onion"
    async with socks5_proxy({onion: ("127.0.0.1", server.port)}) as proxy:
        adapter = ElectrumAdapter(
            [parse_server(f"tcp://{onion}:50001")], INTERVALS,
            proxy=f"127.0.0.1:{proxy.port}", network="regtest",
        )
        await adapter.start(lambda *names: None)
        try:
            await until_active(adapter, timeout=5.0)
            (tip,) = await adapter.poll_tip()
            assert tip.source.state == "ok" and onion in (tip.source.detail or "")
            # The name went to the proxy as a name: nothing was resolved here.
            assert proxy.asked == [(onion, 50001)]
            report = await adapter.lookups.address(p2pkh_address(b"\x03" * 20, "regtest"))
            assert report.privacy_warning is None  # reached over Tor
        finally:
            await adapter.close()
