"""Exceptions of the run machinery, importable without torch or transformers (the dashboard does)."""


class RunCancelled(Exception):
    """The run's cancel flag was set; the worker stops at the next safe point."""


class GateFailed(Exception):
    """The judge's agreement with people was below the run's gate (``gate.action: stop``); the
    message gives the measured agreement, its CI, the threshold and the source."""

    @property
    def run_fields(self) -> dict:
        """What the failed run's row says: the message is the reason, in full, with no class name."""
        return {"error": str(self), "message": "stopped by the judge gate"}
