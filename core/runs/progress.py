"""Stage progress shown two ways at once: a tqdm bar on stderr and the run row in the store.

The store is written at most once a second, so a fast loop does not hammer SQLite, and each
write also beats the heartbeat and checks the cancel flag.
"""
from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator

from tqdm import tqdm

from core.store import RunCancelled, RunStatus, Store


class Reporter:
    def __init__(self, store: Store, run_id: str, *, show_bars: bool = True):
        self.store, self.run_id, self.show_bars = store, run_id, show_bars
        self.round = 0

    @contextlib.contextmanager
    def stage(self, name: str, total: float) -> Iterator["StageProgress"]:
        self.store.update_run(self.run_id, stage=name, round=self.round, progress=0.0,
                              message=f"round {self.round}: {name}")
        bar = tqdm(total=total, desc=f"round {self.round} {name}", file=sys.stderr, disable=not self.show_bars,
                   dynamic_ncols=True)
        progress = StageProgress(self, bar)
        try:
            yield progress
        finally:
            bar.close()
        self.store.update_run(self.run_id, progress=1.0)

    @contextlib.contextmanager
    def recording(self, *, cancelled: str = "cancelled by request") -> Iterator[None]:
        """The run's status around its work: running; then cancelled (with ``cancelled`` as its message)
        or failed (with the error; an exception's ``run_fields`` replace the default fields). The
        caller records success. Training runs and judge jobs both go through here."""
        self.store.clear_cancel(self.run_id)
        self.store.update_run(self.run_id, status=RunStatus.RUNNING, error="")
        try:
            yield
        except RunCancelled:
            self.store.update_run(self.run_id, status=RunStatus.CANCELLED, message=cancelled)
            raise
        except BaseException as exc:
            fields = getattr(exc, "run_fields", None) or {"error": f"{type(exc).__name__}: {exc}"}
            self.store.update_run(self.run_id, status=RunStatus.FAILED, **fields)
            raise

    def check_cancel(self) -> None:
        self.store.raise_if_cancelled(self.run_id)


class StageProgress:
    def __init__(self, reporter: Reporter, bar: tqdm):
        self.reporter, self.bar = reporter, bar
        self._last_write = 0.0

    def __call__(self, n: float = 1) -> None:
        self.bar.update(n)
        self._write()

    def set(self, done: float, total: float | None = None) -> None:
        if total:
            self.bar.total = total
        self.bar.n = done
        self.bar.refresh()
        self._write()

    def _write(self) -> None:
        now = time.monotonic()
        if now - self._last_write < 1.0:
            return
        self._last_write = now
        total = self.bar.total or 1
        self.reporter.store.update_run(self.reporter.run_id, progress=min(1.0, self.bar.n / total))
        self.reporter.check_cancel()
