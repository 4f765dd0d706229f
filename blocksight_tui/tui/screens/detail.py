"""The base of the detail screens: the same header and footer as the
dashboard, a body of panels, and escape to go back.

The app hands every plugin state it applies to the open screens too
(attributes down); a screen only picks the states it shows, so it is live
while open and never asks for anything itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header

from blocksight_tui.orchestrator.plugins.blockchain import BlockchainState


class DetailScreen(Screen[None]):
    BINDINGS: ClassVar = [Binding("escape", "app.pop_screen", "Back")]
    NAME: ClassVar[str] = ""
    """The key the app binds to this screen, and its name in `action_show`."""

    def __init__(
        self, states: Mapping[str, Any] | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__()
        self.clock = clock
        self._initial = dict(states or {})
        self._ready = False

    def compose(self) -> ComposeResult:
        yield Header(icon="₿")
        yield from self.body()
        yield Footer()

    def body(self) -> ComposeResult:
        raise NotImplementedError

    def on_mount(self) -> None:
        self._ready = True
        initial, self._initial = self._initial, {}
        for name, state in initial.items():
            self.update(name, state)

    def update(self, name: str, state: Any) -> None:
        """Show a plugin's state; kept for later until the panels exist."""
        if not self._ready:
            self._initial[name] = state
            return
        if isinstance(state, BlockchainState):
            self.show_blockchain(state)

    def show_blockchain(self, state: BlockchainState) -> None:
        """Set the panels' slices from the chain plugin's state."""
