"""Hosts: whether one stays on this machine, and why one could not be reached."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import ssl
from typing import Final

LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost."})


def is_loopback(host: str) -> bool:
    """`localhost`, or an address in 127.0.0.0/8 or ::1 (brackets allowed).
    Any other name is not trusted to stay loopback: it may resolve elsewhere."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def connection_failure(exc: OSError) -> str:
    """A short reason a connection failed, e.g. "connection refused".

    asyncio's own texts ("Connect call failed ('127.0.0.1', 8332)", or a list
    of them, one per address tried) repeat the address and wrap badly in a
    narrow panel; the errno says the same in two words."""
    # ssl's errors are OSErrors whose errno is the library's, not the system's.
    if isinstance(exc, ssl.SSLCertVerificationError):
        why = getattr(exc, "verify_message", None)
        return f"certificate verify failed: {why}" if why else "certificate verify failed"
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None)  # e.g. WRONG_VERSION_NUMBER
        if reason:
            return f"TLS: {reason.lower().replace('_', ' ')}"
        return f"TLS: {exc.strerror or exc}"
    if isinstance(exc, socket.gaierror):
        if exc.errno == socket.EAI_NONAME:
            return "host name not found"
        return (exc.strerror or "host name not resolved").lower()
    if exc.errno == errno.ECONNREFUSED or isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if exc.errno:
        return os.strerror(exc.errno).lower()
    text = str(exc)
    if f"[Errno {errno.ECONNREFUSED}]" in text:
        return "connection refused"
    if text.startswith("Multiple exceptions:"):
        return "cannot connect"
    return text.splitlines()[0][:120] if text else type(exc).__name__
