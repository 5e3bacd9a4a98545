"""The Agreement page's tables fit a 1280 px laptop screen in a real Chromium: no table scrolls
sideways, so no column is cut off on the right (the sample set, and a judge with a long name)."""
from __future__ import annotations

import dataclasses

import pytest

from core.data.sample_workspace import ensure_sample_workspace
from core.judges import judge_pairs, make_judge
from core.loop.judging import source_pairs
from core.store import Store
from tests.browser_helpers import launch_browser, open_page, require_browser, start_app, stop_process, wait_idle
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # a Streamlit server and a browser: about a minute


def test_agreement_tables_fit_1280_px(tmp_path):
    from playwright.sync_api import sync_playwright

    require_browser()
    store = Store(tmp_path / "store.sqlite")
    ensure_sample_workspace(store)
    judged = judge_pairs(make_judge("longest"), source_pairs(store, "dataset:sample"))
    store.add_judgments([dataclasses.replace(j, judge="smollm2-135m-letters@e318d926", tokens_in=882, seconds=4.5)
                         for j in judged])
    proc, url = start_app(ROOT, store=store.path, cache=tmp_path / "cache", log=tmp_path / "streamlit.log")
    try:
        with sync_playwright() as pw:
            browser = launch_browser(pw)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.set_default_timeout(120_000)
                page.goto(url)
                wait_idle(page, 120_000)
                open_page(page, "Agreement & bias", "Agreement & bias")
                wait_idle(page, 120_000)
                page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stDataFrame\"] "
                                       ".dvn-scroller').length >= 3")
                widths = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stDataFrame"]')]
                    .map(d => d.querySelector('.dvn-scroller')).filter(s => s && s.clientWidth > 0)
                    .map(s => [s.scrollWidth, s.clientWidth])""")
            finally:
                browser.close()
    finally:
        stop_process(proc)
    assert len(widths) >= 3, widths  # the summary, the per-category and the cost tables
    assert all(scroll <= client for scroll, client in widths), widths
