"""The whole loop on tiny models through the real CLI, in a real store."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from core.config import load_config
from core.loop.generation import generate_responses
from core.models import load_policy, load_tokenizer, resolve_model
from core.runs.pipeline import policy_for_round
from core.schema import Prompt
from core.store import Store
from tests.conftest import ROOT, SAMPLE


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    store_path = tmp_path_factory.mktemp("run") / "store.sqlite"
    proc = subprocess.run([sys.executable, "-m", "core", "run", "--config", str(SAMPLE / "tiny.yaml"),
                           "--store", str(store_path)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-3000:]
    store = Store(store_path)
    runs = store.list_runs()
    assert len(runs) == 1
    return store, runs.run_id[0], proc


def test_cli_prints_run_id_and_store_and_shows_progress(tiny_run):
    store, run_id, proc = tiny_run
    assert run_id in proc.stdout and str(store.path.resolve()) in proc.stdout
    for stage in ("generation", "judging", "reward_model", "ppo"):
        assert f"round 0 {stage}" in proc.stderr


def test_store_holds_every_stage(tiny_run):
    store, run_id, _ = tiny_run
    run = store.get_run(run_id)
    assert run["status"] == "succeeded" and run["config"]["name"] == "tiny"
    counts = store.counts(run_id)
    assert counts["prompts"] == 16 and counts["responses"] == 32 and counts["pairs"] == 16
    assert counts["judgments"] == 16
    judgments = store.judgments_frame(run_id=run_id)
    assert judgments.p_a_ab.notna().all() and judgments.p_a_ba.notna().all()
    judges = store.round_judges(run_id)  # which judge and constitution version judged each round
    assert judges["round"].tolist() == [0, 1] and set(judges["judge"]) == set(judgments["judge"])
    assert set(judges["constitution"]) == {"default@1"}  # the packaged principles are default@1
    keys = set(store.metrics_frame(run_id).key)
    assert {"objective/kl", "objective/scores", "loss", "train_accuracy", "human_accuracy",
            "response/mean_tokens"} <= keys
    for kind in ("preferences", "reward_model", "policy"):
        for round_ in (0, 1):
            assert os.path.exists(store.get_artifact(run_id, round_, kind))


def test_second_round_samples_from_the_policy_the_first_round_trained(tiny_run):
    store, run_id, _ = tiny_run
    cfg = load_config(SAMPLE / "tiny.yaml")
    trained = policy_for_round(store, run_id, cfg, 1)
    assert str(trained) == store.get_artifact(run_id, 0, "policy")
    prompts_1 = store.prompts_frame(run_id).query("round == 1")
    prompts = [Prompt(r.prompt_id, r.text, r.category) for r in prompts_1.itertuples()]
    stored = store.responses_frame(run_id).query("round == 1")

    def regenerate(path):
        return [r.text for r in generate_responses(load_policy(path), load_tokenizer(path), prompts, cfg.generation,
                                                   round_=1)]

    by_id = dict(zip(stored.response_id, stored.text))
    expected = [by_id[f"r1-{p.prompt_id}-{k}"] for p in prompts for k in range(2)]
    assert regenerate(trained) == expected
    assert regenerate(resolve_model("tiny")) != expected


def test_bad_config_fails_cleanly_without_a_run(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy_model: tiny\nppo: {kl_coeff: 1}\n")
    proc = subprocess.run([sys.executable, "-m", "core", "run", "--config", str(bad), "--store",
                           str(tmp_path / "s.sqlite")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "ppo.kl_coeff" in proc.stderr
    assert Store(tmp_path / "s.sqlite").list_runs().empty


def test_monitor_panel_reads_what_the_run_wrote(tiny_run):
    from core.views import gaming_charts
    from core.views.gaming_panel import gaming_panel

    store, run_id, _ = tiny_run
    g = gaming_panel(store, run_id)
    assert g.steps.groupby("round")["step"].apply(list).to_dict() == {0: [1, 2], 1: [1, 2]}
    assert g.steps[["mean_tokens", "median_tokens", "reward", "reward_gain", "flat_tolerance"]].notna().all().all()
    assert sorted(store.artifact_paths(run_id, "gaming_flags")) == [0, 1]
    assert g.flags.empty and g.warning is None  # 2 updates per round: fewer than min_steps
    audited = store.metrics_frame(run_id, stage="ppo").query("key == 'overopt/n_pairs'")
    assert audited[["round", "step"]].values.tolist() == [[0, 2], [1, 2]]  # eval_every 4: at the last update
    assert not g.empty and g.reading.startswith("Round 1, step 2: ")
    for fig in (gaming_charts.length_figure(g.steps), gaming_charts.overopt_figure(g.overopt)):
        assert fig.data


def test_the_report_covers_the_runs_reward_model_and_ppo_fits_the_page_and_stays_small(tiny_run):
    from core.data.sample_workspace import ensure_sample_workspace
    from core.human_labels.with_verdicts import source_audit
    from core.views.report_html import build_report_html, latest_run_with_metrics, run_section

    store, run_id, _ = tiny_run
    ensure_sample_workspace(store)
    assert latest_run_with_metrics(store) == run_id
    section = run_section(store, run_id)
    assert "Reward model, on held-out pairs" in section and "Accuracy against people" in section
    assert "What PPO did" in section
    reports = source_audit(store, "dataset:sample", n_boot=20)
    html = build_report_html(reports, source="dataset:sample", focus="longest", run_html=section)
    assert html.count("Plotly.newPlot") >= 7 and html.count("* plotly.js") == 1  # plotly.js once, for all figures
    assert len(html.encode()) < 2_000_000
    figure_divs = re.findall(r'class="plotly-graph-div" style="[^"]*"', html)
    assert len(figure_divs) >= 7 and all("width:100%" in d for d in figure_divs)  # figures take the page's width
