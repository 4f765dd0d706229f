"""How the link to a remote hub is doing, as the screen tells it.

A frozen value: the link replaces it on every change and hands it to the
orchestrator, which keeps it in the system state for the status line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

LinkPhase: TypeAlias = Literal["connecting", "connected", "reconnecting", "refused", "unavailable"]
"""connecting: the first try, or a retry under way. connected: hello and the
state are in, events flow. reconnecting: waiting to try again after a failure.
refused: the hub turned the token down (HTTP 401/403); tried again slowly.
unavailable: the hub answers but cannot be read (another protocol version)."""


@dataclass(frozen=True)
class LinkState:
    address: str
    """host:port of the hub."""
    phase: LinkPhase = "connecting"
    attempt: int = 0
    """The try under way or next, counted from the last good connection (0: the first)."""
    retry_at: float | None = None
    """When the next try starts, on the link's wall clock."""
    last_error: str | None = None
    server: str | None = None
    """The hub's name and version, from its hello."""


def describe(state: LinkState, now: float) -> str:
    """One line for the status bar; `now` makes the countdown tick."""
    if state.phase == "connected":
        return f"connected to {state.address}"
    if state.phase == "connecting":
        attempt = f" (attempt {state.attempt})" if state.attempt else ""
        return f"connecting to {state.address}…{attempt}"
    wait = _countdown(state, now)
    if state.phase == "reconnecting":
        why = f", {state.last_error}" if state.last_error else ""
        return f"reconnecting {wait} (attempt {state.attempt}{why})"
    # refused, unavailable: say why first; retrying is slow and secondary.
    reason = state.last_error or "no reason given"
    return f"{state.phase}: {reason} · retry {wait}"


def _countdown(state: LinkState, now: float) -> str:
    if state.retry_at is None:
        return "soon"
    left = state.retry_at - now
    if left < 1:
        return "now"
    return f"in {left:.0f} s"
