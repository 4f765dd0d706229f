"""Price and FX rates from the external APIs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from blocksight_tui.events import Event, FxRatesEvent, PriceCurrentEvent
from blocksight_tui.orchestrator.plugins.base import ContextPlugin


@dataclass(frozen=True)
class ExternalApiState:
    price: PriceCurrentEvent | None = None
    fx: FxRatesEvent | None = None


class ExternalApiPlugin(ContextPlugin):
    name: ClassVar[str] = "external_api"

    def __init__(self) -> None:
        self._state = ExternalApiState()

    @property
    def state(self) -> ExternalApiState:
        return self._state

    def reset(self) -> None:
        self._state = ExternalApiState()

    def accepts(self, event: Event) -> bool:
        return event.type in ("price.current", "fx.rates")

    def handle(self, event: Event) -> bool:
        old = self._state
        if isinstance(event, PriceCurrentEvent):
            self._state = replace(old, price=event)
        elif isinstance(event, FxRatesEvent):
            self._state = replace(old, fx=event)
        return self._state != old
