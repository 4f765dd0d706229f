"""/metrics: Prometheus text that a Prometheus parser reads, with the hub's,
the bus's, the polls' and the breakers' figures."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from blocksight_tui.node_discovery import discover_rpc_endpoint
from blocksight_tui.runtime import Runtime
from blocksight_tui.settings import Settings
from tests.fake_core import FakeCore


async def scrape(url: str) -> dict[str, list[Sample]]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and labels.items() <= s.labels.items()]
    assert found, f"no sample {name} {labels}"
    return sum(found)


async def test_metrics_of_a_running_demo_hub() -> None:
    settings = Settings(hub={"port": 0}, demo={"seed": 7, "speed": 20.0})
    runtime = Runtime(settings, "demo")
    await runtime.start()
    try:
        assert runtime.hub is not None
        base = f"http://127.0.0.1:{runtime.hub.bound_port}"
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{base}/ws") as ws:
            for _ in range(4):
                await ws.receive(timeout=5)
            metrics = await scrape(f"{base}/metrics")
    finally:
        await runtime.stop()
    assert value(metrics["blocksight_hub_clients"], "blocksight_hub_clients") == 1
    assert value(metrics["blocksight_hub_frames_sent"], "blocksight_hub_frames_sent_total") >= 4
    assert value(metrics["blocksight_hub_bytes_sent"], "blocksight_hub_bytes_sent_total") > 1000
    events = metrics["blocksight_events"]
    assert value(events, "blocksight_events_total", type="tip.height") >= 1
    states = metrics["blocksight_source_state"]
    assert value(states, "blocksight_source_state", source="demo", type="tip.height",
                 state="ok") == 1
    polls = metrics["blocksight_poll_duration_seconds"]
    assert value(polls, "blocksight_poll_duration_seconds_count", source="demo", poll="tip") >= 1
    assert "blocksight_poll_errors" in metrics
    assert value(metrics["process_resident_memory_bytes"], "process_resident_memory_bytes") > 0
    for reason in ("token", "origin", "full"):
        refused = metrics["blocksight_hub_connections_refused"]
        assert value(refused, "blocksight_hub_connections_refused_total", reason=reason) == 0


async def test_breakers_and_poll_errors_follow_the_node(tmp_path: Path) -> None:
    core = FakeCore()
    await core.start()
    settings = Settings(
        node={"rpc_host": "127.0.0.1", "rpc_port": core.port, "rpc_user": "user",
              "rpc_password": core.password, "datadir": tmp_path, "zmq": False},
        hub={"port": 0},
        electrum={"enabled": False},
        prices={"enabled": False},
        intervals={"tip": 0.1},
    )
    runtime = Runtime(settings, "node", discover_rpc_endpoint(settings.node))
    await runtime.start()
    try:
        assert runtime.hub is not None
        url = f"http://127.0.0.1:{runtime.hub.bound_port}/metrics"
        await asyncio.sleep(0.3)
        healthy = await scrape(url)
        core.mode = "auth"
        await asyncio.sleep(0.5)
        failing = await scrape(url)
    finally:
        await runtime.stop()
        await core.stop()
    circuit = "blocksight_circuit_state"
    assert value(healthy[circuit], circuit, circuit="core", state="closed") == 1
    assert value(failing[circuit], circuit, circuit="core", state="closed") == 0
    errors = "blocksight_poll_errors_total"
    assert value(healthy["blocksight_poll_errors"], errors, source="core", poll="tip") == 0
    assert value(failing["blocksight_poll_errors"], errors, source="core", poll="tip") >= 1
