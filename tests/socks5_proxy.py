"""A minimal SOCKS5 proxy (no authentication, CONNECT only) on loopback, to
show that Electrum traffic goes through a proxy such as Tor's, with names
resolved by the proxy, not here."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import struct
from collections.abc import AsyncIterator


class Socks5Proxy:
    def __init__(self, routes: dict[str, tuple[str, int]]) -> None:
        self.routes = routes
        """Host name asked for → where it really is."""
        self.asked: list[tuple[str, int]] = []
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            version, count = await reader.readexactly(2)
            await reader.readexactly(count)
            writer.write(b"\x05\x00")
            _, command, _, kind = await reader.readexactly(4)
            if kind == 3:
                host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
            elif kind == 1:
                host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
            else:
                host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
            (port,) = struct.unpack(">H", await reader.readexactly(2))
            self.asked.append((host, port))
            target = self.routes.get(host)
            if version != 5 or command != 1 or target is None:
                writer.write(b"\x05\x04\x00\x01" + bytes(6))  # host unreachable
                return
            up_reader, up_writer = await asyncio.open_connection(*target)
            writer.write(b"\x05\x00\x00\x01" + bytes(6))
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def socks5_proxy(routes: dict[str, tuple[str, int]]) -> AsyncIterator[Socks5Proxy]:
    proxy = Socks5Proxy(routes)
    server = await asyncio.start_server(proxy._serve, "127.0.0.1", 0)
    proxy.port = server.sockets[0].getsockname()[1]
    try:
        yield proxy
    finally:
        server.close()
