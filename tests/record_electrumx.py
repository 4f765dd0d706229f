"""Record real ElectrumX answers into tests/fixtures/electrumx/.

Run once, from the repository root: `python -m tests.record_electrumx`. It
starts a regtest node and ElectrumX 1.20.2 (see `tests.electrumx_server`),
builds a small chain with confirmed and mempool payments to the miner's
address, speaks newline-delimited JSON-RPC over plain TCP, and writes one
`{"description", "negotiated", "request", "response"}` file per exchange,
the shape of the shared e-x recordings.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.electrumx_server import (
    MINED_BLOCKS,
    MINER_ADDRESS,
    MINER_SCRIPT_HASH,
    NODE_ARGS,
    LineClient,
    make_electrumx,
    mine_blocks,
    remove_electrumx,
)
from tests.node_daemon import RegtestNode, make_node, remove_node

OUT = Path(__file__).resolve().parent / "fixtures" / "electrumx"
CLIENT = "blocksight-test"
OFFERED = ["1.4", "1.6"]


def build_chain(node: RegtestNode) -> dict[str, Any]:
    """101 blocks to the miner, 101 to the wallet, one confirmed and one mempool payment."""
    mine_blocks(node, MINED_BLOCKS, MINER_ADDRESS)
    node.rpc("generate", 101)
    confirmed = node.rpc("sendtoaddress", MINER_ADDRESS, 1.5)
    mine_blocks(node, 1)
    unconfirmed = node.rpc("sendtoaddress", MINER_ADDRESS, 0.25)
    coinbase = node.rpc("getblock", node.rpc("getblockhash", 1))["tx"][0]
    return {"confirmed": confirmed, "unconfirmed": unconfirmed, "coinbase": coinbase,
            "height": node.rpc("getblockcount")}


class Recorder:
    def __init__(self, client: LineClient, negotiated: str | None) -> None:
        self.client = client
        self.negotiated = negotiated
        self.names: list[str] = []

    def save(self, name: str, description: str, request: dict[str, Any] | None,
             response: dict[str, Any], during_handshake: bool = False) -> None:
        negotiated = None if during_handshake else self.negotiated
        record = {"description": description, "negotiated": negotiated,
                  "request": request, "response": response}
        path = OUT / f"{name}-v{self.negotiated}.json"
        path.write_text(json.dumps(record, indent=1) + "\n")
        self.names.append(path.name)

    def call(self, name: str, method: str, *params: Any, description: str = "") -> Any:
        request, response = self.client.exchange(method, *params)
        self.save(name, description, request, response)
        return response.get("result")


def record(node: RegtestNode, chain: dict[str, Any], url: str) -> list[str]:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    with LineClient(url) as client:
        request, response = client.exchange("server.version", CLIENT, OFFERED)
        negotiated = response["result"][1]
        rec = Recorder(client, negotiated)
        rec.save("server.version", f"handshake offering {OFFERED}", request, response,
                 during_handshake=True)
        rec.call("server.features", "server.features")
        rec.call("server.ping", "server.ping")
        tip = rec.call("blockchain.headers.subscribe", "blockchain.headers.subscribe",
                       description=f"tip at height {chain['height']}")
        rec.call("blockchain.block.header", "blockchain.block.header", 100)
        rec.call("blockchain.block.header-cp", "blockchain.block.header", 100, tip["height"],
                 description="with a merkle proof to the tip (cp_height)")
        rec.call("blockchain.block.headers", "blockchain.block.headers", 1, 5)
        for target in (2, 6, 25):
            rec.call(f"blockchain.estimatefee-{target}", "blockchain.estimatefee", target,
                     description="ElectrumX 1.20.2 answers a constant, not the node's estimate")
        rec.call("blockchain.relayfee", "blockchain.relayfee",
                 description="ElectrumX 1.20.2 answers a constant")
        rec.call("mempool.get_fee_histogram", "mempool.get_fee_histogram",
                 description="ElectrumX 1.20.2 always answers an empty histogram")
        address = f"{MINER_ADDRESS}: {MINED_BLOCKS} coinbases, 1.5 confirmed, 0.25 in mempool"
        rec.call("blockchain.scripthash.get_balance", "blockchain.scripthash.get_balance",
                 MINER_SCRIPT_HASH, description=address)
        rec.call("blockchain.scripthash.get_history", "blockchain.scripthash.get_history",
                 MINER_SCRIPT_HASH, description=address)
        rec.call("blockchain.scripthash.get_mempool", "blockchain.scripthash.get_mempool",
                 MINER_SCRIPT_HASH, description=address)
        rec.call("blockchain.scripthash.listunspent", "blockchain.scripthash.listunspent",
                 MINER_SCRIPT_HASH, description=address)
        rec.call("blockchain.transaction.get", "blockchain.transaction.get",
                 chain["confirmed"], description="raw tx hex (a confirmed wallet payment)")
        rec.call("blockchain.transaction.get-verbose", "blockchain.transaction.get",
                 chain["confirmed"], True,
                 description="verbose tx (the server asks the node; BSV fields)")
        rec.call("blockchain.transaction.get-coinbase-verbose", "blockchain.transaction.get",
                 chain["coinbase"], True, description="verbose coinbase of block 1")
        rec.call("error-unknown-method", "no.such.method")
        rec.call("error-bad-scripthash", "blockchain.scripthash.get_balance", "not-a-hash")
        rec.call("error-unknown-tx", "blockchain.transaction.get", "00" * 32)

        # Notifications: subscribe, mine a block that confirms the mempool payment.
        status = rec.call("blockchain.scripthash.subscribe", "blockchain.scripthash.subscribe",
                          MINER_SCRIPT_HASH, description=f"status of {MINER_ADDRESS}")
        height = mine_blocks(node, 1)
        seen: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + 30
        while len(seen) < 2 and time.monotonic() < deadline:
            message = client.notification()
            seen.setdefault(message["method"], message)
        headers = seen["blockchain.headers.subscribe"]
        rec.save("blockchain.headers.subscribe-notification",
                 f"pushed when block {height} arrived (request: the earlier subscribe)",
                 None, headers)
        rec.save("blockchain.scripthash.subscribe-notification",
                 f"pushed when block {height} confirmed the mempool payment; the status was "
                 f"{status}", None, seen["blockchain.scripthash.subscribe"])
    return rec.names


def main() -> None:
    node = make_node(*NODE_ARGS)
    server = None
    try:
        node.start()
        chain = build_chain(node)
        server = make_electrumx(node)
        server.start()
        # Wait for the mempool payment to be seen.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with LineClient(server.tcp_url) as probe:
                balance = probe.call("blockchain.scripthash.get_balance", MINER_SCRIPT_HASH)
            if balance["unconfirmed"]:
                break
            time.sleep(0.2)
        names = record(node, chain, server.tcp_url)
        print(f"recorded {len(names)} files into {OUT}")
    finally:
        if server is not None:
            remove_electrumx(server)
        remove_node(node)


if __name__ == "__main__":
    main()
