"""How training stages report: a TrainerCallback writes every logged metric to the store.

It also beats the run's heartbeat and honours the cancel flag, so a run launched from the
dashboard can be watched and stopped while TRL trains. With ``report_to: tensorboard`` the same
values also go to TensorBoard event files (``TensorBoardMirror``); the store stays the source of
truth, the event files are a copy for teams that look there.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from transformers import TrainerCallback

from core.store import Store


class TensorBoardMirror:
    """Scalars to TensorBoard event files in ``folder`` (tensorboardX: no TensorFlow needed)."""

    def __init__(self, folder: str | Path):
        from tensorboardX import SummaryWriter

        self.folder = Path(folder)
        self.writer = SummaryWriter(logdir=str(self.folder))

    def add(self, step: int, values: dict) -> None:
        for key, value in values.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(key, value, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class StoreCallback(TrainerCallback):
    """Writes ``logs`` of every ``on_log`` as metrics rows (run, round, stage, step, key, value).

    ``translate`` maps a trainer's logs to the keys the store keeps (``core.loop.rl.metric_keys``);
    ``extra(step)`` adds values the trainer does not log; ``mirrors`` get every row written too."""

    def __init__(self, store: Store, run_id: str, round_: int, stage: str,
                 extra: Callable[[int], dict] | None = None, progress: Callable[[int, int], None] | None = None,
                 translate: Callable[[dict], dict] | None = None, mirrors: Sequence[TensorBoardMirror] = ()):
        self.store, self.run_id, self.round, self.stage = store, run_id, round_, stage
        self.extra, self.progress, self.translate, self.mirrors = extra, progress, translate, list(mirrors)

    def on_log(self, args, state, control, logs=None, **kwargs):
        values = dict(logs or {})
        if self.translate is not None:
            values = self.translate(values)
        if self.extra is not None:
            values.update(self.extra(state.global_step))
        self.store.add_metrics(self.run_id, self.round, self.stage, state.global_step, values)
        for mirror in self.mirrors:
            mirror.add(state.global_step, values)
        self._check_cancel()

    def on_step_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress(state.global_step, state.max_steps)
        self._check_cancel()

    def on_train_end(self, args, state, control, **kwargs):
        for mirror in self.mirrors:
            mirror.close()

    def _check_cancel(self) -> None:
        self.store.raise_if_cancelled(self.run_id)
