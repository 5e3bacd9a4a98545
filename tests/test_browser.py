"""The main path in a real headless Chromium, against a real `streamlit run` of the dashboard.

A person labels pairs on Spot-check and sees the Agreement page's count go up, starts a tiny
run from the Runs form and sees its curves on the Training monitor, imports a pairs file on
Data and builds the Report. Model text carrying HTML, script and markdown stays inert text.
Each page is saved as docs/screenshots/<page>.png (1400 px wide, whole page) on the way.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core.runs.store import Store
from core.schema import ResponsePair
from tests.browser_helpers import (SLOW, WIDTH, choose, drawn_points, launch_browser, open_page, require_browser,
                                   screenshot, start_app, stop_process, stop_run_workers, type_into, wait_for_charts,
                                   wait_idle)
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # about two minutes: a tiny run of the whole loop happens in it

SHOTS = ROOT / "docs" / "screenshots"
XSS = ('<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> '
       '[link](javascript:window.__xss=3) ![img](http://127.0.0.1:1/x.png)')
RUN_DONE = 420_000  # ms: the tiny run shares two cores with the server and the browser


@pytest.fixture
def app(tmp_path):
    require_browser()
    store_path = tmp_path / "store.sqlite"
    proc, url = start_app(ROOT, store=store_path, cache=tmp_path / "cache", log=tmp_path / "streamlit.log")
    try:
        yield url, Store(store_path)
    finally:
        stop_run_workers(Store(store_path))
        stop_process(proc)


@pytest.fixture
def page(app):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=SLOW)  # expect() has its own 5 s default, too short for a shared CPU
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": 900})
            page.set_default_timeout(SLOW)
            yield page
        finally:
            browser.close()


def add_review_dataset(store: Store) -> None:
    """dataset:xss — four pairs ada labelled earlier, and one whose response A is an XSS corpus."""
    from core.judges import judge_pairs, make_judge

    done = [ResponsePair(f"xss/{i}", f"Question {i}?", "A careful, complete answer. " * (i + 1), "Short.")
            for i in range(4)]
    evil = ResponsePair("xss/evil", "Say hi", XSS, "hi")
    judgments = [j for name in ("longest", "shortest") for j in judge_pairs(make_judge(name), [*done, evil])]
    store.import_dataset("xss", [*done, evil], [(p.pair_id, "ada", "A") for p in done], judgments)


def test_main_path_in_a_real_browser(app, page, tmp_path):
    from playwright.sync_api import expect

    url, store = app
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(url)
    page.get_by_role("heading", name="Spot-check the judge").wait_for()
    expect(page.get_by_role("combobox", name="Pairs", exact=True)).to_have_value("dataset:sample")
    add_review_dataset(store)

    label_a_sample_pair(page)
    run_id = start_tiny_run(page)
    count = page.get_by_test_id("stMetricValue")
    open_page(page, "Agreement & bias", "Agreement & bias")
    choose(page, "Pairs", "dataset:xss")
    expect(count).to_have_text("4")
    label_the_xss_pair(page, requested)
    open_page(page, "Agreement & bias", "Agreement & bias")
    expect(count).to_have_text("5")  # the label just given counts
    show_agreement_on_sample(page)
    import_pairs_on_data_page(page, tmp_path)
    build_report(page)
    watch_the_run(page, store, run_id)


def label_a_sample_pair(page) -> None:
    from playwright.sync_api import expect

    type_into(page, "Your name (recorded with every label)", "ada")
    page.get_by_role("button", name="A is better").click()
    expect(page.get_by_text(re.compile(r"Saved your label for sample/"))).to_be_visible()
    expect(page.get_by_text("You labelled 1 of 60 pairs")).to_be_visible()
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()  # the judges' verdicts, after the answer
    screenshot(page, SHOTS / "spot-check.png")


def start_tiny_run(page) -> str:
    from playwright.sync_api import expect

    open_page(page, "Runs", "Runs")
    fields = {"Run name": "browser-tiny", "Policy model ('smollm2-135m', 'tiny' or a folder)": "tiny",
              "Judge model (local name/folder, or the API model)": "tiny", "Prompts per round": "4",
              "RM epochs": "1", "PPO updates": "2"}
    for label, value in fields.items():
        box = page.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Tab")
    page.get_by_role("button", name="Start run").click()
    started = page.get_by_text(re.compile(r"Started run \S+ in a worker process"))
    expect(started).to_be_visible()
    run_id = re.search(r"Started run (\S+) in", started.inner_text()).group(1)
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()  # the run list
    screenshot(page, SHOTS / "runs.png")
    return run_id


def label_the_xss_pair(page, requested: list[str]) -> None:
    """Model text is shown as text: no tag, link or image of it comes alive, nothing is fetched."""
    from playwright.sync_api import expect

    open_page(page, "Spot-check", "Spot-check the judge")
    choose(page, "Pairs", "dataset:xss")
    type_into(page, "Your name (recorded with every label)", "ada")
    expect(page.get_by_text("Pair xss/evil")).to_be_visible()
    shown = page.get_by_test_id("stText").filter(has_text="window.__xss=2")
    expect(shown).to_have_count(1)
    assert shown.inner_text() == XSS
    live = page.evaluate("""() => document.querySelectorAll(
        'img[src="x"], a[href^="javascript:"], img[src*="127.0.0.1:1"]').length
        + Array.from(document.scripts).filter(s => s.text.includes('__xss')).length""")
    assert live == 0
    page.get_by_role("button", name="A is better").click()
    expect(page.get_by_text("Saved your label for xss/evil")).to_be_visible()
    expect(page.get_by_text("Nothing left to label here. Thank you!")).to_be_visible()
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert not [u for u in requested if "127.0.0.1:1/" in u]


def show_agreement_on_sample(page) -> None:
    from playwright.sync_api import expect

    choose(page, "Pairs", "dataset:sample")
    expect(page.get_by_test_id("stMetricValue")).to_have_text("60")
    wait_for_charts(page, 6 + 1)  # six audit charts and the cost chart
    screenshot(page, SHOTS / "agreement.png")


def import_pairs_on_data_page(page, tmp_path) -> None:
    from playwright.sync_api import expect

    open_page(page, "Data", "Data")
    lines = [{"id": i, "prompt": f"Name a prime above {10 * i}.", "response_a": str(p), "response_b": "I think 12.",
              "human_preferred": "a", "judge_preferred": "a", "judge_p_a": 0.8}
             for i, p in enumerate([11, 23, 31], start=1)]
    upload = tmp_path / "my_pairs.jsonl"
    upload.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    page.get_by_test_id("stFileUploader").first.locator('input[type="file"]').set_input_files(upload)
    page.get_by_role("button", name="Import pairs").click()
    expect(page.get_by_text("Imported 3 pairs into dataset:uploaded.")).to_be_visible()
    screenshot(page, SHOTS / "data.png")
    box = page.get_by_role("combobox", name="Pairs to export", exact=True)
    box.click()
    page.keyboard.type("uploaded")  # type to filter, then pick: a click alone did not open this list
    page.get_by_role("option", name="dataset:uploaded", exact=True).click()
    expect(box).to_have_value("dataset:uploaded", timeout=SLOW)
    page.get_by_role("button", name="Build the files for download").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Human labels (CSV)").click()
    labels = Path(download.value.path()).read_text(encoding="utf-8")
    assert "Name a prime above 20." in labels and labels.count("\n") >= 4, labels[:500]


def build_report(page) -> None:
    from playwright.sync_api import expect

    open_page(page, "Report", "Report for stakeholders")
    choose(page, "Pairs", "dataset:sample")
    page.get_by_role("button", name="Build HTML report").click()
    expect(page.get_by_role("button", name="Download report.html")).to_be_visible()
    screenshot(page, SHOTS / "report.png")


def watch_the_run(page, store: Store, run_id: str) -> None:
    """The monitor polls the store: wait for the run to end there, then for its five training charts to
    hold points and the verbosity panel's three charts to appear."""
    from playwright.sync_api import expect

    open_page(page, "Training monitor", "Training monitor")
    expect(page.get_by_role("combobox", name="Run", exact=True)).to_have_value(re.compile(f"^{re.escape(run_id)}"))
    ended = page.get_by_text(re.compile(r"Status: (succeeded|failed|cancelled)"))
    expect(ended).to_be_visible(timeout=RUN_DONE)
    run = store.get_run(run_id)
    log = store.path.parent / "runs" / run_id / "worker.log"
    assert run["status"] == "succeeded", f"{run['error']}\n{log.read_text()[-3000:] if log.exists() else 'no log'}"
    # PPO reward, KL/entropy, reward against KL and length: 2 updates each; RM: 1 epoch. Then the verbosity
    # panel's three: its correlations may hold no point (a tiny policy's rollouts can all be equally long)
    wait_for_charts(page, 5 + 3, drawn=5)
    expect(page.get_by_role("heading", name="Verbosity gaming and over-optimisation")).to_be_visible()
    wait_idle(page)
    points = drawn_points(page)
    assert len(points) == 8 and all(n > 0 for n in points[:5]), points
    screenshot(page, SHOTS / "training-monitor.png")
