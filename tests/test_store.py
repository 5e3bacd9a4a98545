from __future__ import annotations

import sqlite3
import time

import pytest

from core.judges import judge_pairs, make_judge
from core.labeling import label_pairs
from core.runs.store import RunStatus, Store
from core.runs.worker import display_status
from core.schema import ResponsePair


def pairs(n):
    return [ResponsePair(f"p{i}", f"q{i}", "x" * (i % 7), "y" * 3) for i in range(n)]


def test_store_is_wal_sqlite(store):
    con = sqlite3.connect(store.path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_run_lifecycle_and_lost_heartbeat(store):
    run_id = store.create_run({"name": "x"}, name="x")
    assert store.get_run(run_id)["status"] == "queued"
    store.update_run(run_id, status=RunStatus.RUNNING, stage="judging")
    run = store.get_run(run_id)
    assert display_status(run) == "running"
    assert display_status(run, now=time.time() + 3600) == "lost"
    store.request_cancel(run_id)
    assert store.get_run(run_id)["cancel_requested"] == 1
    assert RunStatus.CANCELLED.is_finished() and not RunStatus.RUNNING.is_finished()
    with pytest.raises(ValueError):
        store.update_run(run_id, colour="red")


def test_same_annotator_twice_updates_the_label(store):
    store.set_human_label("p1", "ana", "a")
    store.set_human_label("p1", "ana", "tie")
    store.set_human_label("p1", "bo", "b")
    labels = store.human_labels_frame()
    assert sorted(zip(labels.annotator, labels.label)) == [("ana", "TIE"), ("bo", "B")]
    with pytest.raises(ValueError):
        store.set_human_label("p1", "ana", "maybe")


class Exploding:
    """A judge that dies after a number of items, like a killed process."""

    def __init__(self, inner, budget):
        self.inner, self.budget, self.name, self.tie_margin = inner, budget, inner.name, 0.0

    def read_orders(self, items, progress=None):
        self.budget -= len(items)
        if self.budget < 0:
            raise KeyboardInterrupt("killed")
        return self.inner.read_orders(items, progress)


def test_labeling_resumes_without_losing_or_doubling(store):
    all_pairs = pairs(50)
    store.add_pairs(all_pairs, run_id="r")
    judge = make_judge("longest")
    with pytest.raises(KeyboardInterrupt):
        label_pairs(store, Exploding(judge, budget=2 * 16 * 2), all_pairs, chunk_size=16)
    assert len(store.judgments_frame()) == 32  # two whole chunks committed, the third lost whole
    judged_now = label_pairs(store, judge, all_pairs, chunk_size=16)
    frame = store.judgments_frame()
    assert judged_now == 18 and len(frame) == 50 and frame.pair_id.is_unique
    expected = {j.pair_id: j.verdict.value for j in judge_pairs(judge, all_pairs)}
    assert dict(zip(frame.pair_id, frame.verdict)) == expected


def test_frames_round_trip_judgments(store):
    all_pairs = pairs(5)
    store.add_pairs(all_pairs, run_id="r", dataset="d")
    store.add_judgments(judge_pairs(make_judge("random"), all_pairs))
    frame = store.judgments_frame(run_id="r")
    assert set(frame.columns) >= {"pair_id", "judge", "verdict", "p_a", "p_a_ab", "p_a_ba", "consistent"}
    assert set(frame.consistent) <= {True, False}
    p = store.pairs_frame(dataset="d")
    assert list(p.len_a) == [len(x.response_a) for x in all_pairs]
    assert Store(store.path).pairs_frame(run_id="r").shape[0] == 5  # reopening sees the same file
