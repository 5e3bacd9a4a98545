"""The one rule that turns people's votes on a pair into the human label a judge is measured against.

Each pair's human label is the majority of its votes; a split vote (say one A and one B) is a
tie. Every vote is kept: the human-human ceiling (``core.audit.human``) reads them all. The rule
lives here once (``_majority``) and every reader goes through it: the audit's aligned arrays
(``aligned_consensus``), a frame of labels (``human_consensus``), one pair's votes
(``consensus_of``), and the importers, the exporters, the gate and the RLHF arm through those.
Vectorised (counting per pair), because a store can hold 100,000 labelled pairs.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

CONSENSUS_RULE = ("Each pair's human label is the majority of everyone's votes; a split vote (e.g. one A, one B) "
                  "counts as a tie. Every vote is kept: the human-human ceiling uses them all.")

_LABELS = np.array(["A", "B", "TIE"], dtype=object)
_CODE = {"A": 0, "B": 1, "TIE": 2}


def _majority(counts: np.ndarray) -> np.ndarray:
    """Per row of vote counts (A, B, TIE): the code of the label with the most votes, 2 (TIE) where
    two labels share the most."""
    split = (counts == counts.max(axis=1, keepdims=True)).sum(axis=1) > 1
    return np.where(split, 2, counts.argmax(axis=1))


def is_split(votes: Sequence[str]) -> bool:
    """No single label has the most votes (one A and one B, say): a tie the rule makes, not one people
    voted for."""
    counts = np.array([[sum(v == label for v in votes) for label in _LABELS]])
    return bool(votes) and bool((counts == counts.max()).sum() > 1)


def consensus_of(votes: Sequence[str]) -> str | None:
    """The human label of one pair with these ``votes`` ('A', 'B' or 'TIE' each); None without votes."""
    if not votes:
        return None
    counts = np.array([[sum(v == label for v in votes) for label in _LABELS]])
    return str(_LABELS[_majority(counts)[0]])


def aligned_consensus(n_pairs: int, position: np.ndarray, code: np.ndarray) -> pd.DataFrame:
    """The consensus of votes given as (pair position, code 0 A / 1 B / 2 TIE), one row per pair
    0..n_pairs-1: human (None where unlabelled), n_annotators, annotators (the votes, oldest
    first, where two or more people labelled the pair; else None). Votes at position -1 (pairs
    not in the list) are left out."""
    position, code = np.asarray(position, dtype=np.int64), np.asarray(code, dtype=np.int64)
    known = position >= 0
    position, code = position[known], code[known]
    counts = np.bincount(position * 3 + code, minlength=3 * n_pairs).reshape(n_pairs, 3)
    total = counts.sum(axis=1)
    human = np.where(total > 0, _LABELS[_majority(counts)], None)
    annotators = np.full(n_pairs, None, dtype=object)
    multi = total >= 2
    if multi.any():  # vote lists matter only where several people labelled (the human-human ceiling)
        keep = multi[position]
        grouped = pd.Series(_LABELS[code[keep]]).groupby(position[keep]).agg(list)
        annotators[grouped.index.to_numpy()] = grouped.to_numpy()
    return pd.DataFrame({"human": pd.array(human, dtype=object), "n_annotators": total,
                         "annotators": pd.array(annotators, dtype=object)})


def human_consensus(labels: pd.DataFrame) -> pd.DataFrame:
    """One row per pair of a labels frame (pair_id, label), pair ids sorted: the consensus
    ('A'/'B'/'TIE'), annotator count, and the votes (a one-vote pair's list is its one vote)."""
    if labels.empty:
        return pd.DataFrame(columns=["pair_id", "human", "n_annotators", "annotators"])
    pair, ids = pd.factorize(labels["pair_id"], sort=True)
    code = labels["label"].map(_CODE).to_numpy()
    consensus = aligned_consensus(len(ids), pair, code)
    human, votes = consensus["human"].to_numpy(), consensus["annotators"].to_numpy().copy()
    for i in np.flatnonzero(consensus["n_annotators"].to_numpy() == 1):
        votes[i] = [human[i]]
    return pd.DataFrame({"pair_id": ids, "human": human, "n_annotators": consensus["n_annotators"].to_numpy(),
                         "annotators": votes})
