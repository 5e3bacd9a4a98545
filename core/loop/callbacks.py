"""How training stages report: a TrainerCallback writes every logged metric to the store.

It also beats the run's heartbeat and honours the cancel flag, so a run launched from the
dashboard can be watched and stopped while TRL trains.
"""
from __future__ import annotations

from collections.abc import Callable

from transformers import TrainerCallback

from core.store import Store


class StoreCallback(TrainerCallback):
    """Writes ``logs`` of every ``on_log`` as metrics rows (run, round, stage, step, key, value)."""

    def __init__(self, store: Store, run_id: str, round_: int, stage: str,
                 extra: Callable[[int], dict] | None = None, progress: Callable[[int, int], None] | None = None):
        self.store, self.run_id, self.round, self.stage = store, run_id, round_, stage
        self.extra, self.progress = extra, progress

    def on_log(self, args, state, control, logs=None, **kwargs):
        values = dict(logs or {})
        if self.extra is not None:
            values.update(self.extra(state.global_step))
        self.store.add_metrics(self.run_id, self.round, self.stage, state.global_step, values)
        self._check_cancel()

    def on_step_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress(state.global_step, state.max_steps)
        self._check_cancel()

    def _check_cancel(self) -> None:
        self.store.raise_if_cancelled(self.run_id)
