"""Which Electrum servers, how to reach them, and how far to trust them."""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from blocksight_tui.hosts import is_loopback

DEFAULT_SERVER = "tcp://localhost:50001"


@dataclass(frozen=True)
class ServerSpec:
    scheme: Literal["tcp", "ssl"]
    host: str
    port: int
    pin: str | None = None
    """sha256 fingerprint of the server's certificate (hex, colons allowed):
    the only way a self-signed certificate is accepted."""

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def is_onion(self) -> bool:
        return self.host.endswith(".onion")

    @property
    def is_local(self) -> bool:
        return is_loopback(self.host)


def parse_server(text: str, pins: dict[str, str] | None = None) -> ServerSpec:
    """`tcp://host:port` or `ssl://host:port`; raises ValueError naming the problem."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("tcp", "ssl"):
        raise ValueError(f"{text!r}: the scheme must be tcp:// or ssl://")
    if not parts.hostname or parts.port is None:
        raise ValueError(f"{text!r}: expected tcp://host:port or ssl://host:port")
    spec = ServerSpec(parts.scheme, parts.hostname, parts.port)  # type: ignore[arg-type]
    pin = (pins or {}).get(spec.url) or (pins or {}).get(f"{spec.host}:{spec.port}")
    if pin is not None:
        pin = normalise_fingerprint(pin)
    return ServerSpec(spec.scheme, spec.host, spec.port, pin)


def normalise_fingerprint(text: str) -> str:
    """A sha256 fingerprint (hex, colons allowed), or the path of the
    server's PEM certificate, whose fingerprint is taken."""
    path = Path(text).expanduser()
    if "/" in text and path.is_file():
        try:
            der = ssl.PEM_cert_to_DER_cert(path.read_text(encoding="ascii"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"{text} is not a PEM certificate") from exc
        return certificate_fingerprint(der)
    digits = text.replace(":", "").strip().lower()
    if len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits):
        raise ValueError(f"{text!r} is neither a sha256 fingerprint nor a certificate file")
    return digits


def ssl_context_for(spec: ServerSpec) -> ssl.SSLContext | None:
    """Verified TLS by default; a pinned server is checked by fingerprint
    after the handshake instead (see `check_pin`)."""
    if spec.scheme != "ssl":
        return None
    if spec.pin is None:
        return ssl.create_default_context()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def certificate_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


class PinMismatch(Exception):
    pass


def check_pin(spec: ServerSpec, peer_der: bytes | None) -> None:
    if spec.pin is None:
        return
    if peer_der is None:
        raise PinMismatch(f"{spec.url} showed no certificate")
    found = certificate_fingerprint(peer_der)
    if found != spec.pin:
        raise PinMismatch(f"{spec.url}: certificate sha256 {found} is not the pinned one")
