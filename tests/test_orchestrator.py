"""The MainOrchestrator routes each event to the plugins that want it, and a
failing plugin or listener never stops the others."""

from __future__ import annotations

from typing import Any, ClassVar

from blocksight_tui.events import (
    ChainReorg,
    Event,
    PriceCurrent,
    SourceInfo,
    TipHeight,
)
from blocksight_tui.hub.bus import EventBus
from blocksight_tui.orchestrator.main import MainOrchestrator
from blocksight_tui.orchestrator.plugins.base import ContextPlugin
from blocksight_tui.orchestrator.plugins.blockchain import BlockchainState
from blocksight_tui.orchestrator.plugins.external_api import ExternalApiState
from blocksight_tui.orchestrator.plugins.system import SystemState

CORE = SourceInfo(name="core")


def h(n: int) -> str:
    return f"{n:064x}"


def wired(orchestrator: MainOrchestrator) -> tuple[EventBus, list[tuple[str, Any]]]:
    bus = EventBus()
    bus.subscribe(orchestrator.handle)
    changes: list[tuple[str, Any]] = []
    orchestrator.subscribe(lambda name, state: changes.append((name, state)))
    changes.clear()
    return bus, changes


def test_the_four_plugins_are_registered() -> None:
    assert set(MainOrchestrator.standard().plugins) == {
        "blockchain", "electrum", "external_api", "system"
    }


def test_events_reach_only_the_plugins_that_want_them() -> None:
    orchestrator = MainOrchestrator.standard()
    bus, changes = wired(orchestrator)
    bus.publish("tip.height", TipHeight(height=5, hash=h(5), time=1), CORE)
    # Electrum takes the node's tip too: it cross-checks its server against it.
    assert [name for name, _ in changes] == ["blockchain", "electrum", "system"]
    chain: BlockchainState = orchestrator.state_of("blockchain")
    assert chain.tip is not None and chain.tip.data is not None and chain.tip.data.height == 5
    changes.clear()
    bus.publish("price.current", PriceCurrent(currency="USD", price=1.0), SourceInfo(name="prices"))
    assert [name for name, _ in changes] == ["external_api", "system"]
    prices: ExternalApiState = orchestrator.state_of("external_api")
    assert prices.price is not None
    system: SystemState = orchestrator.state_of("system")
    assert system.events_seen == 2 and dict(system.sources)["price.current"].name == "prices"


def test_recent_blocks_follow_tips_and_reorgs() -> None:
    orchestrator = MainOrchestrator.standard()
    bus, _ = wired(orchestrator)
    for n in range(1, 6):
        bus.publish("tip.height", TipHeight(height=n, hash=h(n), time=n), CORE)
    reorg = ChainReorg(
        depth=1, fork_height=4, fork_hash=h(4), old_tip_height=5, old_tip_hash=h(5),
        new_tip_height=6, new_tip_hash=h(66), disconnected=(h(5),), connected=(h(66), h(55)),
    )
    bus.publish("chain.reorg", reorg, CORE)
    bus.publish("tip.height", TipHeight(height=6, hash=h(66), time=6), CORE)
    chain: BlockchainState = orchestrator.state_of("blockchain")
    assert [b.height for b in chain.recent_blocks] == [1, 2, 3, 4, 6]
    assert chain.last_reorg == reorg and chain.reorg_count == 1


class Exploding(ContextPlugin):
    name: ClassVar[str] = "exploding"

    def accepts(self, event: Event) -> bool:
        return True

    def handle(self, event: Event) -> bool:
        raise RuntimeError("plugin bug")

    @property
    def state(self) -> None:
        return None


def test_a_failing_plugin_does_not_stop_the_others() -> None:
    orchestrator = MainOrchestrator.standard()
    orchestrator.register(Exploding())
    bus, changes = wired(orchestrator)
    bus.publish("tip.height", TipHeight(height=1, hash=h(1), time=1), CORE)
    bus.publish("tip.height", TipHeight(height=2, hash=h(2), time=2), CORE)
    assert orchestrator.failures == {"exploding": 2}
    assert ("blockchain" in {name for name, _ in changes})
    assert orchestrator.state_of("blockchain").tip.data.height == 2


def test_a_failing_listener_does_not_stop_the_others() -> None:
    orchestrator = MainOrchestrator.standard()
    bus = EventBus()
    bus.subscribe(orchestrator.handle)
    seen: list[str] = []

    def broken(name: str, state: Any) -> None:
        raise RuntimeError("widget bug")

    orchestrator.subscribe(broken)
    orchestrator.subscribe(lambda name, state: seen.append(name))
    seen.clear()
    bus.publish("tip.height", TipHeight(height=1, hash=h(1), time=1), CORE)
    assert seen == ["blockchain", "electrum", "system"]


def test_electrum_is_cross_checked_against_the_node() -> None:
    from blocksight_tui.orchestrator.plugins.electrum import ElectrumState

    orchestrator = MainOrchestrator.standard()
    bus, _ = wired(orchestrator)
    electrum = SourceInfo(name="electrum", detail="tcp://127.0.0.1:50001 · ElectrumX 1.20.2")
    bus.publish("tip.height", TipHeight(height=100, hash=h(100), time=1), electrum)
    # Before the node speaks, Electrum's tip stands in for the chain.
    assert orchestrator.state_of("blockchain").tip.data.height == 100
    bus.publish("tip.height", TipHeight(height=103, hash=h(103), time=3), CORE)
    bus.publish("tip.height", TipHeight(height=101, hash=h(101), time=2), electrum)
    state: ElectrumState = orchestrator.state_of("electrum")
    assert state.lag == 2 and not state.lagging
    assert orchestrator.state_of("blockchain").tip.data.height == 103  # the node's, not Electrum's
    bus.publish("tip.height", TipHeight(height=104, hash=h(104), time=4), CORE)
    state = orchestrator.state_of("electrum")
    assert state.lag == 3 and state.lagging
    assert state.source is not None and "ElectrumX" in (state.source.detail or "")


async def test_a_hub_that_could_not_bind_is_not_shown_as_listening() -> None:
    """The TUI runs on without its hub; the status line must not then show
    the address of whatever else holds the port."""
    import socket

    from blocksight_tui.__main__ import LocalFeed
    from blocksight_tui.runtime import Runtime
    from blocksight_tui.settings import Settings

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    runtime = Runtime(Settings(hub={"port": port}), "demo", hub_required=False)
    orchestrator = MainOrchestrator.standard(mode="demo", hub_url=runtime.hub_url)
    assert orchestrator.state_of("system").hub_url == f"ws://127.0.0.1:{port}/ws"
    feed = LocalFeed(runtime, orchestrator)
    try:
        notices = await feed.start()
    finally:
        await feed.stop()
        taken.close()
    assert notices and "hub not started" in notices[0]
    assert orchestrator.state_of("system").hub_url is None
