from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.node_daemon import RegtestNode, remove_node, start_node

pytest_plugins = ["tests.electrum_fixtures"]

FIXTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures"


def load_fixture(group: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / group / name).read_text())


@pytest.fixture
def core_fixture_dir() -> Path:
    path = FIXTURES / "bitcoin-core"
    if not path.is_dir():
        pytest.fail(f"recorded Bitcoin Core answers missing at {path}")
    return path


@pytest.fixture(scope="session")
def regtest_node() -> Iterator[RegtestNode]:
    node = start_node()
    yield node
    remove_node(node)
