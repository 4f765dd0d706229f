"""Builds the headless part of the app from settings: adapters, scheduler, bus
and hub, and runs them with an orderly start and stop. The TUI and `serve`
both use it; nothing here imports Textual."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Final, Literal

from blocksight_tui.adapters.base import Adapter
from blocksight_tui.adapters.core_rpc import CoreRpcAdapter
from blocksight_tui.adapters.electrum.adapter import ElectrumAdapter
from blocksight_tui.adapters.electrum.servers import DEFAULT_SERVER, parse_server
from blocksight_tui.adapters.jsonrpc import JsonRpcClient
from blocksight_tui.adapters.prices.adapter import PriceAdapter
from blocksight_tui.adapters.simulated import SimulatedNetwork
from blocksight_tui.events import SourceInfo
from blocksight_tui.hub.bus import EventBus
from blocksight_tui.hub.metrics import CircuitCollector
from blocksight_tui.hub.scheduler import Scheduler
from blocksight_tui.hub.server import HubServer
from blocksight_tui.node_discovery import RpcEndpoint, discover_rpc_endpoint, node_configured
from blocksight_tui.settings import Settings, SettingsError

log = logging.getLogger(__name__)

PRICES_DISABLED: Final = "off (--no-price)"
PRICES_REGTEST: Final = "no market price on regtest"

Mode = Literal["demo", "node"]


class NoNodeError(Exception):
    """No node configured nor found, and the demo was ruled out."""


def probe_tcp(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts connections there (no data is sent)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def choose_mode(settings: Settings, endpoint: RpcEndpoint) -> Mode:
    """The demo runs when asked, or when no node is configured and none answers
    at the address where one would be; `--no-demo` turns that case into an error."""
    if settings.demo.mode == "on":
        return "demo"
    if node_configured(settings, endpoint) or probe_tcp(endpoint.host, endpoint.port):
        return "node"
    if settings.demo.mode == "off":
        raise NoNodeError(
            f"no Bitcoin Core node configured, and none answers at {endpoint.host}:"
            f"{endpoint.port} ({endpoint.network}); start bitcoind, or point at it with "
            "--datadir/--rpc-port/--rpc-user, or drop --no-demo to watch the demo"
        )
    log.info(
        "no Bitcoin Core node configured, and none answers at %s:%s (%s): "
        "running the simulated network",
        endpoint.host,
        endpoint.port,
        endpoint.network,
    )
    return "demo"


def intervals_of(settings: Settings) -> dict[str, float]:
    return settings.intervals.model_dump()


class Runtime:
    """Owns the long-running parts; `start` and `stop` are each called once."""

    def __init__(
        self,
        settings: Settings,
        mode: Mode,
        endpoint: RpcEndpoint | None = None,
        bus: EventBus | None = None,
        hub_required: bool = True,
        network_explicit: bool = True,
    ) -> None:
        self.settings = settings
        self.network_explicit = network_explicit
        self.hub_required = hub_required
        self.mode = mode
        self.endpoint = endpoint
        self.bus = bus or EventBus()
        self.scheduler = Scheduler(self.bus)
        self.prices_off = self._prices_off()
        self.adapters: list[Adapter] = [self._build_adapter()]
        if mode == "node" and self.prices_off is None:
            self.adapters.append(self._build_prices())
        if mode == "node" and settings.electrum.enabled:
            self.adapters.append(self._build_electrum())
        self.hub: HubServer | None = None
        self.hub_error: str | None = None
        if settings.hub.enabled:
            self.hub = HubServer.from_settings(self.bus, settings.hub)
            self.hub.metrics.add(self.scheduler.poll_seconds)
            self.hub.metrics.add(self.scheduler.poll_errors)
            self.hub.metrics.add(CircuitCollector(self.adapters))

    @property
    def label(self) -> str:
        if self.mode == "demo":
            return "simulated network"
        assert self.endpoint is not None
        return f"{self.endpoint.network} · {self.endpoint.host}:{self.endpoint.port}"

    @property
    def hub_url(self) -> str | None:
        return self.hub.url if self.hub is not None else None

    def _build_adapter(self) -> Adapter:
        intervals = intervals_of(self.settings)
        if self.mode == "demo":
            return SimulatedNetwork(
                intervals,
                seed=self.settings.demo.seed,
                speed=self.settings.demo.speed,
                currency=self.settings.prices.currency,
                prices=self.prices_off is None,
            )
        if self.endpoint is None:
            raise ValueError("node mode needs an RPC endpoint")
        client = JsonRpcClient(
            self.endpoint.url,
            self.endpoint.user,
            self.endpoint.password,
            timeout=self.settings.node.rpc_timeout,
        )
        node = self.settings.node
        endpoint = self.endpoint
        return CoreRpcAdapter(
            client,
            intervals,
            recent_blocks=node.recent_blocks,
            reorg_depth=node.reorg_depth,
            zmq_enabled=node.zmq,
            zmq_endpoints=(node.zmq_endpoint,) if node.zmq_endpoint else endpoint.zmq_endpoints,
            rpc_host=endpoint.host,
            refresh_credentials=self._credentials,
        )

    def _build_electrum(self) -> Adapter:
        electrum = self.settings.electrum
        texts = electrum.servers or [DEFAULT_SERVER]
        specs = [parse_server(text, electrum.pins) for text in texts]
        return ElectrumAdapter(
            specs,
            intervals_of(self.settings),
            timeout=electrum.timeout,
            ping_interval=electrum.ping_interval,
            proxy=electrum.proxy,
            reorg_depth=self.settings.node.reorg_depth,
            network=self.endpoint.network if self.endpoint else self.settings.node.network,
        )

    def _prices_off(self) -> str | None:
        """Why no price API is asked at all, if so."""
        if not self.settings.prices.enabled:
            return PRICES_DISABLED
        if self.endpoint is not None and self.endpoint.network == "regtest":
            return PRICES_REGTEST
        return None

    def _build_prices(self) -> Adapter:
        prices = self.settings.prices
        return PriceAdapter(
            prices.providers,
            prices.currency,
            intervals_of(self.settings),
            urls=prices.urls,
            proxy=prices.proxy,
            timeout=prices.timeout,
            max_age=prices.max_age,
            requests_per_minute=prices.requests_per_minute,
        )

    def _credentials(self) -> tuple[str | None, str | None]:
        """Discovered anew: a restarted node has written a new cookie."""
        assert self.endpoint is not None
        try:
            fresh = discover_rpc_endpoint(self.settings.node, self.network_explicit)
        except SettingsError as exc:
            log.warning("cannot read the node's credentials again: %s", exc)
            return self.endpoint.user, self.endpoint.password
        return fresh.user, fresh.password

    async def start(self) -> list[str]:
        """Unless `hub_required` (as for `serve`), a hub that cannot bind is
        logged and left out: the dashboard still runs on the local bus.
        Returns what the user should be told of that."""
        if self.hub is not None:
            try:
                await self.hub.start()
            except OSError as exc:
                if self.hub_required:
                    raise
                self.hub_error = f"hub not started on {self.hub.url}: {exc.strerror or exc}"
                log.error("%s", self.hub_error)
                await self.hub.stop()
                self.hub = None
        if self.prices_off is not None:
            # Say so instead of leaving the figures waiting forever.
            prices = SourceInfo(name="prices", state="off", reason=self.prices_off)
            self.bus.publish("price.current", None, prices)
            self.bus.publish("fx.rates", None, prices)
        for adapter in self.adapters:
            self.scheduler.start(adapter.polls(), source=adapter.name)
            await adapter.start(self.scheduler.trigger)
        log.info("runtime started in %s mode (%s)", self.mode, self.label)
        return [self.hub_error] if self.hub_error else []

    async def stop(self) -> None:
        """Stop polling first, then the hub (clients get 1001), then the
        adapters' connections, each with a deadline."""
        await self.scheduler.stop()
        if self.hub is not None:
            await self.hub.stop()
        for adapter in self.adapters:
            try:
                await asyncio.wait_for(adapter.close(), 2.0)
            except Exception:
                log.exception("closing %s failed", adapter.name)
        log.info("runtime stopped")
