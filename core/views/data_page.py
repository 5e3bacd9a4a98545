"""The Data page: files users bring (pairs, prompts: validated whole before anything is kept), files
they take away (preference data in TRL's format, human labels), and judge jobs (judge a source in
the background, with progress, cancel and resume)."""
from __future__ import annotations

import json
from pathlib import Path

from core.data.prompts_file import save_uploaded_prompts
from core.runs import judge_jobs
from core.runs.judge_jobs import EMBEDDED, write_api_judge
from core.runs.worker import launch_run
from core.store import Store
from core.views.session import workspace_folder

__all__ = ["EMBEDDED", "cancel_job", "judges_of", "saved_judges", "human_labels_csv", "import_uploaded_pairs", "jobs_of", "judges_folder",
           "preference_jsonl", "resume_job", "save_uploaded_prompts", "start_judge_job", "uploads_folder",
           "write_api_judge"]


def judges_of(store: Store, source: str) -> list[str]:
    """The judges that judged any pair of ``source`` (one of them decides the exported preferences)."""
    return store.source_judges(source)


def uploads_folder() -> Path:
    return workspace_folder() / "uploads"


def judges_folder() -> Path:
    """Where judge YAMLs saved from the page go (API judges: the key's variable name, never the key)."""
    return workspace_folder() / "judges"


def saved_judges() -> list[str]:
    folder = judges_folder()
    return sorted(str(p) for p in folder.glob("*.yaml")) if folder.is_dir() else []


def start_judge_job(store: Store, source: str, judge: str) -> str:
    """Record a judge job (``core.runs.judge_jobs``) and start its worker; ValueError, with nothing
    recorded, for a source or judge that cannot be used."""
    run_id = judge_jobs.start_judge_job(store, source, judge)
    launch_run(store, run_id)
    return run_id


def jobs_of(store: Store, source: str) -> list[dict]:
    """The judge jobs of ``source``, newest first, each with its display status."""
    return judge_jobs.judge_jobs(store, source)


def cancel_job(store: Store, run_id: str) -> None:
    store.request_cancel(run_id)


def resume_job(store: Store, run_id: str) -> None:
    launch_run(store, run_id)


def preference_records(store: Store, source: str, judge: str, *, labels: str = "judge") -> tuple[list[dict], int]:
    """TRL preference rows for a source; chosen follows the judge (or the human majority).

    Kept for the dashboard; ``core.data.exporters.trl_records`` does the work.
    """
    from core.data.exporters import trl_records

    return trl_records(store, source, labels=labels, judge=judge or None)


def preference_jsonl(store: Store, source: str, judge: str, *, labels: str = "judge") -> bytes:
    records, _ = preference_records(store, source, judge, labels=labels)
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def human_labels_csv(store: Store, source: str) -> bytes:
    """Every human label of a source with its annotator, beside each judge's verdict (``core.data.exporters``)."""
    from core.data.exporters import labels_table

    return labels_table(store, source).to_csv(index=False).encode("utf-8")


def import_uploaded_pairs(store: Store, data: bytes, *, filename: str, dataset: str, fmt: str = "pairs",
                          mapping: str | None = None) -> int:
    """Validate an uploaded file whole (any importer format), then store it in one transaction."""
    from core.data import import_upload

    return import_upload(store, data, filename=filename, fmt=fmt, dataset=dataset, mapping=mapping or None).n_pairs
