"""A newcomer's clone: the defaults and the `rlaif-audit` command work from any folder."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
import yaml
from fake_openai_server import FakeOpenAIServer

from core.cli import main as cli_main
from core.judges import make_judge
from core.judges.local import DEFAULT_PRINCIPLES, read_principles
from tests.conftest import ROOT, SAMPLE

CONSOLE = Path(sys.executable).with_name("rlaif-audit")
KEY_ENV = "RLAIF_TEST_JUDGE_KEY"


def _pairs_file(folder: Path) -> Path:
    path = folder / "pairs.jsonl"
    rows = [{"id": f"p{i}", "prompt": f"Question {i}?", "response_a": "Short." if i % 2 else "A long answer. " * 4,
             "response_b": "A long answer. " * 4 if i % 2 else "Short.", "human_preferred": "b" if i % 2 else "a"}
            for i in range(6)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_the_default_principles_are_the_packaged_constitution_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no constitution.txt here
    assert DEFAULT_PRINCIPLES.is_file() and DEFAULT_PRINCIPLES.is_relative_to(ROOT / "core")
    assert read_principles("") == read_principles(DEFAULT_PRINCIPLES)
    judge = make_judge("local", model="tiny", method="pointwise")
    assert judge.principles == read_principles(DEFAULT_PRINCIPLES)


def test_a_local_judge_yaml_without_principles_audits_from_another_folder(tmp_path, monkeypatch, capsys):
    (tmp_path / "elsewhere").mkdir()
    judge_file = tmp_path / "judge.yaml"
    judge_file.write_text("backend: local\nmodel: tiny\nmethod: pointwise\n")
    pairs = _pairs_file(tmp_path)
    monkeypatch.chdir(tmp_path / "elsewhere")
    monkeypatch.setenv("RLAIF_AUDIT_STORE", str(tmp_path / "store.sqlite"))
    assert cli_main(["audit", "--pairs", str(pairs), "--judge", str(judge_file), "--n-boot", "20"]) == 0
    assert "agreement" in capsys.readouterr().out


def test_an_openai_judge_yaml_without_principles_uses_the_packaged_constitution(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    (tmp_path / "elsewhere").mkdir()
    pairs = _pairs_file(tmp_path)
    with FakeOpenAIServer() as server:
        judge_file = tmp_path / "judge.yaml"
        judge_file.write_text(yaml.safe_dump({"backend": "openai", "base_url": server.base_url, "model": "fake-judge",
                                              "api_key_env": KEY_ENV, "backoff_s": 0.01}))
        monkeypatch.chdir(tmp_path / "elsewhere")
        monkeypatch.setenv("RLAIF_AUDIT_STORE", str(tmp_path / "store.sqlite"))
        assert cli_main(["audit", "--pairs", str(pairs), "--judge", str(judge_file), "--n-boot", "20"]) == 0
        assert len(server.answered) == 12
    constitution_line = read_principles(DEFAULT_PRINCIPLES).splitlines()[0]
    assert any(constitution_line in text for text in server.answered)


def test_the_sample_configs_use_the_packaged_constitution():
    for name in ("tiny.yaml", "quick.yaml", "default_judge.yaml"):
        data = yaml.safe_load((SAMPLE / name).read_text())
        judge = data.get("judge", data)
        assert "principles" not in judge, name


def test_the_console_command_runs_from_any_folder(tmp_path):
    assert CONSOLE.is_file(), "scripts/setup.sh installs the project with `pip install -e .`"
    env = {**os.environ, "RLAIF_AUDIT_STORE": ""}
    env.pop("RLAIF_AUDIT_STORE")
    done = subprocess.run([str(CONSOLE), "import", str(_pairs_file(tmp_path)), "--format", "pairs",
                           "--dataset", "mine"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / ".rlaif" / "store.sqlite").is_file()  # the store of the folder the command ran in
    done = subprocess.run([str(CONSOLE), "judge", "--source", "dataset:mine", "--judge", "longest"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "judged 6 pairs of dataset:mine" in done.stdout


def test_usage_statistics_are_off():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False
    shown = subprocess.run([sys.executable, "-m", "streamlit", "config", "show"], cwd=ROOT, capture_output=True,
                           text=True, timeout=60, env={k: v for k, v in os.environ.items()
                                                       if not k.startswith("STREAMLIT_")}).stdout
    assert "gatherUsageStats = false" in shown
    assert "--browser.gatherUsageStats false" in (ROOT / "scripts" / "dashboard.sh").read_text()


@pytest.mark.slow
def test_the_console_dashboard_serves_from_another_folder(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "RLAIF_AUDIT_STORE": str(tmp_path / "store.sqlite")}
    proc = subprocess.Popen([str(CONSOLE), "dashboard", "--server.headless", "true", "--server.port", str(port)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    assert r.read() == b"ok"
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
