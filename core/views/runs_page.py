"""What the Runs page needs from core: presets and form fields, validated launch, a time
estimate, and which buttons apply."""
from __future__ import annotations

from typing import Any

from core.config import JUDGE_BACKENDS, JUDGE_METHODS, RunConfig, load_config, with_overrides
from core.data.sample_workspace import SAMPLE_DIR
from core.runs.estimate import Estimate, estimate_run
from core.runs.pipeline import start_run
from core.runs.worker import display_status, full_message
from core.store import RunStatus, Store
from core.views.run_form import FormField, flat_values, form_fields, preset_values, presets, run_values

__all__ = ["JUDGE_BACKENDS", "JUDGE_METHODS", "FormField", "default_config", "default_values", "form_fields",
           "presets", "preset_values", "run_values", "config_from_values", "create_run", "estimate",
           "can_cancel", "can_resume", "run_details"]

DEFAULT_PRESET = "quick (sample_data)"


def default_config() -> RunConfig:
    return load_config(SAMPLE_DIR / "quick.yaml")


def default_values() -> dict[str, Any]:
    return flat_values(default_config())


def config_from_values(values: dict[str, Any]) -> RunConfig:
    """The form's values (dotted name -> value) as a validated RunConfig (ValueError names a bad field)."""
    return with_overrides(RunConfig(), values)


def create_run(store: Store, values: dict[str, Any]) -> str:
    """Validate the form's values and record a QUEUED run (ValueError names a bad field or file)."""
    return start_run(store, config_from_values(values))


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
