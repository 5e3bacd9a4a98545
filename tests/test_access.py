"""Access: a configured password guards launching, cancelling, resuming and deleting runs; every
label names its annotator; an API key never reaches the store, a log or an export."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from fake_openai_server import FakeOpenAIServer
from streamlit.testing.v1 import AppTest

from core.config import config_from_dict
from core.data import import_file
from core.judges.local import DEFAULT_PRINCIPLES
from core.runs.pipeline import start_run
from core.runs.worker import launch_run
from core.schema import ResponsePair
from core.store import RunStatus, Store
from core.views import access
from tests.conftest import ROOT, SAMPLE

RUNS_PAGE = str(ROOT / "dashboard" / "pages" / "runs.py")
PASSWORD = "correct horse battery staple"
PASSWORD_KEY = "access_password"


def test_password_is_compared_from_the_environment_and_only_when_configured():
    env = {access.PASSWORD_ENV: PASSWORD}
    assert access.password_matches(PASSWORD, env)
    assert not access.password_matches(PASSWORD + " ", env) and not access.password_matches("", env)
    assert not access.password_matches("", {})  # no password configured: nothing matches
    assert access.may_act(password_ok=False, login_configured=False, logged_in=False, environ={})
    assert not access.may_act(password_ok=False, login_configured=False, logged_in=False, environ=env)
    assert access.may_act(password_ok=True, login_configured=False, logged_in=False, environ=env)
    assert not access.may_act(password_ok=False, login_configured=True, logged_in=False, environ={})
    assert access.may_act(password_ok=False, login_configured=True, logged_in=True, environ={})


@pytest.fixture
def guarded_store(tmp_path, monkeypatch):
    path = tmp_path / "store.sqlite"
    monkeypatch.setenv("RLAIF_AUDIT_STORE", str(path))
    monkeypatch.setenv(access.PASSWORD_ENV, PASSWORD)
    from dashboard.state import get_store

    get_store.clear()
    return Store(path)


def finished_run(store: Store, tmp_path: Path, status=RunStatus.FAILED) -> str:
    """A stored run that fails fast if launched: tiny policy, a prompts file that does not exist."""
    run_id = store.create_run({"name": "guarded", "policy_model": "tiny",
                               "prompts": {"path": str(tmp_path / "missing.jsonl")}}, name="guarded")
    store.update_run(run_id, status=status)
    folder = store.path.parent / "runs" / run_id
    folder.mkdir(parents=True)
    (folder / "worker.log").write_text("log\n")
    return run_id


def buttons(at) -> dict[str, bool]:
    return {b.label: b.disabled for b in at.button}


def test_without_the_password_the_run_buttons_refuse(guarded_store, tmp_path):
    run_id = finished_run(guarded_store, tmp_path)
    at = AppTest.from_file(RUNS_PAGE, default_timeout=60).run()
    assert not at.exception
    # filling the form from a run's config changes nothing stored: it needs no password, Start run does
    assert buttons(at) == {"Start run": True, "Cancel": True, "Resume": True, "New run from this config": False,
                           "Delete": True}
    assert at.checkbox(key="delete_confirm").disabled
    at.text_input(key=PASSWORD_KEY).input("guess").run()
    assert "Wrong password." in [e.value for e in at.error]
    assert buttons(at)["Resume"] and buttons(at)["Start run"]
    run = guarded_store.get_run(run_id)
    assert run["status"] == "failed" and run["pid"] is None and len(guarded_store.list_runs()) == 1


def test_with_the_password_start_resume_cancel_and_delete_work(guarded_store, tmp_path):
    run_id = finished_run(guarded_store, tmp_path)
    at = AppTest.from_file(RUNS_PAGE, default_timeout=60).run()
    at.text_input(key=PASSWORD_KEY).input(PASSWORD).run()
    assert not at.exception and at.session_state["access_authorized"] is True
    assert at.session_state[PASSWORD_KEY] == ""  # the session keeps that it matched, not the password
    assert not buttons(at)["Start run"] and not buttons(at)["Resume"]
    fields = {w.label: w for w in at.text_input}  # Start runs the form's checks: a bad path is refused
    fields["Prompts (JSONL/CSV/HF dataset folder)"].set_value(str(tmp_path / "nowhere.jsonl"))
    at.button[0].click().run()
    assert "prompts file not found" in at.error[0].value

    at.button(key="resume_run").click().run()  # a real worker process, which fails on the missing prompts
    deadline = time.time() + 180
    while time.time() < deadline and "missing.jsonl" not in guarded_store.get_run(run_id)["error"]:
        time.sleep(0.5)
    run = guarded_store.get_run(run_id)
    assert run["pid"] and run["status"] == "failed" and "missing.jsonl" in run["error"]

    live = guarded_store.create_run({"name": "live"}, name="live")
    guarded_store.update_run(live, status=RunStatus.RUNNING)
    at.run()
    at.selectbox(key="runs_selected").set_value(live).run()
    assert buttons(at)["Delete"]  # a live run cannot be deleted, even with the box ticked
    at.button(key="cancel_run").click().run()
    assert guarded_store.get_run(live)["cancel_requested"] == 1

    at.selectbox(key="runs_selected").set_value(run_id).run()
    at.checkbox(key="delete_confirm").check().run()
    at.button(key="delete_run").click().run()
    assert not at.exception
    assert run_id not in set(guarded_store.list_runs().run_id)
    assert not (guarded_store.path.parent / "runs" / run_id).exists()


def test_uploads_on_the_data_page_need_the_password_too(guarded_store):
    at = AppTest.from_file(str(ROOT / "dashboard" / "pages" / "data.py"), default_timeout=60).run()
    assert not at.exception
    assert not at.get("file_uploader") and not [b for b in at.button if b.key in ("import_pairs", "save_prompts")]
    at.button(key="build_downloads").click().run()
    assert [d.label for d in at.get("download_button")]  # downloading needs no password
    at.text_input(key=PASSWORD_KEY).input("guess").run()
    assert "Wrong password." in [e.value for e in at.error] and not at.get("file_uploader")
    at.text_input(key=PASSWORD_KEY).input(PASSWORD).run()
    assert len(at.get("file_uploader")) == 2


def test_delete_run_removes_every_row_of_the_run_and_nothing_else(store):
    from core.runs.worker import delete_run

    keep, gone = (store.create_run({"name": n}, name=n) for n in ("keep", "gone"))
    for run_id in (keep, gone):
        store.add_pairs([ResponsePair(f"{run_id}/p", "q", "a", "b")], run_id=run_id)
        store.set_human_label(f"{run_id}/p", "ana", "a")
        store.add_metrics(run_id, 0, "ppo", 1, {"objective/kl": 0.1})
        store.set_artifact(run_id, 0, "policy", "/x")
        store.update_run(run_id, status=RunStatus.SUCCEEDED)
    folder = store.path.parent / "runs" / gone
    (folder / "round0").mkdir(parents=True)
    deleted = delete_run(store, gone)
    assert deleted["runs"] == deleted["pairs"] == deleted["human_labels"] == deleted["metrics"] == 1
    assert not folder.exists()
    assert set(store.list_runs().run_id) == {keep} and store.counts(keep)["pairs"] == 1
    assert list(store.human_labels_frame().pair_id) == [f"{keep}/p"]
    store.update_run(keep, status=RunStatus.RUNNING)
    with pytest.raises(ValueError, match="running"):
        delete_run(store, keep)


def test_every_label_records_its_annotator(store, tmp_path, monkeypatch):
    for who in ("", "   "):
        with pytest.raises(ValueError, match="annotator"):
            store.set_human_label("p1", who, "a")
    store.set_human_label("p1", " ana ", "a")
    import_file(store, "pairs", SAMPLE / "human_pairs.jsonl", dataset="team")
    import_file(store, "trl", ROOT / "tests" / "fixtures" / "formats" / "trl_standard.jsonl", dataset="trl",
                annotator="vendor")
    labels = store.human_labels_frame()
    assert len(labels) > 60 and labels.annotator.str.strip().ne("").all()
    assert "ana" in set(labels.annotator) and "vendor" in set(labels.annotator)
    # the spot-check page offers no label buttons until the person gives a name
    monkeypatch.setenv("RLAIF_AUDIT_STORE", str(store.path))
    from dashboard.state import get_store

    get_store.clear()
    at = AppTest.from_file(str(ROOT / "dashboard" / "pages" / "spotcheck.py"), default_timeout=60).run()
    assert not at.exception and not [b for b in at.button if (b.key or "").startswith("label_")]


# -- API keys ----------------------------------------------------------------------------
PLANTED = "sk-test-PLANTED-" + "7f3a9c" * 6
KEY_ENV = "JUDGE_API_KEY"


def openai_run_config(tmp_path: Path, base_url: str) -> dict:
    cfg = yaml.safe_load((SAMPLE / "tiny.yaml").read_text())
    cfg.update(name="keyed", rounds=1, human_pairs="")
    cfg["prompts"] = {"path": str(SAMPLE / "prompts.jsonl"), "n": 4, "n_clusters": 2, "seed": 0}
    cfg["judge"] = {"backend": "openai", "base_url": base_url, "model": "fake-judge", "api_key_env": KEY_ENV,
                    "principles": str(DEFAULT_PRINCIPLES), "timeout_s": 5.0, "max_retries": 3,
                    "backoff_s": 0.01, "concurrency": 2}
    cfg["reward"] = {**cfg["reward"], "epochs": 1}
    cfg["ppo"] = {**cfg["ppo"], "updates": 1}
    return cfg


def run_worker(store: Store, cfg: dict) -> str:
    run_id = start_run(store, config_from_dict(cfg))
    launch_run(store, run_id).wait(timeout=420)
    return run_id


@pytest.mark.slow
def test_a_planted_api_key_reaches_no_store_log_or_export(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, PLANTED)
    store = Store(tmp_path / "work" / "store.sqlite")
    outputs = []
    with FakeOpenAIServer() as server:
        # the server echoes the key in an error body (retried, then answered) ...
        server.add_fault("status", status=500, text=f"upstream rejected {PLANTED}")
        good = run_worker(store, openai_run_config(tmp_path, server.base_url))
        assert store.get_run(good)["status"] == "succeeded", store.get_run(good)["error"]
        # ... and in a 401 that stops a second run, whose error the store and the log keep
        server.add_fault("status", status=401, text=f"Incorrect API key provided: {PLANTED}", times=100)
        principles = tmp_path / "other_principles.txt"  # another judge definition: nothing cached for it
        principles.write_text("- Prefer the kinder answer.\n")
        refused = openai_run_config(tmp_path, server.base_url)
        refused.update(name="refused", judge={**refused["judge"], "principles": str(principles)})
        bad = run_worker(store, refused)
        error = store.get_run(bad)["error"]
        assert store.get_run(bad)["status"] == "failed" and "401" in error and "***" in error  # redacted echo
        assert {r["authorization"] for r in server.requests} == {f"Bearer {PLANTED}"}  # the key was in use
    exports = tmp_path / "exports"
    for fmt, name in (("trl-jsonl", "prefs.jsonl"), ("trl-parquet", "prefs.parquet"), ("hf-dataset", "prefs_ds"),
                      ("labels-csv", "labels.csv")):
        outputs.append(cli("export", "--format", fmt, "--source", f"run:{good}", "--out", str(exports / name),
                           "--store", str(store.path)))
    outputs.append(cli("judge", "--source", f"run:{good}", "--judge", "longest", "--store", str(store.path)))
    write_report(store, f"run:{good}", exports / "report.html")

    written = [p for p in (tmp_path / "work").rglob("*") if p.is_file()]
    written += [p for p in exports.rglob("*") if p.is_file()]
    assert any(p.name == "worker.log" for p in written) and any(p.suffix == ".safetensors" for p in written)
    assert any(p.name.startswith("store.sqlite") for p in written)
    leaks = [str(p) for p in written if PLANTED.encode() in p.read_bytes()]
    leaks += [f"output of {args}" for args, text in outputs if PLANTED in text]
    assert leaks == []
    assert json.dumps(store.get_run(good)["config"]).count(KEY_ENV) == 1  # the variable's name, never its value


def cli(*args: str) -> tuple[tuple, str]:
    proc = subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return args, proc.stdout + proc.stderr


def write_report(store: Store, source: str, out: Path) -> None:
    from core.human_labels.with_verdicts import disagreements, source_audit
    from core.views.report_html import build_report_html

    for pair_id in store.pairs_frame(run_id=source.split(":", 1)[1]).pair_id:
        store.set_human_label(pair_id, "auditor", "a")
    judge = next(j for j in store.source_judgments(source).judge.unique() if j.startswith("openai-"))
    html = build_report_html(source_audit(store, source, n_boot=20), source=source, focus=judge,
                             examples=disagreements(store, source, judge, limit=20))
    out.write_text(html, encoding="utf-8")
