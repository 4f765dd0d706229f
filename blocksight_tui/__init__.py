"""BlockSight TUI: a live, read-only monitor of a Bitcoin node."""

__version__ = "0.1.0"
