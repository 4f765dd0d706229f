"""Runs each poll of each adapter on its own interval and publishes the results.

The next poll is scheduled when the current one finishes, so a slow node never
gets overlapping calls of the same kind; polls of different kinds are separate
tasks, so one slow call never delays another kind, nor another source.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

from prometheus_client import Counter, Histogram

from blocksight_tui.adapters.base import Poll
from blocksight_tui.hub.bus import EventBus

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._tasks: list[asyncio.Task[None]] = []
        self._wakeups: dict[str, asyncio.Event] = {}
        self._sources: dict[str, str] = {}
        # Kept here, registered by whoever serves /metrics (registry=None):
        # two schedulers in one process (tests) never clash.
        self.poll_seconds = Histogram(
            "blocksight_poll_duration_seconds",
            "Time one poll of a source took, from call to publications.",
            ("source", "poll"),
            registry=None,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
        )
        self.poll_errors = Counter(
            "blocksight_poll_errors",
            "Polls that failed: a source said stale or unavailable, or the poll raised.",
            ("source", "poll"),
            registry=None,
        )

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    def start(self, polls: Iterable[Poll], source: str = "") -> None:
        for poll in polls:
            self._wakeups[poll.name] = asyncio.Event()
            self._sources[poll.name] = source
            # Listed at 0 from the start, so a rate() has a baseline.
            self.poll_errors.labels(source, poll.name)
            task = asyncio.create_task(self._loop(poll), name=f"poll:{poll.name}")
            self._tasks.append(task)

    def trigger(self, *names: str) -> None:
        """Run these polls now instead of at their next interval (a pushed
        block, a node that came back). Unknown names are ignored; a poll
        that is running already runs once more right after."""
        for name in names or tuple(self._wakeups):
            wakeup = self._wakeups.get(name)
            if wakeup is not None:
                wakeup.set()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _loop(self, poll: Poll) -> None:
        wakeup = self._wakeups[poll.name]
        task = asyncio.current_task()
        while True:
            wakeup.clear()
            await self.run_once(poll)
            # Python 3.11's wait_for returns a result that races a cancel and
            # drops the cancel; a stop must always end this loop.
            if task is not None and task.cancelling():
                raise asyncio.CancelledError
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll.interval):
                    await wakeup.wait()

    async def run_once(self, poll: Poll) -> None:
        labels = (self._sources.get(poll.name, ""), poll.name)
        started = time.perf_counter()
        try:
            publications = await poll.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            # An adapter reports its failures as source states; reaching here
            # is a bug in it, which must not end the loop of this poll.
            log.exception("poll %s failed", poll.name)
            self.poll_errors.labels(*labels).inc()
            return
        finally:
            self.poll_seconds.labels(*labels).observe(time.perf_counter() - started)
        if any(pub.source.state != "ok" for pub in publications):
            self.poll_errors.labels(*labels).inc()
        for pub in publications:
            self._bus.publish(pub.type, pub.data, pub.source)
