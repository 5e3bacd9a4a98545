"""A run's status as people see it: the stored one, or 'lost' when a running worker stopped beating.

The worker beats the run's heartbeat every few seconds (``core.runs.worker.heartbeat``); a run
marked running whose heartbeat is older than ``LOST_AFTER_SECONDS`` has lost its worker.
"""
from __future__ import annotations

import time

from core.store import RunStatus

LOST_AFTER_SECONDS = 60.0


def display_status(run: dict, now: float | None = None, lost_after: float = LOST_AFTER_SECONDS) -> str:
    """The status to show: 'lost' for a running run whose heartbeat is stale."""
    status = RunStatus(run["status"])
    beat = run.get("heartbeat_at") or run.get("updated_at") or 0
    if status is RunStatus.RUNNING and (now or time.time()) - float(beat) > lost_after:
        return "lost"
    return status.value
