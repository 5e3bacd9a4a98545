"""The constitution workbench in a real headless Chromium, against a real `streamlit run` of the dashboard.

A person edits the packaged constitution beside the faults found on the tuning pairs, saves the edit as
default@2 (an empty edit is refused first), judges the labelled pairs with it in a background job (an
OpenAI-compatible judge on loopback whose verdicts depend on a word of the principles, run by the real
worker process), and reads the comparison on the held-out pairs: better beyond noise, with the pairs
that now agree with people openable. The page is saved as docs/screenshots/constitution.png.
"""
from __future__ import annotations

import re

import pytest
from fake_openai_server import FakeOpenAIServer

from core.runs.judge_jobs import write_api_judge
from core.schema import ResponsePair
from core.store import Store
from tests.browser_helpers import (
    choose,
    open_page,
    screenshot,
    wait_for_charts,
    wait_idle,
)
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # a Streamlit server, Chromium and a worker process: about a minute or two
JOB_DONE = 180_000  # ms
TERSE = "- Be terse: prefer the shorter response.\n- Be honest."


def team_pairs(store: Store, n: int = 24) -> None:
    """Pairs people labelled, always for the shorter answer: a judge shown 'terse' agrees with them."""
    pairs = [ResponsePair(f"team/{i:02d}", f"Question {i}: what would you say?",
                          "Short." if i % 2 else "A long and winding answer. " * (2 + i % 3),
                          "A long and winding answer. " * (2 + i % 3) if i % 2 else "Short.") for i in range(n)]
    store.add_pairs(pairs, dataset="team")
    for p in pairs:
        store.set_human_label(p.pair_id, "dana", "A" if len(p.response_a) < len(p.response_b) else "B")


def test_edit_save_judge_and_read_the_comparison_in_a_real_browser(browser_app, browser_page):
    from playwright.sync_api import expect

    (url, store), page = browser_app, browser_page
    team_pairs(store)
    with FakeOpenAIServer() as server:
        write_api_judge(store.path.parent / "judges", name="fake", base_url=server.base_url, model="fake-judge",
                        api_key_env="")
        page.goto(url)
        page.get_by_role("heading", name="RLAIF judge audit").wait_for()
        open_page(page, "Constitution", "Constitution workbench")
        choose(page, "Labelled pairs", "dataset:team")
        expect(page.get_by_text(re.compile(r"12 tuning pairs .* and 12 held-out pairs"))).to_be_visible()
        choose(page, "Judge", "judge YAML: fake.yaml")
        edit_and_save(page)
        judge_and_compare(page)
        screenshot(page, ROOT / "docs" / "screenshots" / "constitution.png")
    assert store.constitution_versions("default")["version"].tolist() == [1, 2]


def edit_and_save(page) -> None:
    from playwright.sync_api import expect

    box = page.get_by_label("Principles: one per line; lines starting with # are comments the judge does not see")
    expect(box).to_have_value(re.compile(r"^# Sample constitution"))
    page.get_by_label("Your name", exact=True).fill("dana")
    page.get_by_label("Why this version (the fault it answers)", exact=True).fill("people here prefer short answers")
    box.fill("# only a comment")
    box.press("Tab")
    wait_idle(page)
    page.get_by_role("button", name="Save as the next version").click()
    expect(page.get_by_text(re.compile(r"^Not saved: text: empty"))).to_be_visible()
    box.fill(TERSE)
    box.press("Tab")
    wait_idle(page)
    page.get_by_role("button", name="Save as the next version").click()
    expect(page.get_by_text("Saved as default@2 (edited from default@1).")).to_be_visible()
    expect(page.get_by_role("combobox", name="Version to edit", exact=True)).to_have_value("default@2")
    expect(page.get_by_test_id("stCode")).to_contain_text("+- Be terse: prefer the shorter response.")


def judge_and_compare(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="Judge the labelled pairs with default@2").click()
    expect(page.get_by_text(re.compile(r"Judging the labelled pairs of dataset:team with default@2 in the "
                                       r"background \(job \S+\)"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"· default@2 · succeeded"))).to_be_visible(timeout=JOB_DONE)
    held_out = page.get_by_text(re.compile(r"^default@2 against default@1 on the same 12 held-out pairs"))
    expect(held_out).to_be_visible(timeout=JOB_DONE)
    expect(held_out).to_contain_text("agreement 100% vs 0%")
    expect(held_out).to_contain_text("better beyond noise")
    wait_for_charts(page, 1)
    expect(page.get_by_text("now agrees with people: 12 pairs").first).to_be_visible()
    pair = page.get_by_text(re.compile(r"^Pair team/\d+$")).first
    pair.click()
    expect(page.get_by_text(re.compile(r"people: [AB] · default@1: [AB] · default@2: [AB]")).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Question \d+: what would you say\?$")).first).to_be_visible()
    pair.click()  # closed again: an open expander in a fragment that reruns keeps growing the page's height
    # the faults beside the editor follow the verdicts as they land: now those of default@2 itself
    expect(page.get_by_text(re.compile(r"^With default@2, on 12 tuning pairs: agreement with people 100%"))
           ).to_be_visible(timeout=JOB_DONE)
