"""Health of the sources, from the latest events: what `/healthz` answers.

A source is degraded while any of its figures is stale (it was working and
is failing now). A source that never gave a figure (an Electrum server that
is not there) is reported but does not make the hub unhealthy, except the
chain source itself (the node, or the demo): without it there is nothing to
watch. A source the operator turned off (prices with --no-price) is `off`,
which is healthy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from blocksight_tui.events import CHAIN_SOURCES, Event

Health = Literal["ok", "degraded", "unavailable", "off"]


def source_health(events: Iterable[Event]) -> dict[str, dict[str, Any]]:
    by_source: dict[str, list[Event]] = {}
    for event in events:
        if event.type != "chain.reorg":
            by_source.setdefault(event.source.name, []).append(event)
    report: dict[str, dict[str, Any]] = {}
    for name, items in sorted(by_source.items()):
        states = {e.source.state for e in items}
        health: Health = (
            "degraded" if "stale" in states
            else "unavailable" if states - {"off"} == {"unavailable"}
            else "off" if states == {"off"}
            else "ok"
        )
        reasons = sorted({f"{e.type}: {e.source.reason}" for e in items if e.source.reason})
        # Only the chain source makes the hub unhealthy by being unavailable.
        report[name] = {"state": health, "reasons": reasons, "required": name in CHAIN_SOURCES}
    return report


def healthy(report: dict[str, dict[str, Any]]) -> bool:
    if not any(name in CHAIN_SOURCES for name in report):
        return False  # nothing heard from the chain yet
    return all(
        entry["state"] in ("ok", "off")
        or (entry["state"] == "unavailable" and name not in CHAIN_SOURCES)
        for name, entry in report.items()
    )


def chain_source(report: dict[str, dict[str, Any]]) -> str | None:
    """Which source speaks for the chain: "core" (a node), "demo" (the
    simulated network), or None before either has. A dashboard behind this
    hub must be able to tell made-up blocks from real ones."""
    return next((name for name in report if name in CHAIN_SOURCES), None)
