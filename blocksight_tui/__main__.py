"""The command line: `blocksight` (the TUI with the hub inside),
`blocksight serve` (the hub alone, headless, for node boxes and services) and
`blocksight attach URL` (the TUI on a remote hub's events)."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from blocksight_tui.cli import Invocation, parse_command_line
from blocksight_tui.node_discovery import discover_rpc_endpoint
from blocksight_tui.orchestrator.main import MainOrchestrator
from blocksight_tui.remote.link import HubLink
from blocksight_tui.runtime import NoNodeError, Runtime, choose_mode
from blocksight_tui.settings import Settings, SettingsError, default_log_file

log = logging.getLogger("blocksight")


def setup_logging(settings: Settings, to_stderr: bool) -> None:
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler: logging.Handler
    if to_stderr:
        handler = logging.StreamHandler(sys.stderr)
    else:
        # The terminal belongs to the TUI: logs go to a file.
        path = settings.log.file or default_log_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log.level.upper())
    # aiohttp logs every request at INFO; keep the log about the node.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def fail(message: str, status: int) -> None:
    print(f"blocksight: {message}", file=sys.stderr)
    raise SystemExit(status)


def build_runtime(invocation: Invocation) -> Runtime:
    settings = invocation.settings
    try:
        endpoint = discover_rpc_endpoint(settings.node, invocation.network_explicit)
    except SettingsError as exc:
        fail(str(exc), 2)
    try:
        mode = choose_mode(settings, endpoint)
    except NoNodeError as exc:
        fail(str(exc), 1)
    # The hub is the point of `serve`; in the TUI it is a bonus that may fail.
    return Runtime(
        settings,
        mode,
        endpoint if mode == "node" else None,
        hub_required=invocation.command == "serve",
        network_explicit=invocation.network_explicit,
    )


async def serve(runtime: Runtime) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # SIGHUP too: `serve` started in an SSH session that then drops still
    # says goodbye to its clients (nohup or a service manager keep it running).
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    print(f"blocksight: serving {runtime.label} on {runtime.hub_url}", file=sys.stderr)
    await stop.wait()
    log.info("shutting down")
    await runtime.stop()


def build_attach(invocation: Invocation) -> tuple[MainOrchestrator, HubLink]:
    """The orchestrator fed by the remote hub alone: no adapter, no local
    hub, no node discovery (the local bitcoin.conf is never read)."""
    assert invocation.hub is not None
    orchestrator = MainOrchestrator.standard(mode="attach", label=invocation.hub.label)
    return orchestrator, HubLink(invocation.hub, orchestrator, token=invocation.token)


def run_attach(invocation: Invocation) -> None:
    from blocksight_tui.tui.app import run_app

    orchestrator, link = build_attach(invocation)
    run_app(orchestrator, link)


class LocalFeed:
    """The runtime as the TUI's feed: once started, the orchestrator learns
    whether the hub is there (it may not bind while the rest runs)."""

    def __init__(self, runtime: Runtime, orchestrator: MainOrchestrator) -> None:
        self.runtime = runtime
        self._orchestrator = orchestrator
        runtime.bus.subscribe(orchestrator.handle)

    async def start(self) -> list[str]:
        notices = await self.runtime.start()
        self._orchestrator.set_hub_url(self.runtime.hub_url)
        return notices

    async def stop(self) -> None:
        await self.runtime.stop()


def run_tui(runtime: Runtime) -> None:
    from blocksight_tui.tui.app import run_app

    orchestrator = MainOrchestrator.standard(
        mode=runtime.mode,
        label=runtime.label,
        hub_url=runtime.hub_url,
        electrum_configured=bool(runtime.settings.electrum.servers),
    )
    run_app(orchestrator, LocalFeed(runtime, orchestrator))


def main(argv: list[str] | None = None) -> None:
    invocation = parse_command_line(argv)
    setup_logging(invocation.settings, to_stderr=invocation.command == "serve")
    if invocation.command == "attach":
        run_attach(invocation)
        return
    if invocation.command == "serve" and not invocation.settings.hub.enabled:
        # Said before the node is looked for: nothing else would come of it.
        fail("serve is the hub: drop --no-hub, or hub.enabled = false from the settings", 2)
    runtime = build_runtime(invocation)
    if invocation.command == "serve":
        try:
            asyncio.run(serve(runtime))
        except OSError as exc:
            fail(f"cannot start the hub on {runtime.hub_url}: {exc.strerror or exc}", 1)
        return
    run_tui(runtime)


if __name__ == "__main__":
    main()
