"""`/metrics`: the hub, the bus, the polls and the breakers in the Prometheus
text format.

Collectors read the counters the parts keep anyway at scrape time, so the hot
paths (fan-out, publish) pay an integer add at most. Each hub has its own
registry: two hubs in one process (tests) never clash over a metric name.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Final

from prometheus_client import (
    CollectorRegistry,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from blocksight_tui import __version__
from blocksight_tui.adapters.base import HasCircuits
from blocksight_tui.events import EVENT_TYPES
from blocksight_tui.hub.bus import EventBus

if TYPE_CHECKING:
    from blocksight_tui.hub.server import HubServer

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
SOURCE_STATES: Final = ("ok", "stale", "unavailable", "off")
BREAKER_STATES: Final = ("closed", "half-open", "open")


# A `_created` timestamp beside every counter and histogram is noise to a
# scraper that has the process start time anyway.
disable_created_metrics()


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        # CPU seconds and resident memory of this process, from /proc.
        ProcessCollector(registry=self.registry)
        self.add(BuildInfo())

    def add(self, collector: Collector) -> None:
        self.registry.register(collector)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class BuildInfo(Collector):
    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "blocksight_build_info", "Always 1; the running version.", labels=("version",)
        )
        info.add_metric((__version__,), 1.0)
        yield info


class HubCollector(Collector):
    def __init__(self, hub: HubServer) -> None:
        self._hub = hub

    def collect(self) -> Iterator[Metric]:
        hub = self._hub
        stats = hub.stats
        yield GaugeMetricFamily(
            "blocksight_hub_clients", "WebSocket clients connected.", value=hub.client_count
        )
        yield CounterMetricFamily(
            "blocksight_hub_frames_sent", "Frames sent to clients.", value=stats.frames_sent
        )
        yield CounterMetricFamily(
            "blocksight_hub_bytes_sent",
            "Payload bytes of the frames sent to clients.",
            value=stats.bytes_sent,
        )
        yield CounterMetricFamily(
            "blocksight_hub_frames_coalesced",
            "Events a slow client never got because a newer one of the type replaced them.",
            value=stats.frames_coalesced,
        )
        closed = CounterMetricFamily(
            "blocksight_hub_clients_closed",
            "Clients the hub disconnected, by reason.",
            labels=("reason",),
        )
        closed.add_metric(("too_slow",), stats.clients_closed_slow)
        closed.add_metric(("heartbeat",), stats.clients_closed_heartbeat)
        closed.add_metric(("abuse",), stats.clients_closed_abuse)
        closed.add_metric(("too_big",), stats.clients_closed_too_big)
        yield closed
        refused = CounterMetricFamily(
            "blocksight_hub_connections_refused",
            "Connections refused before the handshake, by reason.",
            labels=("reason",),
        )
        for reason in ("token", "origin", "host", "full"):
            refused.add_metric((reason,), stats.refused[reason])
        yield refused


class BusCollector(Collector):
    def __init__(self, bus: EventBus, clock: Callable[[], float] = time.time) -> None:
        self._bus = bus
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        published = CounterMetricFamily(
            "blocksight_events", "Events published, by type.", labels=("type",)
        )
        for event_type in EVENT_TYPES:
            published.add_metric((event_type,), self._bus.published[event_type])
        yield published
        state = GaugeMetricFamily(
            "blocksight_source_state",
            "1 for the state the latest event of a type from a source is in.",
            labels=("source", "type", "state"),
        )
        age = GaugeMetricFamily(
            "blocksight_event_age_seconds",
            "Seconds since the latest event of a type from a source.",
            labels=("source", "type"),
        )
        now = self._clock()
        for event in self._bus.latest():
            for name in SOURCE_STATES:
                value = 1.0 if event.source.state == name else 0.0
                state.add_metric((event.source.name, event.type, name), value)
            age.add_metric((event.source.name, event.type), max(0.0, now - event.ts))
        yield state
        yield age


class CircuitCollector(Collector):
    def __init__(self, adapters: Iterable[object]) -> None:
        self._adapters = [a for a in adapters if isinstance(a, HasCircuits)]

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "blocksight_circuit_state",
            "1 for the state each circuit breaker (or server session) is in.",
            labels=("circuit", "state"),
        )
        for adapter in self._adapters:
            for circuit, current in adapter.circuits().items():
                for name in BREAKER_STATES:
                    family.add_metric((circuit, name), 1.0 if current == name else 0.0)
        yield family

