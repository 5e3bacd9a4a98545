"""Blind spot-checks: which pair a person labels next, their labels, and what the judge said.

Two ways to pick: ``random`` (a seeded shuffle per annotator) and ``active`` (stratified by
the judge's uncertainty, order inconsistency and length difference; batches are planned by
``core.audit.spot_check_design`` and stored, so the agreement estimate stays unbiased with a valid
CI). The judges' verdicts are read only after the person has answered (``core.views.spot_check``).
"""
from __future__ import annotations

import hashlib

import pandas as pd

from core.human_labels.with_verdicts import agreement_flags
from core.store import Store

ACTIVE_BATCH = 20


def unlabelled_pair_ids(store: Store, source: str, annotator: str) -> list[str]:
    return store.unlabelled_pair_ids(source, annotator)


def still_open(store: Store, source: str, annotator: str, pair_id: str) -> bool:
    """Is ``pair_id`` a pair of ``source`` that ``annotator`` has not labelled yet? (one row read)"""
    return bool(store.unlabelled_pair_ids(source, annotator, pair_id=pair_id))


def next_pair_id(store: Store, source: str, annotator: str, *, mode: str = "random", judge: str = "",
                 seed: int = 0, skipped: frozenset[str] = frozenset()) -> str | None:
    """The next pair for ``annotator`` to label, or None when there is nothing left.

    Skipped pairs come back only when nothing else is left.
    """
    todo = unlabelled_pair_ids(store, source, annotator)
    todo = [p for p in todo if p not in skipped] or todo
    if not todo:
        return None
    if mode == "active" and judge:
        picked = _next_active(store, source, annotator, judge, set(todo), seed)
        if picked is not None:
            return picked
    return min(todo, key=lambda pair_id: _shuffle_key(seed, annotator, pair_id))


def _shuffle_key(seed: int, annotator: str, pair_id: str) -> bytes:
    """A seeded shuffle per annotator: each person walks the pairs in an order of their own that
    does not follow the file's, and comes back to the same order after a restart."""
    return hashlib.sha256(f"{seed}:{annotator}:{pair_id}".encode()).digest()


def _strata(store: Store, source: str, judge: str) -> pd.Series:
    from core.audit import spot_check_strata

    rows = store.audit_rows(source)
    frame = rows.merge(store.source_judgments(source, judge), on="pair_id")
    return spot_check_strata(frame, min_size=5)


def _next_active(store, source, annotator, judge, todo: set[str], seed: int) -> str | None:
    """The first planned draw this person has not labelled; plan a new batch when none is left.

    Plans are shared by everyone checking this judge on this source, and drawn over all its
    pairs, so the stratified estimate stays unbiased whoever labels.
    """
    from core.audit import plan_spot_checks

    draws = store.spot_check_draws(source, judge)
    strata = _strata(store, source, judge)
    if strata.empty:
        return None
    n = max(min(ACTIVE_BATCH, len(strata)), min(len(strata), 2 * strata.nunique()))
    for attempt in range(3):
        pending = [p for p in draws["pair_id"] if p in todo]
        if pending:
            return pending[0]
        plan = plan_spot_checks(strata, n, history=_history(store, source, judge, draws),
                                seed=seed + len(draws) + attempt)
        store.add_spot_check_draws(source, judge, plan)
        draws = store.spot_check_draws(source, judge)
    return None


def _history(store, source, judge, draws: pd.DataFrame) -> pd.DataFrame:
    agree = agreement_flags(store, source, judge)
    out = draws.copy()
    out["agree"] = out["pair_id"].map(agree)
    return out


def active_estimate(store: Store, source: str, judge: str) -> dict | None:
    """Unbiased agreement estimate from the labelled active batches (None until one batch is done)."""
    from core.audit import estimate_agreement

    draws = store.spot_check_draws(source, judge)
    if draws.empty:  # nothing planned: skip reading every label of the source
        return None
    draws = _history(store, source, judge, draws)
    complete = draws.groupby("batch")["agree"].apply(lambda a: a.notna().all())
    done = draws[draws["batch"].isin(complete[complete].index)]
    if done.empty:
        return None
    return estimate_agreement(done, _strata(store, source, judge))


def label_progress(store: Store, source: str, annotator: str) -> dict:
    return store.label_progress(source, annotator)


def undo_last(store: Store, annotator: str) -> str | None:
    """Remove this annotator's most recent label; return its pair_id (None if there was none)."""
    last = store.last_human_label(annotator)
    if last is None:
        return None
    store.delete_human_label(last["pair_id"], annotator)
    return str(last["pair_id"])
