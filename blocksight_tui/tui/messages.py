"""Messages the app posts to itself.

Plugin states can change many times a frame (a burst of events on start-up or
after a reconnect). The listener only records the newest state per plugin and
posts ``StatesChanged``; queued copies of it collapse into one (``can_replace``),
and its handler applies whatever is pending, so widgets see only the latest.
"""

from __future__ import annotations

from textual.message import Message


class StatesChanged(Message):
    """Some plugin states are pending; the app pushes them down to its widgets."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StatesChanged)
