"""Reading the hub's frames on the client side: validated against the
protocol's models, and lenient where docs/protocol.md asks a client to be.

Within a version the hub may add fields (to frames and to event payloads),
frame kinds and event types: unknown fields are dropped before validation, at
any depth, and an unknown frame or event type is skipped. So a laptop keeps
reading a node box's hub that was upgraded first. Anything else that does not
fit the models is refused with a `BadFrame` that says why, and the link goes on.
"""

from __future__ import annotations

import json
import types
from dataclasses import dataclass
from typing import Annotated, Any, Final, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from blocksight_tui.events import ENVELOPES, EVENT_TYPES, Event, parse_event
from blocksight_tui.hub.protocol import (
    PROTOCOL_VERSION,
    ErrorFrame,
    EventFrame,
    HelloFrame,
    PongFrame,
    SnapshotFrame,
)

ServerFrame = HelloFrame | SnapshotFrame | EventFrame | ErrorFrame | PongFrame


class BadFrame(ValueError):
    """A frame the models refuse; `str()` is one line."""


class ProtocolMismatch(Exception):
    """The hub speaks another major version of the protocol."""

    def __init__(self, version: object) -> None:
        super().__init__(f"hub speaks protocol {version} (this client speaks {PROTOCOL_VERSION})")
        self.version = version


@dataclass(frozen=True)
class Skipped:
    """A frame of a kind this client does not know: ignored, as the protocol asks."""

    kind: str


_MODELS: Final[dict[str, type[BaseModel]]] = {
    "hello": HelloFrame,
    "event": EventFrame,
    "error": ErrorFrame,
    "pong": PongFrame,
}


def read_frame(raw: str | bytes) -> ServerFrame | Skipped:
    """One server frame, or `Skipped`; raises BadFrame or ProtocolMismatch."""
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise BadFrame(f"not JSON: {exc}") from None
    if not isinstance(value, dict) or not isinstance(value.get("frame"), str):
        raise BadFrame("not a frame: no `frame` name")
    kind = value["frame"]
    if kind == "hello":
        # Before the rest of the hello: a newer hello may not fit these models.
        if value.get("protocol") != PROTOCOL_VERSION:
            raise ProtocolMismatch(value.get("protocol", "unknown"))
        types = value.get("types")
        if isinstance(types, list):
            value["types"] = [t for t in types if t in EVENT_TYPES]
    elif kind == "event":
        event = value.get("event")
        if isinstance(event, dict):
            if event.get("type") not in EVENT_TYPES:
                return Skipped(f"event {event.get('type')!r}")
            value["event"] = known_fields(ENVELOPES[event["type"]], event)
    elif kind == "snapshot":
        return _snapshot(value)
    model = _MODELS.get(kind)
    if model is None:
        return Skipped(kind)
    return _validate(model, value)  # type: ignore[return-value]


def _snapshot(value: dict[str, Any]) -> SnapshotFrame:
    """Each event on its own: one the models refuse fails the whole snapshot
    (a half state would look whole), an unknown type is left out."""
    events = value.get("events")
    if not isinstance(events, list):
        raise BadFrame("snapshot: `events` is not a list")
    parsed: list[Event] = []
    for i, raw in enumerate(events):
        if not isinstance(raw, dict):
            raise BadFrame(f"snapshot: events.{i}: not an object")
        if raw.get("type") not in EVENT_TYPES:
            continue
        try:
            parsed.append(parse_event(known_fields(ENVELOPES[raw["type"]], raw)))
        except ValidationError as exc:
            raise BadFrame(f"snapshot: events.{i}: {_first_error(exc)}") from None
    return _validate(SnapshotFrame, {**value, "events": parsed})  # type: ignore[return-value]


def known_fields(annotation: Any, value: Any) -> Any:
    """`value` without the keys the models under `annotation` do not know,
    at any depth: through optional fields, tuples, lists and dicts of models."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if not isinstance(value, dict):
            return value
        fields = annotation.model_fields
        return {k: known_fields(fields[k].annotation, v) for k, v in value.items() if k in fields}
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return known_fields(args[0], value)
    if origin in (Union, types.UnionType):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        return known_fields(models[0], value) if len(models) == 1 else value
    if origin in (tuple, list) and isinstance(value, list):
        if origin is list or (len(args) == 2 and args[1] is Ellipsis):
            return [known_fields(args[0], item) for item in value]
        return value
    if origin is dict and isinstance(value, dict) and len(args) == 2:
        return {k: known_fields(args[1], v) for k, v in value.items()}
    return value


def _validate(model: type[BaseModel], value: dict[str, Any]) -> BaseModel:
    known = {k: v for k, v in value.items() if k in model.model_fields}
    try:
        return model.model_validate(known)
    except ValidationError as exc:
        raise BadFrame(f"{value.get('frame')}: {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "frame"
    return f"{where}: {first['msg']}"
