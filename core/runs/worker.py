"""Running a run outside the UI: the worker process, its heartbeat, and launching it.

The dashboard never trains in its own script thread: ``launch_run`` starts
``python -m core worker`` as a separate process that writes only to the store. A thread
in the worker beats the heartbeat every few seconds, so the UI can call a run whose
worker died "lost" from the store alone, without pid files.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from core.runs.status import display_status
from core.store import RunCancelled, RunStatus, Store

HEARTBEAT_SECONDS = 5.0


@contextlib.contextmanager
def heartbeat(store: Store, run_id: str, every: float = HEARTBEAT_SECONDS):
    stop = threading.Event()

    def beat():
        while not stop.wait(every):
            with contextlib.suppress(Exception):  # a busy database must not kill the run
                store.heartbeat(run_id)

    thread = threading.Thread(target=beat, name=f"heartbeat-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 1)


def run_in_this_process(store: Store, run_id: str, *, show_bars: bool = True) -> None:
    """Execute a stored run, or a judge job (``core/runs/judge_jobs.py``), under one heartbeat."""
    from core.runs.judge_jobs import execute_judge_job, is_judge_job
    from core.runs.pipeline import execute_run

    store.update_run(run_id, pid=os.getpid())
    execute = execute_judge_job if is_judge_job(store.get_run(run_id)) else execute_run
    with heartbeat(store, run_id), contextlib.suppress(RunCancelled):
        execute(store, run_id, show_bars=show_bars)


def launch_run(store: Store, run_id: str) -> subprocess.Popen:
    """Start the worker for a stored run as its own process (survives a Streamlit rerun)."""
    log_dir = store.path.parent / "runs" / run_id
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / "worker.log", "ab")  # noqa: SIM115 - handed to the child process
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", "worker", "--store", str(store.path), "--run-id", run_id],
        cwd=root, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    store.update_run(run_id, pid=proc.pid, message="worker started")
    # reap it when it exits: a finished worker would otherwise stay a defunct process under the dashboard
    threading.Thread(target=proc.wait, name=f"reap-{run_id}", daemon=True).start()
    return proc


def can_delete(store: Store, run_id: str, now: float | None = None) -> bool:
    """A run may be deleted unless a live worker is writing it (running with a fresh heartbeat)."""
    return display_status(store.get_run(run_id), now) != RunStatus.RUNNING.value


def delete_run(store: Store, run_id: str) -> dict[str, int]:
    """Delete a finished, failed, cancelled, queued or lost run: its rows (one transaction), then
    its folder (models, checkpoints, worker log). Returns the rows deleted per table."""
    if not can_delete(store, run_id):
        raise ValueError(f"run {run_id} is running; cancel it before deleting it")
    runs_root = (store.path.parent / "runs").resolve()
    folder = (runs_root / run_id).resolve()
    if folder.parent != runs_root:  # a run id is ours, but never let one point outside the runs folder
        raise ValueError(f"refusing to delete {folder}: not a run folder under {runs_root}")
    deleted = store.delete_run(run_id)
    shutil.rmtree(folder, ignore_errors=True)
    return deleted


