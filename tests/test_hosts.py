"""Host names: what counts as loopback, and short reasons for failed connections."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from pathlib import Path

import pytest

from blocksight_tui.hosts import connection_failure, is_loopback
from tests.electrumx_server import make_certificate
from tests.node_daemon import free_port


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("192.168.1.20", False),
        ("node.lan", False),
        ("localhost.evil.example", False),
    ],
)
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


async def test_a_refused_connection_is_two_words_without_the_address() -> None:
    port = free_port()
    with pytest.raises(OSError) as caught:
        await asyncio.open_connection("127.0.0.1", port)
    assert connection_failure(caught.value) == "connection refused"


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "host name not found"),
        (
            socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
            "temporary failure in name resolution",
        ),
        (OSError(errno.EHOSTUNREACH, "whatever"), "no route to host"),
        (OSError(errno.ENETUNREACH, "whatever"), "network is unreachable"),
        (
            OSError(
                "Multiple exceptions: [Errno 111] Connect call failed ('::1', 8332), "
                "[Errno 111] Connect call failed ('127.0.0.1', 8332)"
            ),
            "connection refused",
        ),
        (OSError("Multiple exceptions: [Errno 113] a, [Errno 101] b"), "cannot connect"),
        (OSError(), "OSError"),
        (ssl.SSLCertVerificationError(1, "verify failed"), "certificate verify failed"),
        (ssl.SSLError(1, "wrong version number"), "TLS: wrong version number"),
    ],
)
def test_reasons(exc: OSError, reason: str) -> None:
    assert connection_failure(exc) == reason


async def test_a_certificate_that_does_not_verify_says_why(tmp_path: Path) -> None:
    """A real handshake against a server whose certificate no one signed."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(*make_certificate(tmp_path))
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(ssl.SSLError) as caught:
            await asyncio.open_connection("127.0.0.1", port, ssl=ssl.create_default_context())
    finally:
        server.close()
    assert connection_failure(caught.value).startswith("certificate verify failed: ")
