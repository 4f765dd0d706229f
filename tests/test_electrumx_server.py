"""The test support itself: a real ElectrumX on the regtest node, and the
hostile servers behaving as named."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import ssl
import time
from collections.abc import Callable

import pytest

from tests.electrumx_server import (
    BLOCK_REWARD_SATS,
    MINED_BLOCKS,
    MINER_SCRIPT_HASH,
    ElectrumXServer,
    LineClient,
    connect,
    mine_blocks,
    rpc_once,
)
from tests.hostile_electrum import HUGE_LINE_BYTES, hostile_server
from tests.node_daemon import RegtestNode


def block_hash(header_hex: str) -> str:
    return hashlib.sha256(hashlib.sha256(bytes.fromhex(header_hex)).digest()).digest()[::-1].hex()


@pytest.mark.daemon
def test_electrumx_reports_the_node_tip(
    electrumx: ElectrumXServer, electrum_node: RegtestNode
) -> None:
    with LineClient(electrumx.tcp_url) as client:
        name, protocol = client.call("server.version", "blocksight-test", ["1.4", "1.6"])
        tip = client.call("blockchain.headers.subscribe")
    assert name.startswith("ElectrumX ")
    assert protocol == "1.4.2"
    assert tip["height"] == electrum_node.rpc("getblockcount")
    assert block_hash(tip["hex"]) == electrum_node.rpc("getblockhash", tip["height"])


@pytest.mark.daemon
def test_the_mined_address_holds_the_mined_coins(electrumx: ElectrumXServer) -> None:
    balance = rpc_once(electrumx.tcp_url, "blockchain.scripthash.get_balance", MINER_SCRIPT_HASH)
    assert balance == {"confirmed": MINED_BLOCKS * BLOCK_REWARD_SATS, "unconfirmed": 0}
    history = rpc_once(electrumx.tcp_url, "blockchain.scripthash.get_history", MINER_SCRIPT_HASH)
    assert [entry["height"] for entry in history] == list(range(1, MINED_BLOCKS + 1))


@pytest.mark.daemon
def test_ssl_server_presents_the_fingerprinted_certificate(
    electrumx_ssl: ElectrumXServer,
) -> None:
    assert electrumx_ssl.cert_file is not None
    # Verified against the certificate itself, hostname (an IP SAN) included.
    context = ssl.create_default_context(cafile=str(electrumx_ssl.cert_file))
    assert rpc_once(electrumx_ssl.ssl_url, "server.ping", ssl_context=context) is None
    with connect(electrumx_ssl.ssl_url) as sock:
        assert isinstance(sock, ssl.SSLSocket)
        der = sock.getpeercert(binary_form=True)
    assert der is not None
    assert hashlib.sha256(der).hexdigest() == electrumx_ssl.fingerprint_sha256()
    # The same server still speaks plain TCP on its other port.
    assert rpc_once(electrumx_ssl.tcp_url, "server.ping") is None


@pytest.mark.daemon
def test_extra_server_follows_new_blocks_and_restarts_on_its_ports(
    electrumx_factory: Callable[..., ElectrumXServer], electrum_node: RegtestNode
) -> None:
    server = electrumx_factory()
    height = mine_blocks(electrum_node, 1)
    started = time.monotonic()
    server.wait_for_height(height)
    assert time.monotonic() - started < 5, "the shortened block poll is in effect"
    port = server.tcp_port
    server.restart()
    assert server.tcp_port == port
    tip = rpc_once(server.tcp_url, "blockchain.headers.subscribe")
    assert tip["height"] == height


@pytest.mark.daemon
def test_a_stopped_server_refuses_connections(
    electrumx_factory: Callable[..., ElectrumXServer],
) -> None:
    server = electrumx_factory()
    server.stop()
    with pytest.raises(ConnectionRefusedError):
        rpc_once(server.tcp_url, "server.ping", timeout=2)


# --- hostile servers ------------------------------------------------------

VERSION_REQUEST = (
    json.dumps({"jsonrpc": "2.0", "id": 1, "method": "server.version",
                "params": ["blocksight-test", ["1.4", "1.6"]]}).encode() + b"\n"
)


async def open_url(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = url.removeprefix("tcp://").rsplit(":", 1)
    return await asyncio.open_connection(host, int(port), limit=HUGE_LINE_BYTES + 1024)


async def test_garbage_answers_lines_that_are_not_json() -> None:
    async with hostile_server("garbage") as url:
        reader, writer = await open_url(url)
        for _ in range(2):
            writer.write(VERSION_REQUEST)
            line = await asyncio.wait_for(reader.readline(), 5)
            assert line.endswith(b"\n") and len(line) > 100
            with pytest.raises(ValueError):
                json.loads(line)
        writer.close()


async def test_huge_line_sends_fifty_megabytes_before_its_newline() -> None:
    async with hostile_server("huge_line") as url:
        reader, writer = await open_url(url)
        writer.write(VERSION_REQUEST)
        received = 0
        first = b""
        while True:
            chunk = await asyncio.wait_for(reader.read(1 << 20), 10)
            assert chunk, "closed before the newline"
            first = first or chunk[:30]
            newline = chunk.find(b"\n")
            if newline >= 0:
                received += newline
                break
            received += len(chunk)
        writer.close()
    assert received == HUGE_LINE_BYTES
    assert first.startswith(b'{"jsonrpc": "2.0", "id": 1')


async def test_silent_never_answers_and_is_closed_on_exit() -> None:
    async with hostile_server("silent") as url:
        reader, writer = await open_url(url)
        writer.write(VERSION_REQUEST)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.readline(), 0.5)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()


async def test_wrong_version_refuses_the_handshake_and_hangs_up() -> None:
    async with hostile_server("wrong_version") as url:
        reader, writer = await open_url(url)
        writer.write(VERSION_REQUEST)
        answer = json.loads(await asyncio.wait_for(reader.readline(), 5))
        assert answer["id"] == 1
        assert "unsupported protocol version" in answer["error"]["message"]
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()


async def test_slow_drip_sends_one_byte_a_second() -> None:
    async with hostile_server("slow_drip") as url:
        reader, writer = await open_url(url)
        writer.write(VERSION_REQUEST)
        received = b""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2.5
        while (left := deadline - loop.time()) > 0:
            try:
                received += await asyncio.wait_for(reader.read(100), left)
            except TimeoutError:
                break
        writer.close()
    assert received.startswith(b"{")
    assert 2 <= len(received) <= 4


def test_hostile_url_is_refused_once_closed() -> None:
    async def url_of_closed() -> str:
        async with hostile_server("silent") as url:
            return url

    url = asyncio.run(url_of_closed())
    host, port = url.removeprefix("tcp://").rsplit(":", 1)
    with pytest.raises(ConnectionRefusedError), socket.create_connection((host, int(port)), 2):
        pass
