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


@pytest.fixture(scope="module")
def reward_model_path(tiny_model_path, tmp_path_factory) -> Path:
    """A reward model trained for one epoch on 8 pairs from the tiny model: something for RL to optimise."""
    from core.config import RewardConfig
    from core.loop.reward_model import train_reward_model
    from tests.test_training import preference_records

    out = tmp_path_factory.mktemp("rm") / "rm"
    train_reward_model(tiny_model_path, preference_records(8), RewardConfig(epochs=1, batch_size=4, eval_fraction=0),
                       out)
    return out


@pytest.fixture
def store(tmp_path):
    from core.store import Store

    return Store(tmp_path / "store.sqlite")


@pytest.fixture
def principles_file(tmp_path) -> Path:
    path = tmp_path / "principles.txt"
    path.write_text("- Be helpful.\n- Be honest.\n- Prefer the concise answer when both are correct.\n")
    return path


# -- the browser tests' fixtures: a real server on a fresh store, and a page in Debian's Chromium --
@pytest.fixture
def browser_app(tmp_path):
    """A real `streamlit run` of the dashboard on a fresh store: (url, Store)."""
    from core.store import Store
    from tests.browser_helpers import ROOT as _root
    from tests.browser_helpers import require_browser, start_app, stop_process, stop_run_workers

    require_browser()
    store_path = tmp_path / "store.sqlite"
    proc, url = start_app(_root, store=store_path, cache=tmp_path / "cache", log=tmp_path / "streamlit.log")
    try:
        yield url, Store(store_path)
    finally:
        stop_run_workers(Store(store_path))
        stop_process(proc)


@pytest.fixture
def browser_page(browser_app):
    """A page in Debian's headless Chromium, with generous waits."""
    from playwright.sync_api import expect, sync_playwright

    from tests.browser_helpers import SLOW, WIDTH, launch_browser

    expect.set_options(timeout=SLOW)  # expect() has its own 5 s default, too short for a shared CPU
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": 900}, accept_downloads=True)
            page.set_default_timeout(SLOW)
            yield page
        finally:
            browser.close()
