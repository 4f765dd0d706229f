"""The other end of the hub: a client that feeds a remote hub's events into
the same orchestrator the local adapters feed (`blocksight attach`). Nothing
here imports Textual."""
