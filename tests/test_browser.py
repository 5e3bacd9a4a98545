"""Issue 13's main path in a real headless Chromium, against a real `streamlit run` of the dashboard.

A person uploads pairs with human labels on Data and judges them there with a yardstick and a local
judge from a judge YAML, sees both judges on Agreement & bias, starts the `tiny` preset and a second
run from its config on Runs, overlays the two on the Training monitor, spot-checks three pairs with
the keyboard alone, and downloads the Report. Model text carrying HTML, script and markdown stays
inert text. Each page is saved as docs/screenshots/<page>.png (1400 px wide, whole page) on the way.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from core.schema import ResponsePair
from core.store import RunStatus, Store
from tests.browser_helpers import (
    SLOW,
    choose,
    open_page,
    screenshot,
    trace_names,
    type_into,
    wait_for_charts,
    wait_idle,
)
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # several minutes: two tiny runs of the whole loop happen in it

SHOTS = ROOT / "docs" / "screenshots"
XSS = ('<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> '
       '[link](javascript:window.__xss=3) ![img](http://127.0.0.1:1/x.png)')
RUNS_DONE = 900.0  # s: two tiny runs share two cores with the server, the browser and other work
JOB_DONE = 240_000  # ms: a judge job (the tiny local judge loads a model first)
# Six pairs people labelled: the longer answer is better in three, the shorter (or a tie) in three, so
# the `longest` yardstick agrees with them on half.
PAIRS = [
    ("Why is the sky blue?", "Sunlight scatters off air molecules, and blue light scatters most, so the sky "
     "looks blue from every direction.", "Because of the sea.", "a"),
    ("How do I boil an egg?", "Put the egg in boiling water for about nine minutes, then cool it in cold water.",
     "Boil it.", "a"),
    ("Name a prime above 20.", "23.", "Numbers above twenty include many primes; for example 21 is one of them, "
     "as is 27, since both are odd.", "a"),
    ("What is 7 times 8?", "56.", "Seven times eight is a product; multiplying gives fifty-four, a number "
     "people often get wrong.", "a"),
    ("Translate 'merci' to English.", "Thank you.", "It means thank you: 'merci' is how French speakers say "
     "thanks, in any situation, formal or not.", "b"),
    ("Is water wet?", "Yes.", "No.", "tie"),
]


def add_review_dataset(store: Store) -> None:
    """dataset:xss — four pairs ada labelled earlier, and one whose response A is an XSS corpus."""
    from core.judges import judge_pairs, make_judge

    done = [ResponsePair(f"xss/{i}", f"Question {i}?", "A careful, complete answer. " * (i + 1), "Short.")
            for i in range(4)]
    evil = ResponsePair("xss/evil", "Say hi", XSS, "hi")
    judgments = [j for name in ("longest", "shortest") for j in judge_pairs(make_judge(name), [*done, evil])]
    store.import_dataset("xss", [*done, evil], [(p.pair_id, "ada", "A") for p in done], judgments)


def test_main_path_in_a_real_browser(browser_app, browser_page, tmp_path):
    (url, store), page = browser_app, browser_page
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(url)
    page.get_by_role("heading", name="RLAIF judge audit").wait_for()
    screenshot(page, SHOTS / "start-here.png")
    add_review_dataset(store)

    upload_pairs(page, tmp_path)
    judge_from_the_browser(page, tmp_path)
    download_human_labels(page)
    agreement_shows_both_judges(page)
    first, second = start_two_runs(page)
    wait_for_runs(store, [first, second])
    configs = [store.get_run(r)["config"] for r in (first, second)]
    assert [c["name"] for c in configs] == ["tiny", "tiny-again"]
    assert configs[0]["policy_model"] == "tiny" and {**configs[0]["prompts"], "n": 4} == configs[1]["prompts"]
    assert {k: v for k, v in configs[0].items() if k not in ("name", "prompts")} == \
        {k: v for k, v in configs[1].items() if k not in ("name", "prompts")}  # the rest came from the first run
    compare_runs_on_the_monitor(page, first, second)
    spot_check_with_the_keyboard(page)
    label_the_xss_pair(page, requested)
    build_and_download_the_report(page)


def upload_pairs(page, tmp_path) -> None:
    from playwright.sync_api import expect

    open_page(page, "Data", "Data")
    upload = tmp_path / "team_pairs.jsonl"
    upload.write_text("".join(json.dumps({"id": i, "prompt": prompt, "response_a": a, "response_b": b,
                                          "human_preferred": human}) + "\n"
                              for i, (prompt, a, b, human) in enumerate(PAIRS, start=1)))
    page.get_by_test_id("stFileUploader").first.locator('input[type="file"]').set_input_files(upload)
    type_into(page, "Dataset name", "team")
    page.get_by_role("button", name="Import pairs").click()
    expect(page.get_by_text(f"Imported {len(PAIRS)} pairs into dataset:team.")).to_be_visible()


def judge_from_the_browser(page, tmp_path) -> None:
    """Two background judge jobs on the uploaded pairs, each followed to `succeeded` in the jobs panel."""
    choose(page, "Pairs to judge", "dataset:team")
    choose(page, "Judge", "longest (yardstick)")
    start_judge_job(page, "longest")
    # The embedded SmolLM2-135M choice is the same code path with another judge YAML
    # (sample_data/default_judge.yaml); tests never load the 135M model, so a tiny local judge stands in.
    judge_yaml = tmp_path / "tiny_judge.yaml"
    judge_yaml.write_text("backend: local\nmodel: tiny\nmethod: pointwise\n")
    choose(page, "Judge", "a judge YAML file on this machine…")
    type_into(page, "Path of the judge YAML (fields of JudgeConfig, docs/scaling.md)", str(judge_yaml))
    start_judge_job(page, "tiny-pointwise")
    screenshot(page, SHOTS / "data.png")


def start_judge_job(page, judge: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="Judge these pairs").click()
    expect(page.get_by_text(re.compile(r"Judging dataset:team in the background \(job \S+\)"))).to_be_visible()
    # the jobs panel (polled every 2 s) says "<judge> · <status> · <message>" for each job
    expect(page.get_by_text(re.compile(f"^{re.escape(judge)} · succeeded"))).to_be_visible(timeout=JOB_DONE)


def download_human_labels(page) -> None:
    choose(page, "Pairs to export", "dataset:team")
    page.get_by_role("button", name="Build the files for download").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Human labels (CSV)").click()
    labels = Path(download.value.path()).read_text(encoding="utf-8")
    assert "Translate 'merci' to English." in labels and labels.count("\n") >= len(PAIRS), labels[:500]


def agreement_shows_both_judges(page) -> None:
    from playwright.sync_api import expect

    open_page(page, "Agreement & bias", "Agreement & bias")
    choose(page, "Pairs", "dataset:team")
    expect(page.get_by_test_id("stMetricValue").first).to_have_text(str(len(PAIRS)))
    box = page.get_by_role("combobox", name="Judge to read about", exact=True)
    box.click()
    options = page.get_by_role("option")
    expect(options).to_have_count(2)
    assert sorted(options.all_inner_texts()) == ["longest", "tiny-pointwise"], options.all_inner_texts()
    page.keyboard.press("Escape")
    wait_for_charts(page, 6 + 1)  # six audit charts and the cost chart
    screenshot(page, SHOTS / "agreement.png")


def start_two_runs(page) -> tuple[str, str]:
    """`tiny` from the preset list, then a second run from the first one's stored config."""
    from playwright.sync_api import expect

    open_page(page, "Runs", "Runs")
    choose(page, "Preset", "tiny (sample_data)")
    expect(page.get_by_text("The form holds preset tiny (sample_data).")).to_be_visible()
    for label in ("Run name", "Policy model ('smollm2-135m', 'tiny' or a folder)",
                  "Judge model (local name/folder, or the API model)"):  # never the 135M model in a test
        expect(page.get_by_label(label, exact=True)).to_have_value("tiny")
    first = start_run(page)
    choose(page, "Run", f"{first} · tiny")
    page.get_by_role("button", name="New run from this config").click()
    expect(page.get_by_text(f"The form holds run {first}'s config")).to_be_visible()
    for label, value in (("Run name", "tiny-again"), ("Prompts per round", "4")):  # other data: curves to compare
        box = page.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Tab")
    second = start_run(page, before=(first,))
    expect(page.get_by_role("combobox", name="Run", exact=True)).to_have_value(f"{second} · tiny-again")
    screenshot(page, SHOTS / "runs.png")
    return first, second


def start_run(page, before: tuple[str, ...] = ()) -> str:
    """Click "Start run"; the id of the run it started. ``before``: runs started earlier, whose
    "Started run" message may still be on screen while the page reruns."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Start run").click()
    pattern = r"Started run (?!" + "|".join(map(re.escape, before)) + r"\b)\S+ in a worker process" if before \
        else r"Started run \S+ in a worker process"
    started = page.get_by_text(re.compile(pattern))
    expect(started).to_be_visible()
    return re.search(r"Started run (\S+) in", started.inner_text()).group(1)


def wait_for_runs(store: Store, run_ids: list[str]) -> None:
    """The worker writes each run's end to the store; both must have succeeded."""
    deadline = time.monotonic() + RUNS_DONE
    while time.monotonic() < deadline:
        if all(RunStatus(store.get_run(r)["status"]).is_finished() for r in run_ids):
            break
        time.sleep(2)
    for run_id in run_ids:
        run = store.get_run(run_id)
        log = store.path.parent / "runs" / run_id / "worker.log"
        assert run["status"] == "succeeded", (f"{run_id}: {run['status']} {run['error']}\n"
                                              f"{log.read_text()[-3000:] if log.exists() else 'no log'}")


def compare_runs_on_the_monitor(page, first: str, second: str) -> None:
    """The first run in focus, the second overlaid: every training chart holds curves of both."""
    from playwright.sync_api import expect

    open_page(page, "Training monitor", "Training monitor")
    choose(page, "Run", f"{first} · tiny")
    expect(page.get_by_text("Status: succeeded")).to_be_visible()
    overlay = page.get_by_role("combobox", name=re.compile(r"^Overlay other runs to compare"))
    overlay.click()
    page.get_by_role("option", name=f"{second} · tiny-again", exact=True).click()
    page.keyboard.press("Escape")
    # PPO reward, KL/entropy, reward against KL, length, RM training; then the focused run's three gaming charts
    wait_for_charts(page, 5 + 3, drawn=5)
    wait_idle(page)
    names = trace_names(page)[:5]
    for traces in names:  # legend names are "<run name> [<last six of the id>] · r<round>"
        assert any(f"[{first[-6:]}]" in t for t in traces) and any(f"[{second[-6:]}]" in t for t in traces), names
    screenshot(page, SHOTS / "training-monitor.png")


def press_shortcut(page, key: str, *, done, before) -> None:
    """Press a button's keyboard shortcut with focus off every text box, once the script is idle. A key
    pressed while Streamlit re-renders can be dropped: then (and only while the page still shows the
    state before, so nothing is labelled twice) it is pressed again."""
    for _ in range(3):
        wait_idle(page)
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        page.keyboard.press(key)
        try:
            done.wait_for(timeout=15_000)
            return
        except Exception:
            if not before.is_visible():
                break
    done.wait_for(timeout=SLOW)


def shown_pair(page) -> str:
    return re.search(r"pair (\S+)", page.get_by_text(re.compile(r"^Prompt · pair ")).inner_text()).group(1)


def spot_check_with_the_keyboard(page) -> None:
    """Name typed, then A, B, T pressed with N between: three labels, no click on a button. After each
    label the pair stays on screen with the judges' verdicts on it, until N."""
    from playwright.sync_api import expect

    open_page(page, "Spot-check", "Spot-check the judge")
    choose(page, "Pairs", "dataset:sample")
    type_into(page, "Your name", "grace")
    expect(page.get_by_text("You labelled 0 of 60 pairs")).to_be_visible()
    for n, (key, said) in enumerate((("a", "A is better"), ("b", "B is better"), ("t", "a tie")), start=1):
        pair = shown_pair(page)
        press_shortcut(page, key, done=page.get_by_text(f"You labelled {n} of 60 pairs"),
                       before=page.get_by_text(f"You labelled {n - 1} of 60 pairs"))
        expect(page.get_by_text(f"Saved: you said {said} on pair {pair}.")).to_be_visible()
        expect(page.get_by_text(f"What the judges said about this pair ({pair})")).to_be_visible()
        assert shown_pair(page) == pair  # the verdicts are drawn under the pair they are about
        if n < 3:
            press_shortcut(page, "n", done=page.get_by_text(re.compile(r"^Prompt · pair (?!" + re.escape(pair) + ")")),
                           before=page.get_by_text(f"Prompt · pair {pair}", exact=True))
    expect(page.get_by_text(re.compile(r"when A was shown first, \d+% when shown second")).first).to_be_visible()
    screenshot(page, SHOTS / "spot-check.png")
    page.get_by_role("button", name="Next pair").click()


def label_the_xss_pair(page, requested: list[str]) -> None:
    """Model text is shown as text: no tag, link or image of it comes alive, nothing is fetched."""
    from playwright.sync_api import expect

    choose(page, "Pairs", "dataset:xss")
    page.get_by_role("button", name="Change name").click()
    type_into(page, "Your name", "ada")
    expect(page.get_by_text("Prompt · pair xss/evil")).to_be_visible()
    shown = page.get_by_test_id("stText").filter(has_text="window.__xss=2")
    expect(shown).to_have_count(1)
    assert shown.inner_text() == XSS
    live = page.evaluate("""() => document.querySelectorAll(
        'img[src="x"], a[href^="javascript:"], img[src*="127.0.0.1:1"]').length
        + Array.from(document.scripts).filter(s => s.text.includes('__xss')).length""")
    assert live == 0
    page.get_by_role("button", name="A is better").click()
    expect(page.get_by_text("Saved: you said A is better on pair xss/evil.")).to_be_visible()
    page.get_by_role("button", name="Next pair").click()
    expect(page.get_by_text("Nothing left to label here. Thank you!")).to_be_visible()
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert not [u for u in requested if "127.0.0.1:1/" in u]
    open_page(page, "Agreement & bias", "Agreement & bias")
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("5")  # the label just given counts


def build_and_download_the_report(page) -> None:
    from playwright.sync_api import expect

    open_page(page, "Report", "Report for stakeholders")
    choose(page, "Pairs", "dataset:sample")
    expect(page.get_by_label(re.compile(r"^Include the latest training run"))).to_be_checked()
    page.get_by_role("button", name="Build HTML report").click()
    button = page.get_by_role("button", name="Download report.html")
    with page.expect_download() as download:
        button.click()
    html = Path(download.value.path()).read_bytes()
    assert len(html) < 2_000_000, len(html)
    text = html.decode("utf-8")
    assert "<h2>Training run tiny" in text and "Plotly" in text, text[:500]
    expect(button).to_be_visible()  # the button stays after a download
    screenshot(page, SHOTS / "report.png")
