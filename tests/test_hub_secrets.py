"""Nothing the hub sends ever holds a secret from the settings.

A whole runtime (node adapter against a local node that fails in every way
it can, an Electrum server that is not there, price APIs that misbehave)
runs behind a token; one client records every frame, and every HTTP answer
is fetched with and without the token. None of them may contain the RPC
password, its Basic-auth form, or the hub's token.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from blocksight_tui.node_discovery import discover_rpc_endpoint
from blocksight_tui.runtime import Runtime
from blocksight_tui.settings import Settings
from tests.fake_core import FakeCore
from tests.fake_price_apis import fake_price_apis
from tests.node_daemon import free_port

RPC_PASSWORD = "rpc-secret-Zq8Kx2"
TOKEN = "hub-secret-token-Wm4Rt7Yp"


def secrets() -> list[str]:
    basic = base64.b64encode(f"user:{RPC_PASSWORD}".encode()).decode()
    return [RPC_PASSWORD, basic, TOKEN]


def assert_clean(where: str, text: str) -> None:
    for secret in secrets():
        assert secret not in text, f"{where} holds a secret"


async def test_no_frame_nor_http_answer_holds_a_secret(tmp_path: Path) -> None:
    core = FakeCore()
    core.password = RPC_PASSWORD
    await core.start()
    async with fake_price_apis() as apis:
        apis.mode = {"kraken": "500", "bitstamp": "malformed"}
        settings = Settings(
            node={
                "rpc_host": "127.0.0.1",
                "rpc_port": core.port,
                "rpc_user": "user",
                "rpc_password": RPC_PASSWORD,
                "datadir": tmp_path,
                "zmq": False,
            },
            hub={"port": 0, "token": TOKEN},
            electrum={"servers": [f"tcp://127.0.0.1:{free_port()}"]},
            prices={
                "providers": ["mempool", "coinbase", "kraken", "bitstamp"],
                "urls": dict.fromkeys(["mempool", "coinbase", "kraken", "bitstamp"], apis.url),
            },
            intervals={k: 0.2 for k in ("tip", "fees", "mempool", "blockchain",
                                         "network", "mining", "price", "fx")},
        )
        runtime = Runtime(settings, "node", discover_rpc_endpoint(settings.node))
        await runtime.start()
        assert runtime.hub is not None
        base = f"http://127.0.0.1:{runtime.hub.bound_port}"
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        answers: list[tuple[str, str]] = []
        try:
            async with aiohttp.ClientSession() as session:
                ws = await session.ws_connect(f"{base}/ws", headers=bearer)
                frames: list[str] = []

                async def read() -> None:
                    async for msg in ws:
                        frames.append(msg.data)

                reader = asyncio.create_task(read())
                # The node in each of its failures, then back.
                for mode in ("ok", "auth", "garbage", "warmup", "ok"):
                    core.mode = mode
                    await asyncio.sleep(0.6)
                    await ws.send_str('{"op":"snapshot"}')
                await ws.send_str(json.dumps({"op": "subscribe", "types": [TOKEN]}))
                await ws.send_str(TOKEN)  # echoed back in no error frame either
                await ws.send_str('{"op":"resume","last_seq":1}')
                for path in ("/healthz", "/api/snapshot", "/api/schema", "/metrics", "/ws"):
                    for headers in ({}, bearer, {"Authorization": f"Basic {secrets()[1]}"}):
                        async with session.get(base + path, headers=headers) as response:
                            head = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
                            answers.append((f"GET {path}", head + "\n" + await response.text()))
                async with session.get(f"{base}/metrics?token={TOKEN}") as response:
                    metrics = await response.text()
                await asyncio.sleep(0.3)
                await ws.close()
                await reader
        finally:
            await runtime.stop()
            await core.stop()
    # The scan saw the failures it was meant to see.
    everything = "\n".join(frames)
    assert '"state":"stale"' in everything or '"state":"unavailable"' in everything
    assert '"frame":"error"' in everything and len(frames) > 20
    for frame in frames:
        assert_clean("a frame", frame)
    for where, text in answers:
        assert_clean(where, text)
    families = {f.name for f in text_string_to_metric_families(metrics)}
    assert_clean("/metrics", metrics)
    assert "blocksight_circuit_state" in families
