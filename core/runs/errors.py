"""Exceptions of the run machinery, importable without torch or transformers (the dashboard does)."""


class RunCancelled(Exception):
    """The run's cancel flag was set; the worker stops at the next safe point."""
