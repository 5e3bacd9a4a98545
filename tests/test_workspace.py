"""Imports are all-or-nothing; spot-checks are blind, resumable per annotator, and undoable."""
from __future__ import annotations

import json

import pytest

from core.audit.consensus import human_consensus
from core.data.importers import import_pairs_file
from core.data.sample_workspace import ensure_sample_workspace
from core.human_labels import spot_checks as spotcheck
from core.human_labels.with_verdicts import source_audit
from core.views.agreement import focus_order
from core.views.data_page import human_labels_csv, preference_records
from core.views.findings import findings
from tests.conftest import HUMAN_DATA


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


ROW = {"id": 1, "prompt": "p", "response_a": "a", "response_b": "bbb", "human_preferred": "b"}


def test_a_bad_line_stores_nothing_of_the_file(store, tmp_path):
    rows = [ROW, {**ROW, "id": 2}, {**ROW, "id": 3, "human_preferred": "both"}]
    with pytest.raises(ValueError, match="line 3"):
        import_pairs_file(store, write_jsonl(tmp_path / "p.jsonl", rows), dataset="d")
    assert store.pair_sources().empty and store.human_labels_frame().empty


def test_reimporting_updates_instead_of_doubling(store, tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [ROW, {**ROW, "id": 2}])
    import_pairs_file(store, path, dataset="d")
    import_pairs_file(store, path, dataset="d")
    assert store.pair_sources()["n_pairs"].tolist() == [2] and len(store.human_labels_frame()) == 2


def test_pandalm_annotators_become_votes_and_a_majority(store):
    n = import_pairs_file(store, HUMAN_DATA / "pandalm_testset_v1.jsonl", dataset="pandalm")
    labels = store.source_human_labels("dataset:pandalm")
    assert n == 945 and len(labels) == 3 * 945
    consensus = human_consensus(labels)
    first = json.loads((HUMAN_DATA / "pandalm_testset_v1.jsonl").read_text().splitlines()[0])
    assert consensus.set_index("pair_id").at[f"pandalm/{first['id']}", "human"] == first["human_preferred"].upper()


def test_sample_workspace_loads_once_with_yardstick_verdicts(store):
    assert ensure_sample_workspace(store) and not ensure_sample_workspace(store)
    reports = source_audit(store, "dataset:sample", n_boot=100)
    assert set(reports) == {"longest", "shortest", "random"}
    assert reports["longest"]["judge_p_longer"] == 1.0 and reports["shortest"]["judge_p_longer"] == 0.0
    # a real judge is read about first; the others are named for what they are
    reports["my-judge"] = {**reports["random"], "judge": "my-judge"}
    assert focus_order(reports)[0] == "my-judge" and set(focus_order(reports)[1:]) == {"longest", "shortest", "random"}
    sentences = " ".join(findings(reports["my-judge"], baselines=reports))
    assert "Against the 'longest' yardstick" in sentences and "'my-judge'" not in sentences
    assert "Against the 'my-judge' judge" in " ".join(findings(reports["longest"], baselines=reports))


def test_each_annotator_gets_every_pair_once_and_undo_gives_it_back(store):
    ensure_sample_workspace(store)
    seen = []
    while (pid := spotcheck.next_pair_id(store, "dataset:sample", "kim")) is not None:
        store.set_human_label(pid, "kim", "tie")
        seen.append(pid)
    assert len(seen) == len(set(seen)) == 60
    assert spotcheck.undo_last(store, "kim") == seen[-1]
    assert spotcheck.next_pair_id(store, "dataset:sample", "kim") == seen[-1]
    assert spotcheck.label_progress(store, "dataset:sample", "kim")["labelled_by_you"] == 59


def test_active_spot_checks_prefer_unsure_pairs_and_estimate_agreement(store):
    ensure_sample_workspace(store)
    for _ in range(40):
        pid = spotcheck.next_pair_id(store, "dataset:sample", "lee", mode="active", judge="random")
        store.set_human_label(pid, "lee", "a")
    draws = store.spot_check_draws("dataset:sample", "random")
    assert draws["batch"].nunique() >= 2 and draws["pair_id"].is_unique
    estimate = spotcheck.active_estimate(store, "dataset:sample", "random")
    assert 0 <= estimate["ci"][0] <= estimate["estimate"] <= estimate["ci"][1] <= 1


def test_exports_follow_the_judge_or_the_humans(store):
    ensure_sample_workspace(store)
    by_judge, skipped = preference_records(store, "dataset:sample", "longest")
    assert skipped == 0 and all(len(r["chosen"][0]["content"]) > len(r["rejected"][0]["content"]) for r in by_judge)
    by_human, ties = preference_records(store, "dataset:sample", "", labels="human")
    assert ties == 9 and len(by_human) == 51
    csv = human_labels_csv(store, "dataset:sample").decode()
    assert csv.splitlines()[0].startswith("pair_id,annotator,label") and "judge:longest" in csv.splitlines()[0]
