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
    FILE_CHOICE,
    FormField,
    advanced_sections,
    flat_values,
    form_fields,
    preset_values,
    presets,
    run_values,
    source_choices,
    user_presets_dir,
)

__all__ = ["FILE_CHOICE", "JUDGE_BACKENDS", "JUDGE_METHODS", "FormField", "source_choices", "advanced_sections", "user_presets_dir", "can_cancel", "can_delete", "can_resume", "cancel_run",
           "config_from_values", "create_run", "default_config", "default_values", "estimate",
           "form_choices", "form_fields", "latest_gate", "preset_values", "presets", "remove_run", "resume_run",
           "run_details", "run_values", "is_judge_job", "run_progress", "runs_table", "start_run_from_form"]

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
    """The run list as the dashboard shows it: the run's name with the end of its id (names repeat),
    display status ('lost' when stale), the round, the stage with its own progress apart from the
    whole run's (rounds x stages), the heartbeat as a short age ('12 s ago'; the finish time once a
    run has finished, so it stops growing), and the message (the error, for a failed run) cut to
    ``message_chars``; the page shows it whole."""
    runs = store.list_runs()
    now = now or time.time()
    records = runs.to_dict("records")
    runs["run"] = [f"{r['name']} [{r['run_id'][-6:]}]" for r in records]
    runs["status"] = [display_status(r, now) for r in records]
    runs["heartbeat"] = [heartbeat_text(r, now) for r in records]
    runs["message"] = [shorten(full_message(r), message_chars) for r in records]
    runs["started"] = [_clock(t, now) for t in runs["created_at"]]
    runs["round_of"] = [round_text(r) for r in records]
    runs["stage"] = [r["stage"] or "not started" for r in records]
    runs["stage_progress"] = [float(r["progress"] or 0.0) if r["stage"] not in ("", "done") else None for r in records]
    runs["run_progress"] = [run_progress(r) for r in records]
    return runs[["run", "status", "round_of", "stage", "stage_progress", "run_progress", "heartbeat", "message",
                 "started", "run_id", "name", "kind"]]


# The stages of one round, in order, as the pipeline names them (core/runs/pipeline.py); 'judging <source>'
# (the judge reading the gate's or the arm's labelled pairs) counts as judging, any other stage as the RL one.
_ROUND_STAGES = ("prompts", "generation", "judging", "reward_model", "reward_arms", "ppo")


def run_progress(run: dict) -> float:
    """How far the whole run is, 0-1: its rounds times its stages (each stage an equal share of its
    round), the current stage's own progress included. A judge job has one stage."""
    if run["status"] == RunStatus.SUCCEEDED.value or run["stage"] == "done":
        return 1.0
    stage, within = run["stage"] or "", float(run["progress"] or 0.0)
    if run.get("kind") == "judge":
        return within if stage == "judging" else 0.0
    if not stage:
        return 0.0
    slots = [s for s in _ROUND_STAGES if s != "reward_arms" or run.get("rlhf_arm")]
    slot = "judging" if stage.startswith("judging") else stage if stage in slots else slots[-1]
    rounds = max(1, int(run.get("rounds") or 1))
    done = int(run["round"] or 0) + (slots.index(slot) + within) / len(slots)
    return min(1.0, done / rounds)


def round_text(run: dict) -> str:
    """'1 of 2' (rounds counted from 1 here, as people count), or '' for a judge job or a run not started."""
    if run.get("kind") == "judge" or not run["stage"]:
        return ""
    rounds = int(run.get("rounds") or 1)
    return f"{rounds} of {rounds}" if run["stage"] == "done" else f"{int(run['round'] or 0) + 1} of {rounds}"


def is_judge_job(store: Store, run_id: str) -> bool:
    """A judge job (Data page) has no run config to start a new run from."""
    return store.get_run(run_id)["config"].get("kind") == "judge"


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
