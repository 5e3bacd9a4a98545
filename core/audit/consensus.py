"""The one rule that turns people's votes on a pair into the human label a judge is measured against.

A source's *consensus policy* says which votes decide (``POLICIES``); the decisive votes' majority
is the pair's human label, and a split (say one A and one B) is a tie. Every vote is kept: the
human-human ceiling (``core.audit.human``) reads them all, decisive or not. The rule lives here
once (``_majority``, ``decisive``) and every reader goes through it: the audit's aligned arrays
(``aligned_consensus``), a frame of labels (``human_consensus``), one pair's votes
(``consensus_of``), and the importers, the exporters, the gate and the RLHF arm through those.
Vectorised (counting per pair), because a store can hold 100,000 labelled pairs.

The default is ``imported``: labels that came with an import (a curated set, often several
annotators, sometimes adjudicated) stay the reference, and a spot-check on such a pair is measured
against them instead of silently rewriting them; where a pair came without labels, the
spot-checks' majority decides. ``majority`` counts every vote alike; ``reviewer:NAME`` lets one
person's label decide where they gave one.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

DEFAULT_POLICY = "imported"
POLICIES = ("imported", "majority", "reviewer:")  # 'reviewer:' is followed by a name
POLICY_RULES = {
    "imported": ("Imported labels decide: where a pair came with labels, their majority is its human label and "
                 "spot-checks are measured against it, not mixed in; where it came without, the spot-checks' "
                 "majority decides. A split vote counts as a tie."),
    "majority": ("Everyone's votes count alike: each pair's human label is the majority of all its votes, imported "
                 "and spot-checks; a split vote counts as a tie."),
    "reviewer:": ("{name}'s label decides wherever {name} gave one; elsewhere imported labels decide, then the "
                  "spot-checks' majority. A split vote counts as a tie."),
}
CONSENSUS_RULE = POLICY_RULES[DEFAULT_POLICY] + " Every vote is kept: the human-human ceiling uses them all."

_LABELS = np.array(["A", "B", "TIE"], dtype=object)
_CODE = {"A": 0, "B": 1, "TIE": 2}


def _majority(counts: np.ndarray) -> np.ndarray:
    """Per row of vote counts (A, B, TIE): the code of the label with the most votes, 2 (TIE) where
    two labels share the most."""
    split = (counts == counts.max(axis=1, keepdims=True)).sum(axis=1) > 1
    return np.where(split, 2, counts.argmax(axis=1))


def check_policy(policy: str | None) -> str:
    """The policy named (the default for None); ValueError naming a value that is none of ``POLICIES``."""
    policy = DEFAULT_POLICY if policy is None else str(policy).strip()
    if policy in ("imported", "majority") or (policy.startswith("reviewer:") and policy[len("reviewer:"):].strip()):
        return policy
    raise ValueError(f"consensus policy {policy!r}: use 'imported', 'majority' or 'reviewer:NAME'")


def policy_rule(policy: str | None) -> str:
    """The policy in one sentence a reader of the Agreement page or the report understands."""
    policy = check_policy(policy)
    if policy.startswith("reviewer:"):
        return POLICY_RULES["reviewer:"].format(name=policy[len("reviewer:"):].strip())
    return POLICY_RULES[policy]


def decisive(position: np.ndarray, n_pairs: int, *, imported=None, annotator=None, policy: str | None = None
             ) -> np.ndarray:
    """Which votes decide their pair's label under ``policy``: a mask over the votes, given each vote's
    pair ``position`` (0..n_pairs-1), whether it came with an import, and who gave it."""
    policy = check_policy(policy)
    position = np.asarray(position, dtype=np.int64)
    every = np.ones(len(position), dtype=bool)
    if policy == "majority" or imported is None:
        counted = every
    else:
        imported = np.asarray(imported, dtype=bool)
        has_import = np.bincount(position[imported], minlength=n_pairs) > 0
        counted = imported | ~has_import[position]
    if policy.startswith("reviewer:") and annotator is not None:
        mine = np.asarray(annotator, dtype=object) == policy[len("reviewer:"):].strip()
        has_mine = np.bincount(position[mine], minlength=n_pairs) > 0
        counted = np.where(has_mine[position], mine, counted)
    return counted


def is_split(votes: Sequence[str]) -> bool:
    """No single label has the most votes (one A and one B, say): a tie the rule makes, not one people
    voted for."""
    counts = np.array([[sum(v == label for v in votes) for label in _LABELS]])
    return bool(votes) and bool((counts == counts.max()).sum() > 1)


def consensus_of(votes: Sequence[str], *, imported=None, annotators=None, policy: str | None = None) -> str | None:
    """The human label of one pair with these ``votes`` ('A', 'B' or 'TIE' each) under ``policy``
    (``imported`` and ``annotators``, when given, say where each vote came from and who gave it);
    None without votes."""
    if not votes:
        return None
    keep = decisive(np.zeros(len(votes), dtype=np.int64), 1, imported=imported, annotator=annotators, policy=policy)
    kept = [v for v, k in zip(votes, keep) if k]
    counts = np.array([[sum(v == label for v in kept) for label in _LABELS]])
    return str(_LABELS[_majority(counts)[0]])


def aligned_consensus(n_pairs: int, position: np.ndarray, code: np.ndarray, *, imported=None, annotator=None,
                      policy: str | None = None) -> pd.DataFrame:
    """The consensus of votes given as (pair position, code 0 A / 1 B / 2 TIE), one row per pair
    0..n_pairs-1, under ``policy`` (``decisive``): human (None where unlabelled), n_annotators (every
    vote), annotators (every vote, oldest first, where two or more people labelled the pair; else
    None). Votes at position -1 (pairs not in the list) are left out."""
    position, code = np.asarray(position, dtype=np.int64), np.asarray(code, dtype=np.int64)
    known = position >= 0
    position, code = position[known], code[known]
    imported = None if imported is None else np.asarray(imported)[known]
    annotator = None if annotator is None else np.asarray(annotator, dtype=object)[known]
    counted = decisive(position, n_pairs, imported=imported, annotator=annotator, policy=policy)
    counts = np.bincount(position[counted] * 3 + code[counted], minlength=3 * n_pairs).reshape(n_pairs, 3)
    total = np.bincount(position, minlength=n_pairs)
    human = np.where(total > 0, _LABELS[_majority(counts)], None)
    annotators = np.full(n_pairs, None, dtype=object)
    multi = total >= 2
    if multi.any():  # vote lists matter only where several people labelled (the human-human ceiling)
        keep = multi[position]
        grouped = pd.Series(_LABELS[code[keep]]).groupby(position[keep]).agg(list)
        annotators[grouped.index.to_numpy()] = grouped.to_numpy()
    return pd.DataFrame({"human": pd.array(human, dtype=object), "n_annotators": total,
                         "annotators": pd.array(annotators, dtype=object)})


def human_consensus(labels: pd.DataFrame, *, policy: str | None = None) -> pd.DataFrame:
    """One row per pair of a labels frame (pair_id, label; optionally origin and annotator, which the
    policy reads), pair ids sorted: the consensus ('A'/'B'/'TIE') under ``policy``, the count of
    every vote, and every vote (a one-vote pair's list is its one vote)."""
    if labels.empty:
        return pd.DataFrame(columns=["pair_id", "human", "n_annotators", "annotators"])
    pair, ids = pd.factorize(labels["pair_id"], sort=True)
    code = labels["label"].map(_CODE).to_numpy()
    imported = (labels["origin"] == "import").to_numpy() if "origin" in labels else None
    annotator = labels["annotator"].to_numpy() if "annotator" in labels else None
    consensus = aligned_consensus(len(ids), pair, code, imported=imported, annotator=annotator, policy=policy)
    human, votes = consensus["human"].to_numpy(), consensus["annotators"].to_numpy().copy()
    for i in np.flatnonzero(consensus["n_annotators"].to_numpy() == 1):
        votes[i] = [human[i]]
    return pd.DataFrame({"pair_id": ids, "human": human, "n_annotators": consensus["n_annotators"].to_numpy(),
                         "annotators": votes})


def vote_breakdown(annotators: Sequence[str], labels: Sequence[str], imported: Sequence[bool] | None = None, *,
                   policy: str | None = None) -> str:
    """One pair's human label with the votes behind it, as a person reads it wherever the label is shown:
    'TIE, 1-1 split (team A, kim B)', 'A, 2-1 (team A, dana A, kim B)', 'A (team A); measured against
    it, not counted: kim B'. Empty without votes."""
    if not labels:
        return ""
    keep = decisive(np.zeros(len(labels), dtype=np.int64), 1, imported=imported, annotator=annotators, policy=policy)
    counted = [(a, v) for a, v, k in zip(annotators, labels, keep) if k]
    label = consensus_of([v for _, v in counted])
    tally = sorted((sum(v == x for _, v in counted) for x in dict.fromkeys(v for _, v in counted)), reverse=True)
    shape = ""
    if len(counted) > 1:
        shape = ", unanimous" if len(tally) == 1 else f", {'–'.join(map(str, tally))}" + (
            " split" if label == "TIE" and "TIE" not in [v for _, v in counted] else "")
    text = f"{label}{shape} ({', '.join(f'{a} {v}' for a, v in counted)})"
    others = [f"{a} {v}" for a, v, k in zip(annotators, labels, keep) if not k]
    return text + (f"; measured against it, not counted: {', '.join(others)}" if others else "")
