"""Stage 3: the judge labels every pair in both orders, chunk by chunk, into the store.

Each chunk is one transaction, so a killed process loses at most the chunk in flight, and a
rerun skips pairs this judge already labelled: resuming never pays for a judgment twice
and never doubles one.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from core.judges import Judge, judge_pairs
from core.schema import ResponsePair, to_response_pairs
from core.store import Store


def label_pairs(store: Store, judge: Judge, pairs: Sequence[ResponsePair], *, chunk_size: int = 16,
                progress: Callable[[float], None] | None = None,
                between_chunks: Callable[[], None] | None = None) -> int:
    """Judge the pairs not yet judged by ``judge.name``; return how many were judged now.

    ``between_chunks`` runs after each committed chunk (the worker beats its heartbeat and
    checks the cancel flag there).
    """
    identity = getattr(judge, "identity", None)  # set by make_judge: what the key stands for
    if identity is not None:
        store.save_judge_definition(identity.key, identity.name, identity.digest, identity.to_json())
    done = store.judged_pair_ids(judge.name, [p.pair_id for p in pairs])
    todo = [p for p in pairs if p.pair_id not in done]
    if progress and done:
        progress(len(done))
    for start in range(0, len(todo), chunk_size):
        chunk = todo[start:start + chunk_size]
        store.add_judgments(judge_pairs(judge, chunk, progress=progress))
        if between_chunks:
            between_chunks()
    if todo:
        store.warm_audit_snapshots()  # the dashboard's next look at these verdicts starts from them
    return len(todo)


def source_pairs(store: Store, source: str) -> list[ResponsePair]:
    """The pairs of one source ('dataset:<name>' or 'run:<id>') as a judge reads them, in the store's
    order (empty for a source with no pairs)."""
    return to_response_pairs(store.source_pairs_frame(source))


def judge_source(store: Store, source: str, judges, progress=None) -> None:
    """Judge every pair of a source with each judge (names, YAML paths or JudgeConfigs), resumably; a
    calibrated judge reuses its raw judges' readings that ``store`` holds."""
    from core.judges import make_judge

    pairs = source_pairs(store, source)
    for spec in judges:
        judge = make_judge(spec, store=store)
        try:
            label_pairs(store, judge, pairs, progress=progress)
        finally:
            judge.close()
