"""The hub's running totals, kept as plain integers on the hot path and read
by /metrics."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class HubStats:
    frames_sent: int = 0
    bytes_sent: int = 0
    frames_coalesced: int = 0
    clients_closed_slow: int = 0
