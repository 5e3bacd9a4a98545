"""The Runs page: presets and form fields, a validated launch in a worker process, a time estimate,
the run list as people read it, which buttons apply, and what the buttons do."""
from __future__ import annotations

import time
from typing import Any

import pandas as pd

from core.config import JUDGE_BACKENDS, JUDGE_METHODS, RunConfig, load_config, with_overrides
from core.data.sample_workspace import SAMPLE_DIR
from core.human_labels.gate import latest_gate
from core.runs.estimate import Estimate, estimate_run
from core.runs.pipeline import start_run
from core.runs.status import display_status
from core.runs.worker import can_delete, delete_run, launch_run
from core.store import RunStatus, Store
from core.views.run_form import (
    FormField,
    advanced_sections,
    flat_values,
    form_fields,
    preset_values,
    presets,
    run_values,
    user_presets_dir,
)

__all__ = ["JUDGE_BACKENDS", "JUDGE_METHODS", "FormField", "advanced_sections", "user_presets_dir", "can_cancel", "can_delete", "can_resume", "cancel_run",
           "config_from_values", "create_run", "default_config", "default_values", "estimate",
           "form_choices", "form_fields", "latest_gate", "preset_values", "presets", "remove_run", "resume_run", "run_details", "run_values",
           "runs_table", "start_run_from_form"]

DEFAULT_PRESET = "quick (sample_data)"


def default_config() -> RunConfig:
    return load_config(SAMPLE_DIR / "quick.yaml")


def default_values() -> dict[str, Any]:
    return flat_values(default_config())


def form_choices(store: Store, values: dict[str, Any]) -> dict[str, tuple]:
    """The form's closed sets that live in the store: '' (the principles file) or a constitution version."""
    from core.judges.constitutions import ensure_default

    ensure_default(store)
    rows = store.constitution_versions()
    refs = [f"{r.name}@{r.version}" for r in rows.itertuples()]
    current = values.get("judge.constitution") or ""
    return {"judge.constitution": ("", *refs, *([current] if current and current not in refs else []))}


def config_from_values(values: dict[str, Any]) -> RunConfig:
    """The form's values (dotted name -> value) as a validated RunConfig (ValueError names a bad field)."""
    return with_overrides(RunConfig(), values)


def create_run(store: Store, values: dict[str, Any]) -> str:
    """Validate the form's values and record a QUEUED run (ValueError names a bad field or file)."""
    return start_run(store, config_from_values(values))


def start_run_from_form(store: Store, values: dict[str, Any]) -> str:
    """Validate the form's values, record the run and start its worker process; return its id
    (ValueError, with nothing recorded, names a bad field or file)."""
    run_id = create_run(store, values)
    launch_run(store, run_id)
    return run_id


def cancel_run(store: Store, run_id: str) -> None:
    """Ask the run's worker to stop at its next safe point (it checks the flag between chunks and steps)."""
    store.request_cancel(run_id)


def resume_run(store: Store, run_id: str) -> None:
    """Start a worker on a stopped run: every stage goes on from what it already stored."""
    launch_run(store, run_id)


def remove_run(store: Store, run_id: str) -> dict[str, int]:
    """Delete a run that no live worker is writing: its rows, then its folder (``core.runs.worker.delete_run``)."""
    return delete_run(store, run_id)


def estimate(store: Store, values: dict[str, Any]) -> Estimate | str:
    """The time estimate for the form's values, or the reason they do not make a config."""
    try:
        cfg = config_from_values(values)
    except ValueError as exc:
        return f"No estimate: {exc}"
    return estimate_run(store, cfg)


def can_cancel(store: Store, run_id: str) -> bool:
    return not RunStatus(store.get_run(run_id)["status"]).is_finished()


def can_resume(store: Store, run_id: str) -> bool:
    """A run that stopped (failed, cancelled, or lost its worker); a queued run is about to start."""
    return display_status(store.get_run(run_id)) in ("failed", "cancelled", "lost")


def run_details(store: Store, run_id: str) -> str:
    """The selected run's whole message (or error), for the line under the table."""
    run = store.get_run(run_id)
    return f"{run['name']} · {display_status(run)} · {run['stage'] or 'not started'}: {full_message(run) or '—'}"


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
