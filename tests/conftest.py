"""Shared fixtures: tiny random-init models in a per-session cache, a real SQLite store per test."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
HUMAN_DATA = SAMPLE / "human"  # real human-labelled pairs shipped with the project (sample_data/human/README.md)

# Tiny models are built once per session in a private cache, never in the user's cache.
os.environ.setdefault("RLAIF_AUDIT_CACHE", tempfile.mkdtemp(prefix="rlaif-test-cache-"))
# a test that forgets to pick a store (or a spawned child re-running a page as __main__) must not
# write to the checkout's .rlaif/store.sqlite
os.environ.setdefault("RLAIF_AUDIT_STORE", os.path.join(tempfile.mkdtemp(prefix="rlaif-test-store-"), "store.sqlite"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_model_path() -> Path:
    from core.models import resolve_model

    return resolve_model("tiny")


@pytest.fixture
def store(tmp_path):
    from core.store import Store

    return Store(tmp_path / "store.sqlite")


@pytest.fixture
def principles_file(tmp_path) -> Path:
    path = tmp_path / "principles.txt"
    path.write_text("- Be helpful.\n- Be honest.\n- Prefer the concise answer when both are correct.\n")
    return path
