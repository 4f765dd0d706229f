"""Pytest fixtures for tests against a real ElectrumX.

Load them with `pytest_plugins = ["tests.electrum_fixtures"]` and take the
constants and helpers from `tests.electrumx_server` (importing this module
directly keeps pytest from rewriting its asserts). Like the node fixtures they
never skip under CI: a missing ElectrumX fails the run there.

- `electrum_node`: a session regtest node with `-txindex=1`, 101 blocks mined
  to `MINER_ADDRESS` (ElectrumX counts immature coinbases: the balance is
  `MINED_BLOCKS * BLOCK_REWARD_SATS`, all confirmed). Tests that mine more
  call `mine_blocks`, which pays `SPARE_ADDRESS` so the miner's balance stays.
- `electrumx`: a session ElectrumX on that node, plain TCP only.
- `electrumx_ssl`: a session ElectrumX on that node, TCP and SSL.
- `electrumx_factory`: makes and starts more servers on the node (failover
  tests), each stopped and removed when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.electrumx_server import (
    MINED_BLOCKS,
    MINER_ADDRESS,
    NODE_ARGS,
    ElectrumXServer,
    mine_blocks,
    remove_electrumx,
    start_electrumx,
)
from tests.node_daemon import RegtestNode, remove_node, start_node, unavailable


@pytest.fixture(scope="session")
def electrum_node() -> Iterator[RegtestNode]:
    node = start_node(*NODE_ARGS)
    try:
        mine_blocks(node, MINED_BLOCKS, MINER_ADDRESS)
    except (OSError, RuntimeError) as exc:
        remove_node(node)
        unavailable(f"cannot mine on the node: {exc}")
    yield node
    remove_node(node)


@pytest.fixture(scope="session")
def electrumx(electrum_node: RegtestNode) -> Iterator[ElectrumXServer]:
    server = start_electrumx(electrum_node)
    yield server
    remove_electrumx(server)


@pytest.fixture(scope="session")
def electrumx_ssl(electrum_node: RegtestNode) -> Iterator[ElectrumXServer]:
    server = start_electrumx(electrum_node, ssl=True)
    yield server
    remove_electrumx(server)


@pytest.fixture
def electrumx_factory(
    electrum_node: RegtestNode,
) -> Iterator[Callable[..., ElectrumXServer]]:
    """`electrumx_factory(ssl=False)` -> a started server, removed after the test."""
    servers: list[ElectrumXServer] = []

    def factory(ssl: bool = False) -> ElectrumXServer:
        server = start_electrumx(electrum_node, ssl=ssl)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        remove_electrumx(server)
