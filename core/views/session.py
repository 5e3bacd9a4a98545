"""What every page starts from: the store the dashboard shares with the CLI, opened with the sample
workspace loaded on first start, and the folders beside it where uploads and saved judges go."""
from __future__ import annotations

from pathlib import Path

from core.data.sample_workspace import ensure_sample_workspace
from core.store import Store, default_store_path


def open_store() -> Store:
    """The shared store ($RLAIF_AUDIT_STORE, or .rlaif/store.sqlite here), with the sample pairs loaded once."""
    store = Store(default_store_path())
    ensure_sample_workspace(store)
    return store


def workspace_folder() -> Path:
    """The folder that holds the store: uploads and saved judge YAMLs go beside it."""
    return default_store_path().parent
