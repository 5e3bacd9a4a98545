"""Verbosity bias: does the judge prefer the longer response more than people do?

``p_longer`` is P(the chosen response is the longer one) over non-tie verdicts on pairs whose
responses differ in character length (Zheng et al. 2023, sec. 3.3, measure the same lean
with their "repetitive list" attack; Dubois et al. 2024 correct for it with a length GLM).
Judge and humans are compared on the same pairs: those where neither label is INVALID or
missing.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.audit.agreement import summary_from_codes
from core.audit.bootstrap import SeedLike, bootstrap_counts, percentile_interval, safe_ratio
from core.audit.frames import NONE, TIE, A, B, label_codes
from core.audit.length_glm import length_controlled_win_rate

LONGER, SHORTER, UNCOUNTED = 0, 1, 2


def _lengths(len_a, len_b) -> tuple[np.ndarray, np.ndarray]:
    la = np.asarray(len_a, dtype=np.float64)
    lb = np.asarray(len_b, dtype=np.float64)
    if la.shape != lb.shape:
        raise ValueError(f"len_a and len_b differ in shape: {la.shape} vs {lb.shape}")
    return la, lb


def longer_codes(codes: np.ndarray, len_a, len_b) -> np.ndarray:
    """Per pair: LONGER (0) or SHORTER (1) for which response the label chose, UNCOUNTED (2)
    for a tie, an INVALID or missing label, or responses of equal length."""
    la, lb = _lengths(len_a, len_b)
    if la.shape != codes.shape:
        raise ValueError(f"labels and lengths differ in length: {codes.shape[0]} vs {la.shape[0]}")
    chose_longer = ((codes == A) & (la > lb)) | ((codes == B) & (lb > la))
    chose_shorter = ((codes == A) & (la < lb)) | ((codes == B) & (lb < la))
    return np.where(chose_longer, LONGER, np.where(chose_shorter, SHORTER, UNCOUNTED)).astype(np.int64)


def p_longer(labels, len_a, len_b) -> float:
    """P(prefer the longer response) over non-tie labels on pairs of unequal length, in [0, 1].

    0.5 is length-neutral; NaN when no label counts."""
    choice = longer_codes(label_codes(labels), len_a, len_b)
    return float(safe_ratio((choice == LONGER).sum(), (choice != UNCOUNTED).sum()))


def verbosity_from_codes(human: np.ndarray, judge: np.ndarray, len_a, len_b, *, n_boot: int = 1000,
                         seed: SeedLike = 0) -> dict:
    both = (human != NONE) & (judge != NONE)
    h = longer_codes(human, len_a, len_b)[both]
    j = longer_codes(judge, len_a, len_b)[both]
    counts = np.bincount(h * 3 + j, minlength=9).reshape(3, 3)  # rows human, columns judge

    def rates(c):
        judge_rate = safe_ratio(c[..., :, LONGER].sum(-1), c[..., :, :2].sum((-1, -2)))
        human_rate = safe_ratio(c[..., LONGER, :].sum(-1), c[..., :2, :].sum((-1, -2)))
        return judge_rate, human_rate

    judge_rate, human_rate = rates(counts)
    boot_judge, boot_human = rates(bootstrap_counts(counts, n_boot=n_boot, seed=seed))
    diff_ci = percentile_interval(boot_judge - boot_human)
    return {
        "n_pairs": int(both.sum()),
        "judge_p_longer": float(judge_rate),
        "judge_p_longer_ci95": percentile_interval(boot_judge),
        "human_p_longer": float(human_rate),
        "human_p_longer_ci95": percentile_interval(boot_human),
        "verbosity_bias": float(judge_rate - human_rate),
        "verbosity_bias_ci95": diff_ci,
        "judge_more_length_biased": bool(diff_ci[0] > 0),
    }


def verbosity_bias(human, judge, len_a, len_b, *, n_boot: int = 1000, seed: SeedLike = 0) -> dict:
    """Judge's and humans' P(prefer the longer response) on the same pairs, and their difference.

    Keys: n_pairs; judge_p_longer, human_p_longer (each with a *_ci95); verbosity_bias =
    judge_p_longer - human_p_longer in [-1, 1], 0 when the judge leans to length as much as
    people do, with a paired bootstrap interval (verbosity_bias_ci95); and
    judge_more_length_biased, True when that whole interval lies above 0.
    """
    return verbosity_from_codes(label_codes(human, name="human"), label_codes(judge, name="judge"),
                                len_a, len_b, n_boot=n_boot, seed=seed)


def length_buckets(len_a, len_b, *, bins: int = 4) -> pd.Categorical:
    """Ordered bucket of |len_a - len_b| per pair: 'equal', then up to ``bins`` quantile buckets
    named in whole characters ('5–158 chars', then '159–400 chars'): lengths are counts, so each
    bucket is the integer range it holds, its upper end included."""
    if int(bins) != bins or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    la, lb = _lengths(len_a, len_b)
    diff = np.abs(la - lb)
    names = ["equal"]
    index = np.zeros(diff.shape, dtype=np.int64)
    unequal = diff > 0
    if unequal.any():
        whole = np.round(diff[unequal]).astype(np.int64)
        edges = np.unique(np.ceil(np.quantile(whole, np.linspace(0, 1, bins + 1))).astype(np.int64))
        # bucket i holds edges[i] .. edges[i + 1] - 1; the last also holds its upper edge
        tops = np.append(edges[1:-1] - 1, edges[-1]) if len(edges) > 1 else edges
        bottoms = edges[:-1] if len(edges) > 1 else edges
        names += [f"{lo} char{'' if lo == 1 else 's'}" if lo == hi else f"{lo}–{hi} chars"
                  for lo, hi in zip(bottoms, tops)]
        index[unequal] = 1 + np.clip(np.searchsorted(edges, whole, side="right") - 1, 0, len(bottoms) - 1)
    return pd.Categorical.from_codes(index, categories=names, ordered=True)


def agreement_by_length_from_codes(human, judge, len_a, len_b, *, bins=4, n_boot=1000, seed: SeedLike = 0):
    buckets = length_buckets(len_a, len_b, bins=bins)
    la, lb = _lengths(len_a, len_b)
    rows = []
    for code, bucket in enumerate(buckets.categories):
        mask = buckets.codes == code
        if not mask.any():
            continue
        row = {"length_diff": bucket}
        row.update(summary_from_codes(human[mask], judge[mask], n_boot=n_boot, seed=seed))
        lean = verbosity_from_codes(human[mask], judge[mask], la[mask], lb[mask], n_boot=1, seed=seed)
        row.update(judge_p_longer=lean["judge_p_longer"], human_p_longer=lean["human_p_longer"])
        rows.append(row)
    return pd.DataFrame(rows)


def agreement_by_length(human, judge, len_a, len_b, *, bins: int = 4, n_boot: int = 1000,
                        seed: SeedLike = 0) -> pd.DataFrame:
    """Agreement, kappa and both p_longer per bucket of absolute length difference.

    One row per bucket ('equal', then ``bins`` quantile buckets of |len_a - len_b| among
    unequal pairs), with the columns of ``agreement_summary`` plus judge_p_longer and
    human_p_longer.
    """
    return agreement_by_length_from_codes(label_codes(human, name="human"), label_codes(judge, name="judge"),
                                          len_a, len_b, bins=bins, n_boot=n_boot, seed=seed)


def length_controlled_from_codes(human: np.ndarray, judge: np.ndarray, len_a, len_b) -> dict:
    la, lb = _lengths(len_a, len_b)
    usable = (human <= B) & (judge != NONE)
    h, j = human[usable], judge[usable]
    wins = np.where(j == h, 1.0, np.where(j == TIE, 0.5, 0.0))
    delta = np.where(h == A, la[usable] - lb[usable], lb[usable] - la[usable])
    return length_controlled_win_rate(wins, delta)


def length_controlled_agreement(human, judge, len_a, len_b) -> dict:
    """How often the judge picks the human's choice, predicted at zero length difference.

    Over pairs where the human chose A or B and the judge's verdict is valid, the judge
    "wins" when it picks the human's choice (a TIE verdict counts 0.5); the length covariate
    is len(human's choice) - len(other). ``length_controlled`` is the GLM's prediction at
    zero difference (see ``length_controlled_win_rate``); ``win_rate`` is the raw rate. A
    length-biased judge scores near 0.5 once length is controlled, a length-blind one does not
    move.
    """
    return length_controlled_from_codes(label_codes(human, name="human"), label_codes(judge, name="judge"),
                                        len_a, len_b)
