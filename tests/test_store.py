from __future__ import annotations

import sqlite3
import time

import pytest

from core.judges import judge_pairs, make_judge
from core.loop.judging import label_pairs
from core.runs.status import display_status
from core.schema import ResponsePair
from core.store import RunStatus, Store, snapshot


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


# -- the audit's read path: per-source versions, the kept snapshot, old stores -------------------
def _pairs(prefix: str, n: int) -> list[ResponsePair]:
    return [ResponsePair(f"{prefix}/{i}", f"q{i}", "a" * (i + 1), "b" * (2 * i + 2)) for i in range(n)]


def test_a_source_version_moves_with_its_own_writes_only(store):
    store.import_dataset("one", _pairs("one", 3), [("one/0", "ann", "A")])
    store.import_dataset("two", _pairs("two", 2), [])
    one, two = store.source_version("dataset:one"), store.source_version("dataset:two")
    assert one[0] == two[0] != 0  # the same store: the same random store number
    store.add_judgments(judge_pairs(make_judge("longest"), _pairs("two", 2)))
    store.set_human_label("two/1", "ann", "B")
    assert store.source_version("dataset:one") == one  # writes to another source leave it alone
    after = store.source_version("dataset:two")
    assert after[1] == two[1] and after[2] > two[2] and after[3] > two[3]
    store.set_human_label("one/0", "ann", "B")  # the same label again, changed: an update counts
    assert store.source_version("dataset:one")[3] > one[3]
    assert store.source_version("dataset:none") == (one[0], 0, 0, 0)
    before = store.source_version("dataset:one")
    store.delete_human_label("one/0", "ann")  # the Spot-check page's undo
    assert store.source_version("dataset:one")[3] > before[3]
    run_id = store.create_run({"name": "r"}, name="r")
    store.add_pairs(_pairs("r", 2), run_id=run_id)
    assert store.source_version(f"run:{run_id}")[1] > 0 and store.source_version("dataset:one")[1:3] == before[1:3]
    store.add_pairs([ResponsePair("one/2", "moved", "x", "yy")], run_id=run_id)  # a pair taken from a dataset
    assert store.source_version("dataset:one")[1] > before[1]
    everything = store.data_version()
    store.delete_run(run_id)
    assert store.data_version()[1] > everything[1] and store.source_version(f"run:{run_id}")[1:] == (0, 0, 0)
    assert Store(store.path).data_version()[0] == one[0] != Store(store.path.with_name("other.sqlite")).data_version()[0]


def test_the_kept_snapshot_is_reused_until_the_source_changes(store):
    pairs = _pairs("d", 5)
    store.import_dataset("d", pairs, [])
    label_pairs(store, make_judge("longest"), pairs)
    first = store.audit_snapshot("dataset:d")
    assert list(first["verdicts"]) == ["longest"] and first["costs"]["n_labels"].tolist() == [5]
    assert (first["verdicts"]["longest"]["code"] == 1).all()  # B is always the longer here
    poisoned = {**first, "verdicts": {"longest": {**first["verdicts"]["longest"], "code": first["verdicts"]["longest"]
                                                  ["code"] * 0}}}
    con = sqlite3.connect(store.path)
    try:  # swap the kept blob for a poisoned one: a reader that reuses it shows the poison
        kept = con.execute("SELECT pairs, judgments FROM audit_snapshots WHERE source = 'dataset:d'").fetchone()
        with con:
            con.execute("UPDATE audit_snapshots SET data = ? WHERE source = 'dataset:d'", (snapshot.encode(poisoned),))
    finally:
        con.close()
    assert kept == store.source_version("dataset:d")[1:3]
    assert (store.audit_snapshot("dataset:d")["verdicts"]["longest"]["code"] == 0).all()
    label_pairs(store, make_judge("shortest"), pairs)  # a new judge: the kept one is stale, rebuilt
    rebuilt = store.audit_snapshot("dataset:d")
    assert list(rebuilt["verdicts"]) == ["longest", "shortest"] and (rebuilt["verdicts"]["shortest"]["code"] == 0).all()
    store.clear_audit_snapshots()
    assert store.warm_audit_snapshots() == ["dataset:d"] and store.warm_audit_snapshots() == []


def test_the_snapshot_audit_equals_one_computed_from_the_frames(store):
    """Two readers of the same store: the fast aligned path and the plain frames merged by pair_id."""
    from core.audit import audit_report, to_json_ready
    from core.audit.consensus import human_consensus
    from core.human_labels.with_verdicts import source_audit

    pairs = _pairs("d", 40)
    store.import_dataset("d", pairs, [(p.pair_id, who, "AB"[(i * 7 + len(who)) % 2]) for i, p in enumerate(pairs)
                                      for who in (["x"] if i % 3 else ["x", "yy", "zzz"])])
    label_pairs(store, make_judge("longest"), pairs[:30])
    label_pairs(store, make_judge("random"), pairs[10:])
    fast = source_audit(store, "dataset:d", n_boot=50)
    frame = store.audit_rows("dataset:d").merge(human_consensus(store.source_human_labels("dataset:d")), on="pair_id")
    frame["annotators"] = [v if n >= 2 else None for v, n in zip(frame["annotators"], frame["n_annotators"])]
    frame = frame.drop(columns=["category", "model_a", "model_b"])
    judgments = store.source_judgments("dataset:d")
    plain = {name: to_json_ready(audit_report(frame[frame["pair_id"].isin(judgments.query("judge == @name").pair_id)],
                                              judgments, judge=name, n_boot=50))
             for name in ("longest", "random")}
    assert fast == plain and fast["longest"]["n_pairs"] == 30 and fast["random"]["n_pairs"] == 30


def test_a_store_from_before_the_kept_lengths_opens_and_audits(tmp_path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE pairs (pair_id TEXT PRIMARY KEY, run_id TEXT, dataset TEXT NOT NULL DEFAULT '', "
        "round INTEGER NOT NULL DEFAULT 0, prompt_id TEXT NOT NULL DEFAULT '', prompt TEXT NOT NULL, "
        "response_a TEXT NOT NULL, response_b TEXT NOT NULL, category TEXT NOT NULL DEFAULT '', "
        "model_a TEXT NOT NULL DEFAULT '', model_b TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL);"
        "INSERT INTO pairs (pair_id, dataset, prompt, response_a, response_b, created_at) "
        "VALUES ('p1', 'old', 'q', 'short', 'a longer answer', 1.0);")
    con.close()
    store = Store(path)
    assert store.audit_rows("dataset:old")[["len_a", "len_b"]].values.tolist() == [[5, 15]]
    assert store.source_names() == ["dataset:old"]


def test_what_is_left_to_label_is_counted_per_annotator_and_source(store):
    from core.human_labels import spot_checks as spotcheck

    store.import_dataset("d", _pairs("d", 4), [("d/0", "kim", "A"), ("d/1", "lee", "B"), ("d/0", "lee", "A")])
    store.import_dataset("e", _pairs("e", 2), [])
    assert spotcheck.label_progress(store, "dataset:d", "kim") == {"total": 4, "labelled_by_you": 1,
                                                                    "labelled_by_anyone": 2}
    assert spotcheck.unlabelled_pair_ids(store, "dataset:d", "kim") == ["d/1", "d/2", "d/3"]
    assert spotcheck.still_open(store, "dataset:d", "kim", "d/1")
    assert not spotcheck.still_open(store, "dataset:d", "kim", "d/0")  # kim labelled it
    assert not spotcheck.still_open(store, "dataset:d", "kim", "e/0")  # another source's pair
    assert spotcheck.label_progress(store, "dataset:e", "kim") == {"total": 2, "labelled_by_you": 0,
                                                                    "labelled_by_anyone": 0}
