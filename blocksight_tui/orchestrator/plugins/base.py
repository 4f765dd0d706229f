"""What every context plugin is: it takes the events it cares about and keeps
an immutable state that widgets render. Plugins never fetch and never import
Textual."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from blocksight_tui.events import Event
from blocksight_tui.remote.state import LinkState


class ContextPlugin(ABC):
    name: ClassVar[str]

    @abstractmethod
    def accepts(self, event: Event) -> bool:
        """Whether this plugin wants the event."""

    @abstractmethod
    def handle(self, event: Event) -> bool:
        """Fold the event into the state; True when the state changed."""

    @property
    @abstractmethod
    def state(self) -> Any:
        """The current state: a frozen dataclass, safe to hand to any reader."""

    def reset(self) -> None:  # noqa: B027 - optional: a no-op for plugins that keep nothing
        """Forget what the events said (a restarted remote hub sends a fresh
        state); what the plugin was built with stays."""

    def link_changed(self, link: LinkState) -> bool:
        """The link to a remote hub changed; True when the state changed."""
        return False
