"""The hub's wire protocol: the frames the server sends, the messages a client
may send, and their JSON Schema.

The models are the contract; the server still builds the hot frames (`event`,
`snapshot`) as strings so that an event is serialized once for every client,
and a test checks those strings against the schema made from these models.

`docs/frames.schema.json` is generated from this module
(`python -m blocksight_tui.hub.protocol > docs/frames.schema.json`); a test
fails when the file and the models disagree.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final, Literal, TypeAlias

from pydantic import Field, TypeAdapter, ValidationError

from blocksight_tui.events import EVENT_TYPES, Event, EventType, Frozen, NonNegInt

PROTOCOL_VERSION: Final = 1
SCHEMA_ID: Final = "https://blocksight.invalid/schema/frames.schema.json"

Pattern: TypeAlias = Annotated[
    str,
    Field(
        pattern=r"^(\*|[a-z]+(\.[a-z]+)*(\.\*)?)$",
        max_length=64,
        description="An event type (`tip.height`), a prefix pattern (`price.*`) or `*`.",
    ),
]

ErrorCode: TypeAlias = Literal["bad_json", "bad_message", "unknown_type", "rate_limited"]
"""bad_json: not a JSON text frame. bad_message: JSON, but no message the
protocol knows. unknown_type: a type or pattern that matches no event type.
rate_limited: more messages than the hub's per-client rate; the message was
not read. Too many errors in a row close the connection with 1008."""


# ---------------------------------------------------------------- server frames


class HelloFrame(Frozen):
    frame: Literal["hello"] = "hello"
    protocol: int = Field(description="Protocol version; see docs/protocol.md for the rules.")
    server: str = Field(description="Server name and version, e.g. blocksight/0.1.0.")
    time: float = Field(description="Server time, Unix seconds.")
    stream: str = Field(
        description="Identifies this run of the hub; sequence numbers restart with a new one."
    )
    types: tuple[EventType, ...] = Field(description="Event types on offer.")


class SnapshotFrame(Frozen):
    frame: Literal["snapshot"] = "snapshot"
    last_seq: NonNegInt = Field(description="Sequence number of the newest event in `events`.")
    fresh: bool = Field(
        default=False,
        description="True when sent instead of a resume whose gap is older than the history.",
    )
    events: tuple[Event, ...] = Field(
        description="The latest event of each subscribed type from each source, oldest first."
    )


class EventFrame(Frozen):
    frame: Literal["event"] = "event"
    event: Event


class ErrorFrame(Frozen):
    frame: Literal["error"] = "error"
    code: ErrorCode
    message: str


class PongFrame(Frozen):
    frame: Literal["pong"] = "pong"
    time: float = Field(description="Server time, Unix seconds.")


ServerFrame: TypeAlias = Annotated[
    HelloFrame | SnapshotFrame | EventFrame | ErrorFrame | PongFrame,
    Field(discriminator="frame"),
]


# ---------------------------------------------------------------- client messages


class Subscribe(Frozen):
    """Narrow the stream to these types. A client that never subscribes gets
    every type; the first subscribe replaces that with the types given, later
    ones add to them."""

    op: Literal["subscribe"]
    types: Annotated[tuple[Pattern, ...], Field(min_length=1, max_length=64)]


class Unsubscribe(Frozen):
    op: Literal["unsubscribe"]
    types: Annotated[tuple[Pattern, ...], Field(min_length=1, max_length=64)]


class SnapshotRequest(Frozen):
    op: Literal["snapshot"]


class Ping(Frozen):
    op: Literal["ping"]


class Resume(Frozen):
    """Ask for the events missed since `last_seq`, the last sequence number seen
    on a previous connection (of the hub run named by `stream`, if given)."""

    op: Literal["resume"]
    last_seq: NonNegInt
    stream: str | None = None


ClientMessage: TypeAlias = Annotated[
    Subscribe | Unsubscribe | SnapshotRequest | Ping | Resume,
    Field(discriminator="op"),
]

SERVER_FRAME_ADAPTER: Final[TypeAdapter[ServerFrame]] = TypeAdapter(ServerFrame)
CLIENT_MESSAGE_ADAPTER: Final[TypeAdapter[ClientMessage]] = TypeAdapter(ClientMessage)


class ProtocolError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message


def parse_client_message(raw: str) -> ClientMessage:
    """Validate one text frame from a client, or raise ProtocolError."""
    try:
        # Parsed and validated in one pass. Strict: "5" is not a sequence
        # number, nor 5.0; a typo is refused, not read as something the
        # client did not write.
        return CLIENT_MESSAGE_ADAPTER.validate_json(raw, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            why = first["msg"].removeprefix("Invalid JSON: ")
            raise ProtocolError("bad_json", f"not JSON: {why}") from None
        where = ".".join(str(p) for p in first["loc"]) or "message"
        # The models hold tuples; the client sent JSON arrays.
        message = first["msg"].replace("tuple", "array").replace("Tuple", "Array")
        raise ProtocolError("bad_message", f"{where}: {message}") from None


def expand(patterns: tuple[str, ...]) -> frozenset[EventType]:
    """The event types the patterns name; a pattern that names none is an error."""
    found: set[EventType] = set()
    for pattern in patterns:
        if pattern == "*":
            matched = set(EVENT_TYPES)
        elif pattern.endswith(".*"):
            prefix = pattern[:-1]
            matched = {t for t in EVENT_TYPES if t.startswith(prefix)}
        else:
            matched = {t for t in EVENT_TYPES if t == pattern}
        if not matched:
            raise ProtocolError("unknown_type", f"{pattern!r} matches no event type")
        found |= matched
    return frozenset(found)


# ---------------------------------------------------------------- frames out


def hello_frame(server: str, now: float, stream: str) -> str:
    return HelloFrame(
        protocol=PROTOCOL_VERSION, server=server, time=now, stream=stream, types=EVENT_TYPES
    ).model_dump_json()


def event_frame(event: Event) -> str:
    return '{"frame":"event","event":' + event.model_dump_json() + "}"


def snapshot_frame(events: list[Event], *, fresh: bool = False) -> str:
    body = ",".join(e.model_dump_json() for e in events)
    last_seq = events[-1].seq if events else 0
    flag = "true" if fresh else "false"
    return f'{{"frame":"snapshot","last_seq":{last_seq},"fresh":{flag},"events":[{body}]}}'


def error_frame(code: ErrorCode, message: str) -> str:
    return ErrorFrame(code=code, message=message).model_dump_json()


def pong_frame(now: float) -> str:
    return PongFrame(time=now).model_dump_json()


# ---------------------------------------------------------------- schema


def frames_json_schema() -> dict[str, Any]:
    server = SERVER_FRAME_ADAPTER.json_schema(ref_template="#/$defs/{model}")
    client = CLIENT_MESSAGE_ADAPTER.json_schema(ref_template="#/$defs/{model}")
    defs = {**server.pop("$defs"), **client.pop("$defs")}
    defs["ServerFrame"] = server
    defs["ClientMessage"] = client
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "BlockSight hub frame",
        "description": (
            "A WebSocket text frame of the hub protocol: a server frame (`frame` "
            "names it) or a client message (`op` names it). Validate against "
            "#/$defs/ServerFrame or #/$defs/ClientMessage to check one direction."
        ),
        "oneOf": [{"$ref": "#/$defs/ServerFrame"}, {"$ref": "#/$defs/ClientMessage"}],
        "$defs": defs,
    }


def render_schema() -> str:
    return json.dumps(frames_json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render_schema(), end="")
