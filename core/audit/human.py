"""Human-human agreement when several people labelled a pair: the ceiling a judge is measured against.

``annotators`` is one entry per pair: a list of labels ('A', 'B', 'TIE'; None or 'INVALID'
for a missing vote), or None when the pair has no per-annotator votes. Lists may differ in
length; position k in every list is taken to be the same person only by ``annotator_kappas``.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.audit.agreement import joint_counts, stats_from_counts
from core.audit.frames import N_CODES, NONE, label_codes


def vote_matrix(annotators: Sequence) -> np.ndarray:
    """Codes of shape (n_pairs, max_votes); NONE fills missing votes and short lists.

    A vote matrix already (a 2-D integer array) is returned as it is, so that ``human_ceiling``
    builds it once for all its statistics.
    """
    if isinstance(annotators, np.ndarray) and annotators.ndim == 2 and annotators.dtype.kind in "iu":
        return annotators
    lists = [[] if votes is None or (np.isscalar(votes) and pd.isna(votes)) else list(votes) for votes in annotators]
    width = max((len(v) for v in lists), default=0)
    padded = [v + [None] * (width - len(v)) for v in lists]
    flat = label_codes([x for row in padded for x in row], name="annotators")
    return flat.reshape(len(lists), width)


def vote_counts(votes: np.ndarray) -> np.ndarray:
    """(n_pairs, 3) counts of A, B and TIE votes per pair."""
    counts = np.zeros((votes.shape[0], N_CODES), dtype=np.int64)
    for column in votes.T:
        counts[np.arange(len(column)), column] += 1
    return counts[:, :NONE]


def _pairs_of(k: np.ndarray) -> np.ndarray:
    return k * (k - 1) / 2


def annotator_agreement_score(annotators: Sequence, *, with_ties: bool = True) -> float:
    """Share of agreeing vote pairs among all pairs of votes on the same item, in [0, 1].

    MT-Bench's human-human agreement: every two votes on one pair count once, pooled over
    pairs; ``with_ties=False`` drops tie votes first. NaN when no pair has two usable votes.
    """
    counts = vote_counts(vote_matrix(annotators))
    if not with_ties:
        counts = counts[:, :2]
    agreeing = _pairs_of(counts).sum()
    total = _pairs_of(counts.sum(axis=1)).sum()
    return float(agreeing / total) if total > 0 else float("nan")


def judge_annotator_agreement_score(annotators: Sequence, judge, *, with_ties: bool = True) -> float:
    """Share of individual human votes that match the judge's verdict, pooled over pairs, in [0, 1].

    MT-Bench compares a judge with each human vote, not with a majority, which makes this the
    number to set beside ``annotator_agreement_score``. Pairs with an INVALID verdict are left
    out; ``with_ties=False`` also leaves out TIE verdicts and tie votes.
    """
    counts = vote_counts(vote_matrix(annotators))
    verdict = label_codes(judge, name="judge")
    if len(verdict) != len(counts):
        raise ValueError(f"annotators and judge differ in length: {len(counts)} vs {len(verdict)}")
    usable = verdict < (2 if not with_ties else 3)
    voters = counts[:, :2].sum(axis=1) if not with_ties else counts.sum(axis=1)
    matching = counts[usable, verdict[usable]].sum()
    total = voters[usable].sum()
    return float(matching / total) if total > 0 else float("nan")


def krippendorff_alpha(annotators: Sequence) -> float:
    """Krippendorff's alpha for nominal labels A, B, TIE, with missing votes allowed.

    In [-1, 1] (1 perfect, 0 chance); pairs with fewer than two votes take no part. NaN when
    only one label is ever used. Reference: Krippendorff (2011), "Computing Krippendorff's
    Alpha-Reliability"; equal to ``krippendorff.alpha(..., level_of_measurement='nominal')``.
    """
    counts = vote_counts(vote_matrix(annotators)).astype(np.float64)
    m = counts.sum(axis=1)
    pairable = m >= 2
    counts, m = counts[pairable], m[pairable]
    # coincidence matrix: o_ck = sum_u (n_uc n_uk - [c == k] n_uc) / (m_u - 1)
    weights = 1.0 / (m - 1)
    coincidence = np.einsum("u,uc,uk->ck", weights, counts, counts) - np.diag(weights @ counts)
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    disagree_observed = coincidence.sum() - np.trace(coincidence)
    disagree_expected = n * n - (n_c * n_c).sum()
    if disagree_expected <= 0:
        return float("nan")
    return float(1.0 - (n - 1) * disagree_observed / disagree_expected)


def annotator_kappas(annotators: Sequence) -> pd.DataFrame:
    """Cohen's kappa and agreement for every two annotator positions, over pairs both labelled.

    Columns: annotator_1, annotator_2 (0-based positions), n, agreement, cohen_kappa.
    Meaningful only when position k is the same person on every pair (PandaLM's three).
    """
    votes = vote_matrix(annotators)
    rows = []
    for i in range(votes.shape[1]):
        for j in range(i + 1, votes.shape[1]):
            stats = stats_from_counts(joint_counts(votes[:, i], votes[:, j]))
            rows.append({"annotator_1": i, "annotator_2": j, "n": int(stats["n_valid"]),
                         "agreement": float(stats["agreement"]), "cohen_kappa": float(stats["cohen_kappa"])})
    return pd.DataFrame(rows, columns=["annotator_1", "annotator_2", "n", "agreement", "cohen_kappa"])


def human_ceiling(annotators: Sequence, judge=None) -> dict | None:
    """Human-human agreement, Krippendorff's alpha and, given verdicts, the judge's agreement
    with individual votes; None when no pair has two votes."""
    annotators = vote_matrix(annotators)
    counts = vote_counts(annotators)
    n_multi = int((counts.sum(axis=1) >= 2).sum())
    if n_multi == 0:
        return None
    out = {
        "n_pairs": n_multi,
        "human_human_agreement": annotator_agreement_score(annotators),
        "human_human_agreement_no_ties": annotator_agreement_score(annotators, with_ties=False),
        "krippendorff_alpha": krippendorff_alpha(annotators),
        "annotator_kappas": annotator_kappas(annotators).to_dict(orient="records"),
    }
    if judge is not None:
        out["judge_annotator_agreement"] = judge_annotator_agreement_score(annotators, judge)
        out["judge_annotator_agreement_no_ties"] = judge_annotator_agreement_score(annotators, judge, with_ties=False)
    return out
