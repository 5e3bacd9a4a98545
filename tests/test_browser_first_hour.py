"""A team's first hour, in a real headless Chromium against a real `streamlit run`: what a new user
met (issue 21, points 1-5 and 9) and must not meet again.

A person opens the tool on a page that says what it is; types a name, presses Enter and then "A"
with nothing else in between (the key labels the pair: it is not typed into the name box); reads the
judges' verdicts beside the pair they are about; reloads and is still named; sees that their label on
an imported pair is measured against it, not mixed in; reads two runs both named "tiny" apart with
each run's whole progress; opens the monitor on a run that has curves, is told why a gate-stopped run
has none; starts a judge job whose finished worker leaves no defunct process, and whose row offers no
"New run from this config". Every request the pages make goes to the local server.
"""
from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from core.store import RunStatus, Store
from tests.browser_helpers import SLOW, choose, open_page, wait_idle

pytestmark = pytest.mark.slow  # a minute or two: a server, a browser and one judge job


def shown_pair(page) -> str:
    return re.search(r"pair (\S+)", page.get_by_text(re.compile(r"^Prompt · pair ")).inner_text()).group(1)


def prepare_runs(store: Store) -> tuple[str, str, str]:
    """An older run 'tiny' with PPO curves, halfway through (round 0's PPO done of 2 rounds); a second
    'tiny'; and the newest, stopped by the judge gate before training."""
    older = store.create_run({"name": "tiny", "rounds": 2}, name="tiny")
    for step in range(1, 4):
        store.add_metrics(older, 0, "ppo", step, {"objective/scores": 0.1 * step, "response/mean_tokens": 20})
    store.update_run(older, status=RunStatus.RUNNING, stage="ppo", round=0, progress=1.0)
    time.sleep(0.01)
    twin = store.create_run({"name": "tiny", "rounds": 2}, name="tiny")
    store.update_run(twin, status=RunStatus.CANCELLED, stage="generation", round=0, progress=0.5)
    time.sleep(0.01)
    gated = store.create_run({"name": "gated", "rounds": 1}, name="gated")
    store.update_run(gated, status=RunStatus.FAILED, stage="judging", message="stopped by the judge gate",
                     error="Judge gate on dataset:sample: the judge agreed with people on 0.25 of 60 pairs.")
    return older, twin, gated


def defunct_children(store: Store) -> list[int]:
    """Zombie children of the Streamlit server that serves ``store`` (found by its environment)."""
    server = None
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if f"RLAIF_AUDIT_STORE={store.path}".encode() in (proc / "environ").read_bytes() and \
                        b"streamlit" in (proc / "cmdline").read_bytes():
                    server = proc.name
            except OSError:
                continue
    assert server, "the Streamlit server's process was not found"
    zombies = []
    for proc in Path("/proc").iterdir():
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z" and fields[1] == server:
            zombies.append(int(proc.name))
    return zombies


def test_a_teams_first_hour(browser_app, browser_page):
    from playwright.sync_api import expect

    (url, store), page = browser_app, browser_page
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(url)
    page.get_by_role("heading", name="RLAIF judge audit").wait_for()  # point 11: it says what it is first
    expect(page.get_by_text("Only the yardsticks")).to_be_visible()
    older, twin, gated = prepare_runs(store)

    # point 3: the name box takes Enter, then leaves; "a" labels the pair instead of editing the name
    open_page(page, "Spot-check", "Spot-check the judge")
    choose(page, "Pairs", "dataset:sample")
    name = page.get_by_label("Your name", exact=True)
    name.fill("walker")
    name.press("Enter")
    expect(page.get_by_text("Labelling as walker")).to_be_visible()
    pair = shown_pair(page)
    wait_idle(page)
    page.keyboard.press("a")
    expect(page.get_by_text("You labelled 1 of 60 pairs")).to_be_visible()
    spot = store.human_labels_frame()
    spot = spot[spot["origin"] == "spot-check"]
    assert list(zip(spot["pair_id"], spot["annotator"], spot["label"])) == [(pair, "walker", "A")]
    # point 1: the imported label decides; the spot-check is measured against it, and it says so
    expect(page.get_by_text(re.compile("measured against it, not counted"))).to_be_visible()
    # point 2: the verdicts are drawn with the pair they are about, until N
    expect(page.get_by_text(f"What the judges said about this pair ({pair})")).to_be_visible()
    assert shown_pair(page) == pair
    wait_idle(page)
    page.keyboard.press("n")
    expect(page.get_by_text(re.compile(r"^Prompt · pair (?!" + re.escape(pair) + r"\b)"))).to_be_visible()
    # point 3: a reload keeps the name
    page.reload()
    page.get_by_role("heading", name="Spot-check the judge").wait_for()
    expect(page.get_by_text("Labelling as walker")).to_be_visible()

    # point 1: where the result is read, the policy is said
    open_page(page, "Agreement & bias", "Agreement & bias")
    expect(page.get_by_text(re.compile(r"Imported labels decide.*This is the default"))).to_be_visible()

    # point 4: two 'tiny' runs told apart; the run's progress apart from its stage's
    open_page(page, "Runs", "Runs")
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_contain_text(f"tiny [{older[-6:]}]")
    expect(grid).to_contain_text(f"tiny [{twin[-6:]}]")
    expect(grid).to_contain_text("1 of 2")

    # point 9: a judge job's worker is reaped when it ends, and its row offers no run config to reuse
    open_page(page, "Data", "Data")
    choose(page, "Pairs to judge", "dataset:sample")
    choose(page, "Judge", "longest (yardstick)")
    page.get_by_role("button", name="Judge these pairs").click()
    expect(page.get_by_text(re.compile(r"Judging dataset:sample in the background \(job (\S+)\)"))).to_be_visible()
    job = re.search(r"job (\S+)\)", page.get_by_text(re.compile("in the background")).inner_text()).group(1)
    deadline = time.monotonic() + SLOW / 1000
    while store.get_run(job)["status"] != "succeeded" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert store.get_run(job)["status"] == "succeeded"
    time.sleep(2)  # the reaper thread waits on the worker's exit
    assert defunct_children(store) == []
    open_page(page, "Runs", "Runs")
    choose(page, "Run", f"{job} · {store.get_run(job)['name']}")
    expect(page.get_by_role("button", name="New run from this config")).to_be_disabled()

    # point 5: the monitor opens on a run with curves, and says why the gated one has none
    open_page(page, "Training monitor", "Training monitor")
    box = page.get_by_role("combobox", name="Run", exact=True)
    expect(box).to_have_value(f"{older} · tiny")
    choose(page, "Run", f"{gated} · gated")
    expect(page.get_by_text(re.compile("stopped by the judge gate before training"))).to_be_visible()
    page.get_by_role("button", name=re.compile("^Show the latest run with curves")).click()
    expect(box).to_have_value(f"{older} · tiny")

    # point 9: offline means offline: every request went to the local server
    for title, heading in (("Start here", "RLAIF judge audit"), ("Report", "Report for stakeholders")):
        open_page(page, title, heading)
    wait_idle(page)
    elsewhere = sorted({urlparse(u).netloc for u in requested if urlparse(u).scheme in ("http", "https", "ws", "wss")}
                       - {urlparse(url).netloc})
    assert not elsewhere, f"requests left the machine: {elsewhere}"
