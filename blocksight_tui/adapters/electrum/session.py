"""One Electrum protocol session over aiorpcx: connect (TCP, TLS, SOCKS5),
negotiate the version, and hand header notifications to a callback.

A server that sends an oversized or never-ending line, garbage, or nothing
at all loses its session: the framer's size limit bounds memory, a line over
it ends the session instead of being skipped, and every request has a
deadline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from aiorpcx import (
    SOCKS5,
    NewlineFramer,
    Notification,
    RPCError,
    RPCSession,
    SOCKSProxy,
    TaskTimeout,
    connect_rs,
)
from aiorpcx.jsonrpc import ProtocolError

from blocksight_tui import __version__
from blocksight_tui.adapters.electrum.servers import (
    PinMismatch,
    ServerSpec,
    check_pin,
    ssl_context_for,
)
from blocksight_tui.hosts import connection_failure

log = logging.getLogger(__name__)

PROTOCOL_MIN: Final = "1.4"
PROTOCOL_MAX: Final = "1.6"
MAX_LINE_BYTES: Final = 16 * 1024 * 1024
"""Long address histories and verbose transactions fit; a hostile 50 MB line does not."""

NotificationHandler = Callable[[str, Any], None]


class ElectrumFailure(Exception):
    """Anything that ends a session or a request; `str()` is fit for the screen."""


class ServerError(ElectrumFailure):
    """The server answered a request with an error (the session is fine)."""

    def __init__(self, method: str, message: str, code: int | None = None) -> None:
        super().__init__(f"{method}: {message}")
        self.code = code


@dataclass(frozen=True)
class Negotiated:
    server_software: str
    protocol: str

    @property
    def at_least_1_6(self) -> bool:
        return tuple(int(p) for p in self.protocol.split(".")[:2]) >= (1, 6)


class _StrictFramer(NewlineFramer):  # type: ignore[misc]
    """Ends the session on an oversized line instead of skipping it."""

    def __init__(self, max_size: int, on_oversize: Callable[[], None]) -> None:
        super().__init__(max_size=max_size)
        self._on_oversize = on_oversize

    async def receive_message(self) -> bytes:
        try:
            message: bytes = await super().receive_message()
        except MemoryError:
            self._on_oversize()
            raise
        return message


class ElectrumSession(RPCSession):  # type: ignore[misc]
    def __init__(self, *args: Any, on_notification: NotificationHandler, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_notification = on_notification
        self.oversized = False

    def default_framer(self) -> NewlineFramer:
        return _StrictFramer(MAX_LINE_BYTES, self._oversized)

    def _oversized(self) -> None:
        self.oversized = True
        asyncio.ensure_future(self.abort())

    async def handle_request(self, request: Any) -> None:
        if isinstance(request, Notification):
            try:
                self._on_notification(request.method, request.args)
            except Exception:
                log.exception("notification handler failed for %s", request.method)


class Connection:
    """An open, negotiated session and what it said about itself."""

    def __init__(self, spec: ServerSpec, session: ElectrumSession, timeout: float) -> None:
        self.spec = spec
        self.session = session
        self.timeout = timeout
        self.negotiated: Negotiated | None = None
        self.features: dict[str, Any] = {}

    @property
    def closed(self) -> bool:
        return bool(self.session.is_closing())

    async def request(self, method: str, *args: Any) -> Any:
        try:
            return await asyncio.wait_for(self.session.send_request(method, args), self.timeout)
        except RPCError as exc:
            raise ServerError(method, exc.message, exc.code) from exc
        except (TimeoutError, TaskTimeout) as exc:
            raise ElectrumFailure(f"{method}: no answer within {self.timeout:g} s") from exc
        except ProtocolError as exc:
            raise ElectrumFailure(f"{method}: {exc.message}") from exc
        except (OSError, asyncio.CancelledError) as exc:
            # aiorpcx cancels pending requests when the connection is lost;
            # a cancellation of our own task must go on up, untouched.
            task = asyncio.current_task()
            if isinstance(exc, asyncio.CancelledError) and (
                not self.closed or (task is not None and task.cancelling())
            ):
                raise
            reason = "answered with an oversized line" if self.session.oversized else "closed"
            raise ElectrumFailure(f"{self.spec.url} {reason}") from exc
        except Exception as exc:  # aiorpcx's own task timeouts and connection errors
            if self.session.oversized:
                raise ElectrumFailure(f"{self.spec.url} answered with an oversized line") from exc
            raise ElectrumFailure(f"{method}: {type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.session.close(force_after=1), 2)
        except Exception:
            log.debug("closing %s", self.spec.url, exc_info=True)


async def open_connection(
    spec: ServerSpec,
    on_notification: NotificationHandler,
    *,
    timeout: float = 10.0,
    proxy: str | None = None,
) -> Connection:
    """Connect and negotiate; raises ElectrumFailure with the reason."""
    context = ssl_context_for(spec)
    kwargs: dict[str, Any] = {"ssl": context} if context is not None else {}
    if proxy is not None:
        kwargs["proxy"] = SOCKSProxy(proxy, SOCKS5, None)

    def factory(*args: Any, **kw: Any) -> ElectrumSession:
        return ElectrumSession(*args, on_notification=on_notification, **kw)

    try:
        client = connect_rs(spec.host, spec.port, session_factory=factory, **kwargs)
        session: ElectrumSession = await asyncio.wait_for(client.__aenter__(), timeout)
    except TimeoutError as exc:
        raise ElectrumFailure(f"{spec.url}: no connection within {timeout:.0f} s") from exc
    except OSError as exc:
        raise ElectrumFailure(f"{spec.url}: {connection_failure(exc)}") from exc
    except Exception as exc:
        raise ElectrumFailure(f"{spec.url}: {type(exc).__name__}: {exc}") from exc
    session.sent_request_timeout = timeout
    connection = Connection(spec, session, timeout)
    try:
        peer = session.transport._asyncio_transport.get_extra_info("ssl_object")
        check_pin(spec, peer.getpeercert(binary_form=True) if peer is not None else None)
        await _negotiate(connection)
    except (ElectrumFailure, PinMismatch) as exc:
        await connection.close()
        raise ElectrumFailure(str(exc)) from exc
    return connection


async def _negotiate(connection: Connection) -> None:
    client_name = f"blocksight/{__version__}"
    try:
        answer = await connection.request(
            "server.version", client_name, [PROTOCOL_MIN, PROTOCOL_MAX]
        )
    except ServerError as exc:
        raise ElectrumFailure(f"{connection.spec.url}: cannot agree on a protocol ({exc})") from exc
    well_formed = isinstance(answer, list) and len(answer) == 2
    if not (well_formed and all(isinstance(a, str) for a in answer)):
        raise ElectrumFailure(f"{connection.spec.url}: server.version answered {answer!r:.60}")
    connection.negotiated = Negotiated(answer[0], answer[1])
    try:
        features = await connection.request("server.features")
        connection.features = features if isinstance(features, dict) else {}
    except ServerError:
        connection.features = {}
