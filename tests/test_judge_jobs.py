"""Judging a source in the background: the real worker process, cancel mid-way, resume without paying twice."""
from __future__ import annotations

import time

import pytest
import yaml
from fake_openai_server import FakeOpenAIServer

from core.runs import judge_jobs
from core.runs.worker import launch_run
from core.schema import ResponsePair

KEY_ENV = "RLAIF_TEST_JOB_KEY"
PAIRS = [ResponsePair(f"d/{i:02d}", f"Question {i}: what do you say?", "Short." if i % 2 else "A long answer. " * 3,
                      "A long answer. " * 3 if i % 2 else "Short.") for i in range(40)]


def _wait(store, run_id, until, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = store.get_run(run_id)
        if until(run):
            return run
        time.sleep(0.2)
    raise AssertionError(f"job {run_id} stuck: {store.get_run(run_id)}")


def _api_judge(tmp_path, server):
    return str(judge_jobs.write_api_judge(tmp_path / "judges", name="fake", base_url=server.base_url,
                                          model="fake-judge", api_key_env=KEY_ENV))


def test_a_judge_job_runs_in_the_worker_and_lands_in_the_store(store):
    store.add_pairs(PAIRS, dataset="d")
    run_id = judge_jobs.start_judge_job(store, "dataset:d", "longest")
    assert store.get_run(run_id)["status"] == "queued" and judge_jobs.is_judge_job(store.get_run(run_id))
    launch_run(store, run_id)
    run = _wait(store, run_id, lambda r: r["status"] in ("succeeded", "failed"))
    assert run["status"] == "succeeded", run["error"]
    assert "40 pairs of dataset:d judged" in run["message"]
    assert len(store.source_judgments("dataset:d", "longest")) == 40
    assert [j["run_id"] for j in judge_jobs.judge_jobs(store, "dataset:d")] == [run_id]


def test_cancel_then_resume_judges_every_pair_once_and_pays_once(store, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-test-secret")
    store.add_pairs(PAIRS, dataset="d")
    with FakeOpenAIServer() as server:
        server.add_fault("delay", seconds=0.25, times=10_000)  # slow enough to cancel mid-way
        spec = _api_judge(tmp_path, server)
        run_id = judge_jobs.start_judge_job(store, "dataset:d", spec)
        launch_run(store, run_id)
        _wait(store, run_id, lambda r: len(store.judgments_frame()) >= 16)  # the first chunk landed
        store.request_cancel(run_id)
        run = _wait(store, run_id, lambda r: r["status"] in ("cancelled", "succeeded", "failed"))
        assert run["status"] == "cancelled"
        judged_before = len(store.judgments_frame())
        assert 16 <= judged_before < 40
        server.clear_faults()
        launch_run(store, run_id)  # what Resume does
        run = _wait(store, run_id, lambda r: r["status"] in ("succeeded", "failed"))
        assert run["status"] == "succeeded", run["error"]
        frame = store.judgments_frame()
        assert len(frame) == 40 and frame["pair_id"].is_unique
        assert max(server.answered.count(t) for t in set(server.answered)) == 1  # no answer paid for twice
    assert "sk-test-secret" not in store.path.read_bytes().decode("latin-1")


def test_an_api_judge_without_its_key_variable_is_refused_before_anything_is_recorded(store, tmp_path,
                                                                                   monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    store.add_pairs(PAIRS, dataset="d")
    with FakeOpenAIServer() as server:
        spec = _api_judge(tmp_path, server)
    with pytest.raises(ValueError, match=f"\\${KEY_ENV} is not set"):
        judge_jobs.start_judge_job(store, "dataset:d", spec)
    with pytest.raises(ValueError, match="no pairs"):
        judge_jobs.start_judge_job(store, "dataset:nope", "longest")
    assert store.list_runs().empty


def test_the_api_judge_file_names_the_variable_never_the_key(tmp_path):
    path = judge_jobs.write_api_judge(tmp_path, name="gpt", base_url="https://api.example/v1", model="m",
                                      api_key_env="OPENAI_API_KEY")
    assert yaml.safe_load(path.read_text())["api_key_env"] == "OPENAI_API_KEY"
    with pytest.raises(ValueError, match="not an environment variable name"):
        judge_jobs.write_api_judge(tmp_path, name="leak", base_url="https://api.example/v1", model="m",
                                   api_key_env="sk-abc123")
    with pytest.raises(ValueError, match="base_url"):
        judge_jobs.write_api_judge(tmp_path, name="nourl", base_url="", model="m", api_key_env="X")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gpt.yaml"]  # nothing half-written
