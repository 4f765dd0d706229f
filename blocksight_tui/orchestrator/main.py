"""The MainOrchestrator: the single source of truth inside the app.

It takes every event (from the local bus or a remote hub), routes it to the
context plugins that want it, and tells its listeners which plugin states
changed. A plugin that raises is logged and quarantined for that event only;
the others still get it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from blocksight_tui.events import Event
from blocksight_tui.orchestrator.plugins.base import ContextPlugin
from blocksight_tui.orchestrator.plugins.blockchain import BlockchainPlugin
from blocksight_tui.orchestrator.plugins.electrum import ElectrumPlugin
from blocksight_tui.orchestrator.plugins.external_api import ExternalApiPlugin
from blocksight_tui.orchestrator.plugins.system import Mode, SystemPlugin
from blocksight_tui.remote.state import LinkState

log = logging.getLogger(__name__)

StateListener = Callable[[str, Any], None]
"""Called with (plugin name, new plugin state) after each change."""


class MainOrchestrator:
    def __init__(self, plugins: Iterable[ContextPlugin] = ()) -> None:
        self._plugins: dict[str, ContextPlugin] = {}
        self._listeners: list[StateListener] = []
        self.failures: dict[str, int] = {}
        for plugin in plugins:
            self.register(plugin)

    @classmethod
    def standard(
        cls,
        mode: Mode = "node",
        label: str = "",
        hub_url: str | None = None,
        electrum_configured: bool = False,
    ) -> MainOrchestrator:
        """The four context plugins of the design."""
        return cls(
            [
                BlockchainPlugin(),
                ElectrumPlugin(configured=electrum_configured),
                ExternalApiPlugin(),
                SystemPlugin(mode=mode, label=label, hub_url=hub_url),
            ]
        )

    @property
    def plugins(self) -> dict[str, ContextPlugin]:
        return dict(self._plugins)

    def register(self, plugin: ContextPlugin) -> None:
        if plugin.name in self._plugins:
            raise ValueError(f"a plugin named {plugin.name!r} is already registered")
        self._plugins[plugin.name] = plugin

    def state_of(self, name: str) -> Any:
        return self._plugins[name].state

    def subscribe(self, listener: StateListener) -> Callable[[], None]:
        self._listeners.append(listener)
        for name, plugin in self._plugins.items():
            self._notify_one(listener, name, plugin.state)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def reset(self) -> None:
        """Every plugin forgets what the events said: the remote hub's fresh
        state follows. Listeners hear of each plugin's reset state."""
        for name, plugin in self._plugins.items():
            try:
                plugin.reset()
            except Exception:
                self.failures[name] = self.failures.get(name, 0) + 1
                log.exception("plugin %s failed to reset", name)
            self._notify_all(name, plugin.state)

    def set_hub_url(self, hub_url: str | None) -> None:
        """The local hub started there, or (None) could not start."""
        system = self._plugins.get(SystemPlugin.name)
        if isinstance(system, SystemPlugin) and system.hub_changed(hub_url):
            self._notify_all(SystemPlugin.name, system.state)

    def set_link(self, link: LinkState) -> None:
        """The link to the remote hub changed (attach mode)."""
        for name, plugin in self._plugins.items():
            try:
                if not plugin.link_changed(link):
                    continue
            except Exception:
                self.failures[name] = self.failures.get(name, 0) + 1
                log.exception("plugin %s failed on the link state", name)
                continue
            self._notify_all(name, plugin.state)

    def handle(self, event: Event) -> None:
        for name, plugin in self._plugins.items():
            try:
                if not plugin.accepts(event) or not plugin.handle(event):
                    continue
            except Exception:
                self.failures[name] = self.failures.get(name, 0) + 1
                log.exception("plugin %s failed on %s #%d", name, event.type, event.seq)
                continue
            self._notify_all(name, plugin.state)

    def _notify_all(self, name: str, state: Any) -> None:
        for listener in tuple(self._listeners):
            self._notify_one(listener, name, state)

    @staticmethod
    def _notify_one(listener: StateListener, name: str, state: Any) -> None:
        try:
            listener(name, state)
        except Exception:
            log.exception("state listener %r failed for %s", listener, name)
