"""What the Runs page needs from core: defaults, validated launch, and which buttons apply."""
from __future__ import annotations

from core.config import JUDGE_BACKENDS, JUDGE_METHODS, RunConfig, load_config, with_overrides
from core.pipeline import start_run
from core.runs.store import RunStatus, Store
from core.runs.worker import display_status
from core.workspace import SAMPLE_DIR

__all__ = ["JUDGE_BACKENDS", "JUDGE_METHODS", "default_config", "create_run", "can_cancel", "can_resume"]


def default_config() -> RunConfig:
    return load_config(SAMPLE_DIR / "quick.yaml")


def create_run(store: Store, base: RunConfig, values: dict) -> str:
    """Validate the form's values over ``base`` and record a QUEUED run (ValueError names a bad field)."""
    cleaned = {k: (int(v) if isinstance(v, float) and v.is_integer() and k not in _FLOAT_KEYS else v)
               for k, v in values.items()}
    return start_run(store, with_overrides(base, cleaned))


_FLOAT_KEYS = {"reward.epochs", "ppo.kl_coef"}


def can_cancel(store: Store, run_id: str) -> bool:
    return not RunStatus(store.get_run(run_id)["status"]).is_finished()


def can_resume(store: Store, run_id: str) -> bool:
    run = store.get_run(run_id)
    return display_status(run) in ("failed", "cancelled", "lost", "queued")
