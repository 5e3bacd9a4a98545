"""The dashboard as a person sees it: a real Streamlit server and Debian's headless Chromium.

Playwright drives the system Chromium (``/usr/bin/chromium``, from ``apt-get install chromium``);
``playwright install`` is never run, since it downloads a browser build of its own.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("RLAIF_AUDIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDTH = 1400
SLOW = 60_000  # ms: the CPU is shared and slow, so every wait is generous


def require_browser() -> None:
    """Skip with the reason on a developer's machine without Chromium; fail in CI (CI=true)."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -r requirements-test.txt)")
    if not missing:
        return
    reason = "browser test needs " + " and ".join(missing)
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + ": .ci/run should have installed it", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(root: Path, *, store: Path, cache: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run dashboard/app.py`` on a free port; return the process and its URL once it serves."""
    port = free_port()
    env = {**os.environ, "RLAIF_AUDIT_STORE": str(store), "RLAIF_AUDIT_CACHE": str(cache),
           "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.headless", "true",
           "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as answer:
                if answer.status == 200:
                    return proc, url
        time.sleep(0.5)
    stop_process(proc)
    raise RuntimeError(f"streamlit did not serve {url} within 120 s:\n{log.read_text()[-3000:]}")


def stop_process(proc: subprocess.Popen) -> None:
    """End a process we started, and its process group (it was started in a session of its own)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


def stop_run_workers(store) -> None:
    """End the worker processes the app launched for runs that have not finished (a failed test's leftovers)."""
    from core.store import RunStatus

    for run in store.list_runs().to_dict("records"):
        pid = run["pid"]
        if pid and pid == pid and not RunStatus(run["status"]).is_finished():  # pid == pid: not NaN (never launched)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(pid), signal.SIGTERM)  # the worker runs in a session of its own


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


# -- acting on the page ------------------------------------------------------------------
def wait_idle(page, timeout: float = SLOW) -> None:
    """Wait until the script has finished its run and nothing on the page is stale (faded)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)
    page.wait_for_function("() => !document.querySelector('[data-stale=\"true\"]')", timeout=timeout)


def open_page(page, title: str, heading: str) -> None:
    """Click a page in the sidebar (the session, and so session_state, is kept) and wait for its title."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    page.get_by_role("heading", name=heading).wait_for(timeout=SLOW)


def choose(page, label: str, option: str) -> None:
    """Pick an option of a selectbox, as a person does: open it, type to filter, click the option. The page
    is let settle first: a click while Streamlit redraws the box can leave the list closed."""
    from playwright.sync_api import expect

    wait_idle(page)
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option, exact=True).click()
    expect(box).to_have_value(option, timeout=SLOW)


def type_into(page, label: str, text: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Enter")


def assert_page_clean(page) -> None:
    """No traceback, and no object dumped by Streamlit's magic (a bare expression on a page)."""
    stray = page.locator('[data-testid="stException"], [data-testid="stHelp"]')
    assert stray.count() == 0, f"{page.url} shows:\n{stray.first.inner_text()[:1500]}"


def screenshot(page, path: Path) -> None:
    """The whole page at WIDTH px: Streamlit scrolls inside <main>, so the viewport is made as tall as it."""
    page.mouse.move(WIDTH - 20, 880)  # over empty space: no hover toolbar or focus ring in the picture
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    wait_idle(page)
    assert_page_clean(page)
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": WIDTH, "height": max(900, int(height))})
    page.wait_for_function("() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
                           " return m.scrollHeight <= m.clientHeight + 1; }", timeout=SLOW)
    wait_idle(page)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    page.set_viewport_size({"width": WIDTH, "height": 900})


def wait_for_charts(page, count: int, *, drawn: bool | int = False) -> None:
    """Wait for ``count`` plotly charts that hold traces (with ``drawn``, markers or bars in their SVG
    too: in every chart, or with an int, in that many first charts)."""
    first = count if drawn is True else int(drawn)
    page.wait_for_function("""([count, first]) => {
        const divs = document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot');
        return divs.length === count && Array.from(divs).every((div, i) => (div.data || []).length > 0
            && (i >= first || div.querySelectorAll('.point').length > 0)); }""", arg=[count, first])


def trace_names(page) -> list[list[str]]:
    """The trace (legend) names of each plotly chart, in page order."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot'))
        .map(div => (div.data || []).map(trace => trace.name || ''))""")
