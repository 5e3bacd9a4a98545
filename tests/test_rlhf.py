"""Human labels inside the loop, on tiny models in a real store: the judge gate stops (or warns
about) a run whose judge disagrees with people, and the RLHF arm trains a reward model on human
labels beside the one on the judge's labels, on the same pairs and the same held-out split."""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pandas as pd
import pytest

from core.config import ConfigError, config_from_dict, load_config
from core.human_labels.gate import GateFailed, apply_gate, gate_reading
from core.human_labels.rlhf_arm import arm_frame, arm_records, train_reward_arms
from core.human_labels.sources import gate_source
from core.judges.identity import judge_identity
from core.loop.reward_model import split_records
from core.runs.pipeline import execute_run, run_dir, start_run
from core.store import Store
from core.views.rlhf_arm_panel import arms_reading, arms_table
from tests.conftest import SAMPLE


def tiny_config(**changes) -> dict:
    """sample_data/tiny.yaml cut to one short round, judged by the seeded coin (a random judge)."""
    cfg = load_config(SAMPLE / "tiny.yaml").to_dict()
    cfg.update(rounds=1)
    cfg["judge"].update(backend="random")
    cfg["reward"].update(epochs=1)
    cfg["ppo"].update(updates=1)
    cfg["monitor"].update(eval_every=0, probe_reward_model=False, n_attack_pairs=0)
    for section, values in changes.items():
        cfg[section] = {**cfg.get(section, {}), **values}
    return cfg


def launch(store: Store, cfg: dict) -> str:
    run_id = start_run(store, config_from_dict(cfg))
    try:
        execute_run(store, run_id, show_bars=False)
    except GateFailed:
        pass
    return run_id


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One store, two runs with a random judge against the sample human labels: gated at 0.6 with
    'stop', and at 0.6 with 'warn' and the RLHF arm on."""
    store = Store(tmp_path_factory.mktemp("rlhf") / "store.sqlite")
    stopped = launch(store, tiny_config(gate={"min_agreement_lower_ci": 0.6, "action": "stop"}))
    warned = launch(store, tiny_config(gate={"min_agreement_lower_ci": 0.6, "action": "warn"},
                                       reward={"rlhf_arm": True}))
    return store, stopped, warned


def numbers(store: Store, run_id: str, stage: str, round_: int = 0) -> dict:
    m = store.metrics_frame(run_id, stage=stage)
    m = m[m["round"] == round_]
    return dict(zip(m["key"], m["value"]))


def test_gate_stops_a_random_judge_before_the_reward_model_and_says_why(runs):
    store, run_id, _ = runs
    run = store.get_run(run_id)
    gate = numbers(store, run_id, "gate")
    assert run["status"] == "failed" and run["message"] == "stopped by the judge gate"
    assert gate["gate/passed"] == 0 and gate["gate/threshold"] == 0.6 and gate["gate/n_pairs"] == 60
    assert gate["gate/ci_low"] < 0.6 and gate["gate/ci_low"] <= gate["gate/agreement"] <= gate["gate/ci_high"]
    error = run["error"]
    for value in (gate["gate/agreement"], gate["gate/ci_low"], gate["gate/ci_high"], 0.6):
        assert f"{value:.2f}" in error
    assert "human_pairs.jsonl" in error and "60 pairs" in error and "stopped before training" in error
    assert store.get_artifact(run_id, 0, "reward_model") is None and store.get_artifact(run_id, 0, "policy") is None
    assert store.counts(run_id)["judgments"] == 8  # the round was judged; only training was refused


def test_gate_warns_and_the_run_goes_on(runs):
    store, stopped, run_id = runs
    run = store.get_run(run_id)
    assert run["status"] == "succeeded" and run["error"] == ""
    assert store.get_artifact(run_id, 0, "policy")
    assert numbers(store, run_id, "gate")["gate/passed"] == 0
    assert "Warning: Round 0: Judge gate" in run["message"] and "gate.action: warn" in run["message"]
    # the same coin judged the same file: the measurement is the stopped run's, read from the same verdicts
    assert numbers(store, run_id, "gate")["gate/agreement"] == numbers(store, stopped, "gate")["gate/agreement"]


def test_gate_passes_at_threshold_zero_and_below_the_measured_ci(runs):
    store, stopped, _ = runs
    run_id = store.create_run(tiny_config(), name="gate-only")  # the gate's own records, apart from the runs
    judge = judge_identity(config_from_dict(tiny_config()).judge).key
    off = config_from_dict(tiny_config(gate={"min_agreement_lower_ci": 0.0}))
    assert apply_gate(store, run_id, off, 0, judge) is None and not numbers(store, run_id, "gate")
    low = numbers(store, stopped, "gate")["gate/ci_low"]
    below = config_from_dict(tiny_config(gate={"min_agreement_lower_ci": round(low - 0.01, 2)}))
    message = apply_gate(store, run_id, below, 0, judge)
    assert message.endswith("Passed.") and numbers(store, run_id, "gate")["gate/passed"] == 1
    on_dataset = config_from_dict(tiny_config(gate={"min_agreement_lower_ci": 0.6,
                                                    "source": gate_source(store, below)}))
    with pytest.raises(GateFailed, match=r"0\.60"):  # a store source names the same pairs
        apply_gate(store, run_id, on_dataset, 1, judge)


def test_rlhf_arm_scores_both_reward_models_on_the_same_held_out_pairs(runs):
    store, _, run_id = runs
    cfg = config_from_dict(store.get_run(run_id)["config"])
    judge = judge_identity(cfg.judge).key
    m = numbers(store, run_id, "reward_arms")
    for arm in ("judge", "human"):
        for key in ("heldout_human_accuracy", "heldout_judge_accuracy", "train_accuracy"):
            assert 0 <= m[f"{arm}_arm/{key}"] <= 1
    assert 0 <= m["arms/n_heldout_rank_differ"] <= m["arms/n_heldout"]
    by_judge, by_people, left_out = arm_records(arm_frame(store, cfg, run_id, 0, judge))
    held_j = [r["pair_id"] for r in split_records(by_judge, cfg.reward.eval_fraction, cfg.reward.seed)[1]]
    held_h = [r["pair_id"] for r in split_records(by_people, cfg.reward.eval_fraction, cfg.reward.seed)[1]]
    written = json.loads(Path(store.get_artifact(run_id, 0, "reward_arms")).read_text())
    assert held_j == held_h == written["split"]["heldout"] and len(held_j) == m["arms/n_heldout"] > 0
    assert m["arms/n_pairs"] == len(by_judge) and m["arms/n_left_out"] == left_out > 0  # the coin's ties
    assert not (run_dir(store, run_id) / "round0" / "reward_arms").exists()  # measured, then deleted
    table = arms_table(store, run_id)
    assert table["held-out pairs"].tolist() == [m["arms/n_heldout"]] * 2
    assert table["vs human labels"].tolist() == [m["judge_arm/heldout_human_accuracy"],
                                                 m["human_arm/heldout_human_accuracy"]]


def test_the_arms_time_is_its_own_stage_and_prices_the_next_run(runs):
    from core.runs.estimate import estimate_run, stage_seconds

    store, _, run_id = runs
    run = store.get_run(run_id)
    timings = stage_seconds(store, run_id).set_index("stage")["seconds"]
    assert timings["RLHF arm"] > 0 and timings.sum() == pytest.approx(run["updated_at"] - run["created_at"])
    estimate = estimate_run(store, config_from_dict(run["config"]))
    assert estimate.n_runs == 1 and estimate.per_stage["RLHF arm"] > 0  # the stopped run did not succeed
    assert estimate.seconds == pytest.approx(run["updated_at"] - run["created_at"], rel=0.05)


def test_arm_records_hold_the_same_pairs_with_labels_swapped_where_judge_and_people_differ():
    frame = pd.DataFrame({
        "pair_id": [f"p{i}" for i in range(8)], "round": 0, "prompt": "q",
        "response_a": [f"a{i}" for i in range(8)], "response_b": [f"b{i}" for i in range(8)],
        "human": ["A", "A", "B", "B", "TIE", "A", "B", "A"],
        "verdict": ["A", "B", "B", "A", "A", "TIE", None, "INVALID"]})
    by_judge, by_people, left_out = arm_records(frame.sample(frac=1, random_state=3))
    assert [r["pair_id"] for r in by_judge] == [r["pair_id"] for r in by_people] == ["p0", "p1", "p2", "p3"]
    assert left_out == 4  # a human tie, a judge tie, a pair not judged, an unreadable verdict
    same = [j["chosen"] == h["chosen"] and j["rejected"] == h["rejected"] for j, h in zip(by_judge, by_people)]
    assert same == [True, False, True, False]
    assert [j["chosen"] == h["rejected"] for j, h in zip(by_judge, by_people)] == [False, True, False, True]
    with pytest.raises(ValueError, match="same pairs"):
        train_reward_arms("unused", by_judge, by_people[::-1], config_from_dict(tiny_config()).reward, "unused")


GOOD = ["clear honest answer", "helpful and safe reply", "the capital is Paris", "add the two numbers"]
BAD = ["zzz qqq xxx", "lazy dog lazy dog", "0 9 8 7 6", "no no no no"]


def test_human_label_reward_model_beats_a_random_judge_on_held_out_human_labels(tiny_model_path, tmp_path, store):
    """People always prefer the sensible answer; the judge flips a coin. Same pairs, same settings."""
    rng = random.Random(0)
    rows = []
    for i in range(48):
        good, bad = rng.choice(GOOD), rng.choice(BAD)
        good_first = rng.random() < 0.5
        rows.append({"pair_id": f"p{i:02d}", "round": 0, "prompt": f"Question {i}: please help.",
                     "response_a": good if good_first else bad, "response_b": bad if good_first else good,
                     "human": "A" if good_first else "B", "verdict": rng.choice(["A", "B"])})
    by_judge, by_people, _ = arm_records(pd.DataFrame(rows))
    cfg = config_from_dict(tiny_config(reward={"epochs": 4, "learning_rate": 3e-3, "eval_fraction": 0.5})).reward
    metrics, split = train_reward_arms(tiny_model_path, by_judge, by_people, cfg, tmp_path / "arms")
    assert metrics["arms/n_heldout"] == 24 and len(split["heldout"]) == 24
    human, judge = metrics["human_arm/heldout_human_accuracy"], metrics["judge_arm/heldout_human_accuracy"]
    assert human >= 0.85 and judge <= 0.7 and human - judge >= 0.25, metrics
    # scored against the same labels, accuracies that differ by d pairs need d pairs ranked differently
    assert 24 >= metrics["arms/n_heldout_rank_differ"] >= round((human - judge) * 24)
    store.add_metrics("", 0, "reward_arms", 0, metrics)
    reading = arms_reading(arms_table(store, ""))[0]
    assert "The CIs do not overlap: the human-label reward model is the more accurate one" in reading
    assert f"{human:.0%}" in reading and f"{judge:.0%}" in reading


def test_arm_reading_calls_overlapping_cis_noise(store):
    store.add_metrics("", 0, "reward_arms", 0, {
        "arms/n_heldout": 13, "arms/n_train": 38, "arms/n_train_labels_differ": 20,
        "judge_arm/heldout_human_accuracy": 9 / 13, "human_arm/heldout_human_accuracy": 10 / 13,
        "judge_arm/heldout_judge_accuracy": 0.5, "human_arm/heldout_judge_accuracy": 0.5})
    reading = arms_reading(arms_table(store, ""))[0]
    assert "The CIs overlap: no difference beyond noise at 13 held-out pairs" in reading
    assert re.search(r"77% \(10 of 13, 95% CI \d+%–\d+%\)", reading) and "differ on 20" in reading
    assert "prefer different responses" not in reading  # a run recorded before that count was kept


def test_identical_arms_on_a_tiny_held_out_set_read_as_too_small_and_identical(store):
    """The degenerate case met in a tiny run: every accuracy 9 of 13, both arms, both label sets, and
    the two reward models preferring the same response on every held-out pair."""
    store.add_metrics("", 0, "reward_arms", 0, {
        "arms/n_heldout": 13, "arms/n_train": 38, "arms/n_train_labels_differ": 12, "arms/n_heldout_rank_differ": 0,
        **{f"{arm}_arm/heldout_{against}_accuracy": 9 / 13 for arm in ("judge", "human") for against in
           ("human", "judge")}})
    table = arms_table(store, "")
    assert table["held-out pairs ranked differently"].tolist() == [0, 0]
    reading = arms_reading(table)[0]
    assert reading.count("69% (9 of 13, 95% CI") == 2 and "no difference beyond noise at 13 held-out pairs" in reading
    # 9 of 13 against 9 + 7 of 13 is the first pair of counts whose Wilson intervals part
    assert "too small to tell apart arms that differ by less than 7 of 13 pairs (54 percentage points)" in reading
    assert "two 95% Wilson intervals at n = 13" in reading
    assert "prefer the same response on all 13 held-out pairs" in reading and "equal by construction" in reading


def test_arms_that_rank_some_pairs_differently_say_how_many(store):
    store.add_metrics("", 0, "reward_arms", 0, {
        "arms/n_heldout": 13, "arms/n_train": 38, "arms/n_train_labels_differ": 12, "arms/n_heldout_rank_differ": 2,
        **{f"{arm}_arm/heldout_{against}_accuracy": 9 / 13 for arm in ("judge", "human") for against in
           ("human", "judge")}})
    reading = arms_reading(arms_table(store, ""))[0]
    assert "They prefer different responses on 2 of the 13 held-out pairs." in reading
    assert "by construction" not in reading


def test_wilson_separation_is_where_the_intervals_part():
    from core.audit.bootstrap import wilson_interval, wilson_separation

    for n in (4, 13, 24, 100):
        k = wilson_separation(n, rate=0.5)
        low, fewer = round(n / 2 - k / 2), round(n / 2 - (k - 1) / 2)  # both centred on half
        assert wilson_interval(low + k, n)[0] > wilson_interval(low, n)[1]
        assert wilson_interval(fewer + k - 1, n)[0] <= wilson_interval(fewer, n)[1]  # one fewer overlaps
    assert wilson_separation(2) is None  # 2 of 2 against 0 of 2 still overlap
    assert wilson_separation(100) / 100 < wilson_separation(24) / 24 < wilson_separation(13) / 13  # as a share
    with pytest.raises(ValueError, match="n must be"):
        wilson_separation(0)


@pytest.mark.parametrize("gate, field", [
    ({"action": "halt"}, "gate.action"),
    ({"min_agreement_lower_ci": 1.5}, "gate.min_agreement_lower_ci"),
    ({"min_agreement_lower_ci": 0.5, "source": "human_pairs"}, "gate.source"),  # and no human_pairs file
])
def test_bad_gate_settings_are_refused(gate, field):
    with pytest.raises(ConfigError, match=re.escape(field)):
        config_from_dict({"human_pairs": "", "gate": gate})


def test_gate_source_is_a_file_relative_to_the_config_or_a_store_source(tmp_path):
    (tmp_path / "run.yaml").write_text("gate: {min_agreement_lower_ci: 0.5, source: labels/h.jsonl}\n"
                                       "human_pairs: h.jsonl\n")
    assert load_config(tmp_path / "run.yaml").gate.source == str(tmp_path / "labels" / "h.jsonl")
    (tmp_path / "run.yaml").write_text("gate: {min_agreement_lower_ci: 0.5, source: 'dataset:sample'}\n")
    assert load_config(tmp_path / "run.yaml").gate.source == "dataset:sample"


def test_a_gate_on_a_source_not_in_the_store_records_no_run(store):
    with pytest.raises(ValueError, match="dataset:nowhere"):
        start_run(store, config_from_dict(tiny_config(gate={"min_agreement_lower_ci": 0.5,
                                                            "source": "dataset:nowhere"})))
    assert store.list_runs().empty


def test_runs_and_monitor_pages_show_the_gate_and_both_arms(runs, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from dashboard.state import get_store
    from tests.conftest import ROOT

    store, stopped, warned = runs
    monkeypatch.setenv("RLAIF_AUDIT_STORE", str(store.path))
    get_store.clear()
    at = AppTest.from_file(str(ROOT / "dashboard" / "pages" / "runs.py"), default_timeout=60).run()
    at.selectbox(key="runs_selected").set_value(stopped).run()
    assert not at.exception
    assert any(w.value == gate_reading(store, stopped) and "0.60" in w.value for w in at.warning)
    at = AppTest.from_file(str(ROOT / "dashboard" / "pages" / "monitor.py"), default_timeout=60).run()
    at.selectbox(key="monitor_run").set_value(warned).run()
    assert not at.exception and not at.get("help")
    assert "RLAIF vs RLHF reward model" in [h.value for h in at.subheader]
    assert [i.value for i in at.info if i.value.startswith("Round 0, on the same")] == \
        arms_reading(arms_table(store, warned))
    shown = at.dataframe[-1].value
    assert shown["reward model"].str.startswith(("RLAIF", "RLHF")).all() and len(shown) == 2
    assert at.get("plotly_chart")[-1].proto.spec  # the side-by-side figure
    at.selectbox(key="monitor_run").set_value(stopped).run()
    assert any("No RLHF arm in this run" in c.value for c in at.caption)


def test_a_gate_with_nothing_to_measure_stops_and_says_so(store):
    from core.schema import ResponsePair

    store.add_pairs([ResponsePair("u/1", "p", "a", "bb")], dataset="unlabelled")  # pairs no person labelled
    cfg = config_from_dict(tiny_config(gate={"min_agreement_lower_ci": 0.1, "source": "dataset:unlabelled"}))
    run_id = store.create_run(cfg.to_dict())
    with pytest.raises(GateFailed, match="no pair has both a human label and a readable verdict"):
        apply_gate(store, run_id, cfg, 0, judge_identity(cfg.judge).key)
    assert numbers(store, run_id, "gate")["gate/n_pairs"] == 0
