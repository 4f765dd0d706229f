"""Privacy: with prices off, not one connection nor DNS lookup; with a proxy,
every request goes through it, names resolved by the proxy."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from blocksight_tui.adapters.prices.adapter import PriceAdapter
from blocksight_tui.node_discovery import RpcEndpoint
from blocksight_tui.runtime import PRICES_DISABLED, PRICES_REGTEST, Runtime
from blocksight_tui.settings import Settings
from tests.fake_price_apis import fake_price_apis
from tests.socks5_proxy import socks5_proxy

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class NetworkSpy:
    """Records every name lookup and connection attempt of the process."""

    @staticmethod
    def _local_only(host: str) -> None:
        if host not in LOOPBACK and host != "None":
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: not looked up by the tests")

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.hosts: list[str] = []
        real_getaddrinfo = socket.getaddrinfo
        real_connect = socket.socket.connect
        real_loop_getaddrinfo = asyncio.BaseEventLoop.getaddrinfo

        # Recorded, and kept on this machine: a name or address beyond the
        # loopback is refused here instead of being looked up for real.
        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            self.hosts.append(str(host))
            self._local_only(str(host))
            return real_getaddrinfo(host, *args, **kwargs)

        async def loop_getaddrinfo(loop: Any, host: Any, *args: Any, **kwargs: Any) -> Any:
            self.hosts.append(str(host))
            self._local_only(str(host))
            return await real_loop_getaddrinfo(loop, host, *args, **kwargs)

        def connect(sock: socket.socket, address: Any) -> Any:
            host = str(address[0]) if isinstance(address, tuple) else str(address)
            self.hosts.append(host)
            if isinstance(address, tuple):
                self._local_only(host)
            return real_connect(sock, address)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", loop_getaddrinfo)
        monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.mark.parametrize("enabled", [False, True])
async def test_no_price_opens_no_connection(monkeypatch: pytest.MonkeyPatch, enabled: bool) -> None:
    """With prices on, the same spy sees the lookup: it would see one with them off."""
    spy = NetworkSpy(monkeypatch)
    settings = Settings(
        prices={
            "enabled": enabled,
            "providers": ["mempool"],
            "urls": {"mempool": "http://prices.invalid"},
        },
        electrum={"enabled": False},
        hub={"enabled": False},
        node={"zmq": False},
    )
    # A node that is not there: the core adapter only tries loopback.
    endpoint = RpcEndpoint("main", "127.0.0.1", 9, "u", "p", "test", Path("/nonexistent"))
    runtime = Runtime(settings, "node", endpoint)
    assert any(isinstance(a, PriceAdapter) for a in runtime.adapters) == enabled
    await runtime.start()
    await asyncio.sleep(0.3)
    await runtime.stop()
    if enabled:
        assert "prices.invalid" in spy.hosts
        return
    for event_type in ("price.current", "fx.rates"):
        event = runtime.bus.latest_of(event_type, "prices")
        assert event is not None and event.data is None
        assert event.source.state == "off" and event.source.reason == PRICES_DISABLED
    # The spy saw the core adapter knock on the loopback, and nothing else.
    assert spy.hosts and set(spy.hosts) <= LOOPBACK


async def test_an_unpolled_adapter_opens_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = NetworkSpy(monkeypatch)
    adapter = PriceAdapter(["mempool"], "USD", {"price": 45.0, "fx": 3600.0})
    await adapter.start(lambda *names: None)
    await adapter.close()
    assert adapter._session is None and spy.hosts == []


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
async def test_every_request_goes_through_the_socks5_proxy(
    monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    name = "prices.example"
    async with fake_price_apis() as apis:
        port = int(apis.url.rsplit(":", 1)[1])
        async with socks5_proxy({name: ("127.0.0.1", port)}) as proxy:
            spy = NetworkSpy(monkeypatch)
            providers = ["mempool", "coinbase", "kraken", "bitstamp"]
            adapter = PriceAdapter(
                providers,
                "USD",
                {"price": 45.0, "fx": 3600.0},
                urls=dict.fromkeys(providers, f"http://{name}:{port}"),
                proxy=f"{scheme}://127.0.0.1:{proxy.port}",
                requests_per_minute=600.0,
            )
            try:
                [pub] = await adapter.poll_price()
                [fx] = await adapter.poll_fx()
            finally:
                await adapter.close()
    assert pub.source.state == "ok" and pub.data is not None
    assert fx.source.state == "ok"
    assert set(proxy.asked) == {(name, port)}
    assert len(proxy.asked) >= 1
    # The name went to the proxy as a name: nothing was resolved here.
    assert name not in spy.hosts
    assert set(spy.hosts) <= LOOPBACK


def test_regtest_asks_no_price_api() -> None:
    settings = Settings(electrum={"enabled": False}, hub={"enabled": False})
    endpoint = RpcEndpoint("regtest", "127.0.0.1", 9, "u", "p", "test", Path("/nonexistent"))
    runtime = Runtime(settings, "node", endpoint)
    assert not any(isinstance(a, PriceAdapter) for a in runtime.adapters)
    assert runtime.prices_off == PRICES_REGTEST


async def test_a_proxy_that_cannot_reach_the_provider(caplog: pytest.LogCaptureFixture) -> None:
    async with socks5_proxy({}) as proxy:
        adapter = PriceAdapter(
            ["mempool"],
            "USD",
            {"price": 45.0, "fx": 3600.0},
            proxy=f"socks5://127.0.0.1:{proxy.port}",
        )
        try:
            [pub] = await adapter.poll_price()
        finally:
            await adapter.close()
    assert proxy.asked == [("mempool.space", 443)]
    assert pub.data is None and pub.source.state == "unavailable"
    assert "proxy refused" in caplog.text
