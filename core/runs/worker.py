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
import time
from pathlib import Path

import pandas as pd

from core.store import RunCancelled, RunStatus, Store

HEARTBEAT_SECONDS = 5.0
LOST_AFTER_SECONDS = 60.0


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


def display_status(run: dict, now: float | None = None, lost_after: float = LOST_AFTER_SECONDS) -> str:
    """The status to show: 'lost' for a running run whose heartbeat is stale."""
    status = RunStatus(run["status"])
    beat = run.get("heartbeat_at") or run.get("updated_at") or 0
    if status is RunStatus.RUNNING and (now or time.time()) - float(beat) > lost_after:
        return "lost"
    return status.value


def runs_table(store: Store, now: float | None = None, message_chars: int = 48) -> "pd.DataFrame":
    """The run list as the dashboard shows it: display status ('lost' when stale), the heartbeat as
    a short age ('12 s ago'; the finish time once a run has finished, so it stops growing), and the
    message (the error, for a failed run) cut to ``message_chars``; the page shows it whole. The
    stage names its round."""
    runs = store.list_runs()
    now = now or time.time()
    records = runs.to_dict("records")
    runs["status"] = [display_status(r, now) for r in records]
    runs["heartbeat"] = [heartbeat_text(r, now) for r in records]
    runs["message"] = [shorten(full_message(r), message_chars) for r in records]
    runs["started"] = [_clock(t, now) for t in runs["created_at"]]
    runs["stage"] = [stage_text(r) for r in records]
    return runs[["run_id", "name", "status", "stage", "progress", "heartbeat", "message", "started"]]


def stage_text(run: dict) -> str:
    """'ppo · round 1' (rounds counted from 0, as in the logs and the curves), or the bare stage when it is
    not a round's."""
    if not run["stage"] or run["stage"] == "done":
        return run["stage"] or "not started"
    return f"{run['stage']} · round {int(run['round'])}"


def full_message(run: dict) -> str:
    return run.get("error") or run.get("message") or ""


def heartbeat_text(run: dict, now: float) -> str:
    """'12 s ago' while a run can still beat; 'finished 14:02' once it has finished (a fixed time)."""
    beat = run.get("heartbeat_at")
    beat = run["updated_at"] if beat is None or pd.isna(beat) else beat
    if RunStatus(run["status"]).is_finished():
        return f"finished {_clock(float(run['updated_at']), now)}"
    return format_age(now - float(beat))


def format_age(seconds: float) -> str:
    """'4 s ago', '3 min ago', '2 h ago', '5 d ago'."""
    seconds = max(0.0, seconds)
    for unit, size, shown_from in (("d", 86400, 2 * 86400), ("h", 3600, 2 * 3600), ("min", 60, 90)):
        if seconds >= shown_from:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def shorten(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _clock(t: float, now: float) -> str:
    """Local time: 'HH:MM' today, else 'YYYY-MM-DD HH:MM'."""
    same_day = time.localtime(t)[:3] == time.localtime(now)[:3]
    return time.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M", time.localtime(t))
