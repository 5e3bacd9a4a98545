"""Annotators at once: separate processes label through the store (one SQLite file in WAL mode)
and no label is lost or doubled; labelling a pair again updates the label."""
from __future__ import annotations

import multiprocessing as mp
import sys
import types

from core.store import Store

N_ANNOTATORS = 10
N_LABELS = 200
N_RELABELLED = 50
LABELS = ("A", "B", "TIE")


def first_label(i: int, k: int) -> str:
    return LABELS[(i + k) % 3]


def second_label(i: int, k: int) -> str:
    return LABELS[(i + k + 1) % 3]


def annotate(path: str, annotator: str, i: int, barrier) -> None:
    """One annotator: 200 labels, then 50 of them changed; every pair is shared with the others."""
    store = Store(path)
    barrier.wait(timeout=120)  # all processes write at the same moment; a sibling that died breaks it, not hangs
    for k in range(N_LABELS):
        store.set_human_label(f"pair-{k}", annotator, first_label(i, k))
    for k in range(N_RELABELLED):
        store.set_human_label(f"pair-{k}", annotator, second_label(i, k))


def run_together(target, arg_tuples) -> None:
    """``target(*args, barrier)`` in one spawned process per ``args``, all released at the same moment
    by the barrier; every process must exit 0."""
    ctx = mp.get_context("spawn")  # a fresh interpreter per writer, as separate dashboard sessions
    barrier = ctx.Barrier(len(arg_tuples))
    procs = [ctx.Process(target=target, args=(*args, barrier)) for args in arg_tuples]
    # a spawned child re-runs the parent's __main__ file; after an AppTest that is a dashboard page,
    # which must not run in the writers: start them with an empty __main__
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        for p in procs:
            p.start()
    finally:
        sys.modules["__main__"] = main
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * len(procs)


def run_processes(path, specs) -> None:
    run_together(annotate, [(str(path), who, i) for who, i in specs])


def test_ten_annotators_at_once_lose_and_double_nothing(store):
    run_processes(store.path, [(f"annotator-{i}", i) for i in range(N_ANNOTATORS)])
    labels = store.human_labels_frame()
    assert len(labels) == N_ANNOTATORS * N_LABELS
    assert not labels.duplicated(["pair_id", "annotator"]).any()
    assert labels.groupby("annotator").size().eq(N_LABELS).all()
    for row in labels.itertuples():
        i, k = int(row.annotator.split("-")[1]), int(row.pair_id.split("-")[1])
        assert row.label == (second_label(i, k) if k < N_RELABELLED else first_label(i, k)), row
        assert (row.updated_at > row.created_at) == (k < N_RELABELLED)  # an update keeps when it was first given
    assert store.integrity_check() == "ok"


def test_the_same_annotator_in_two_sessions_keeps_one_label_per_pair(store):
    run_processes(store.path, [("ana", 0), ("ana", 1)])
    labels = store.human_labels_frame()
    assert len(labels) == N_LABELS and set(labels.annotator) == {"ana"} and labels.pair_id.is_unique
    assert store.integrity_check() == "ok"
