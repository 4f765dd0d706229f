"""Whether a host name or address stays on this machine."""

from __future__ import annotations

import ipaddress
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
