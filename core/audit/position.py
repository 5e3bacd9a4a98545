"""Position bias: does the judge favour whichever response it is shown first?

With both orders per pair (``p_a_ab``: P(A better) with A shown first; ``p_a_ba``: P(A
better) with B shown first, already un-swapped), a verdict is consistent when both orders
fall on the same side of 0.5 (as ``core.judges.base.combine_orders`` decides it). Of the
inconsistent pairs, one "favoured the first slot" when the first-shown response won more
often than it lost across the two orders. With one order per pair, the only evidence is how
often slot A wins against the 0.5 an unbiased judge would give (Zheng et al. 2023, sec. 3.3).
"""
from __future__ import annotations

import numpy as np

from core.audit.bootstrap import SeedLike, bootstrap_counts, percentile_interval, safe_ratio, wilson_interval
from core.audit.frames import A, B, label_codes


def _both_orders(p_a_ab, p_a_ba) -> tuple[np.ndarray, np.ndarray]:
    ab = np.asarray(p_a_ab, dtype=np.float64)
    ba = np.asarray(p_a_ba, dtype=np.float64)
    if ab.shape != ba.shape:
        raise ValueError(f"p_a_ab and p_a_ba differ in shape: {ab.shape} vs {ba.shape}")
    both = np.isfinite(ab) & np.isfinite(ba)
    return ab[both], ba[both]


def first_slot_votes(p_a_ab, p_a_ba) -> tuple[np.ndarray, np.ndarray]:
    """Per pair with both orders: how many of its two readings chose the first-shown response
    (0-2), and how many chose a side at all (a reading of exactly 0.5 chooses none)."""
    ab, ba = _both_orders(p_a_ab, p_a_ba)
    first = (ab > 0.5).astype(np.int64) + (ba < 0.5)  # in the BA order, B is first
    sided = (ab != 0.5).astype(np.int64) + (ba != 0.5)
    return first, sided


def position_consistency_score(p_a_ab, p_a_ba) -> float:
    """Share of pairs (with both orders readable) whose two orders give the same side, in [0, 1]."""
    ab, ba = _both_orders(p_a_ab, p_a_ba)
    if ab.size == 0:
        return float("nan")
    return float(np.mean(np.sign(ab - 0.5) == np.sign(ba - 0.5)))


def position_bias(p_a_ab, p_a_ba, *, n_boot: int = 1000, seed: SeedLike = 0) -> dict | None:
    """Consistency and first-slot preference from both orders; None when no pair has both.

    Keys: n_both_orders, position_consistency; n_inconsistent, first_slot_share (of the
    inconsistent pairs, the share that favoured the first slot; 0.5 is unbiased) with a
    Wilson interval; slot_first_rate (share of all sided readings that chose the first slot)
    with a pair-bootstrap interval, and position_bias = slot_first_rate - 0.5, in [-0.5, 0.5].
    """
    ab, ba = _both_orders(p_a_ab, p_a_ba)
    if ab.size == 0:
        return None
    first, sided = first_slot_votes(ab, ba)
    consistent = np.sign(ab - 0.5) == np.sign(ba - 0.5)
    lean = (ab > 0.5).astype(int) - (ab < 0.5) + (ba < 0.5) - (ba > 0.5)  # first-slot wins minus losses
    n_inconsistent = int((~consistent).sum())
    favoured_first = int((lean[~consistent] > 0).sum())
    counts = np.bincount(first * 3 + sided, minlength=9).reshape(3, 3)
    boot = bootstrap_counts(counts, n_boot=n_boot, seed=seed)
    levels = np.arange(3)
    boot_rate = safe_ratio((boot.sum(axis=2) * levels).sum(axis=1), (boot.sum(axis=1) * levels).sum(axis=1))
    rate = float(safe_ratio(first.sum(), sided.sum()))
    return {
        "n_both_orders": int(ab.size),
        "position_consistency": float(consistent.mean()),
        "n_inconsistent": n_inconsistent,
        "first_slot_share": float(safe_ratio(favoured_first, n_inconsistent)),
        "first_slot_share_ci95": wilson_interval(favoured_first, n_inconsistent),
        "slot_first_rate": rate,
        "slot_first_rate_ci95": percentile_interval(boot_rate),
        "position_bias": rate - 0.5,
    }


def _binomial_p_value(successes: int, n: int) -> float:
    if n == 0:
        return float("nan")
    from scipy.stats import binomtest  # scipy.stats is slow to import; only this needs it

    return float(binomtest(successes, n, 0.5).pvalue)


def slot_a_rate(verdicts) -> dict:
    """For one-order judgments: how often the judge picked slot A among its A/B verdicts.

    Keys: n (A or B verdicts), slot_a_rate with a Wilson interval (slot_a_rate_ci95),
    position_bias = slot_a_rate - 0.5 in [-0.5, 0.5], and p_value of an exact two-sided
    binomial test against 0.5. The rate is confounded with which response the data put in
    slot A; on data with a shuffled order it measures position bias alone.
    """
    codes = label_codes(verdicts, name="verdicts")
    n_a, n_b = int((codes == A).sum()), int((codes == B).sum())
    n = n_a + n_b
    rate = n_a / n if n else float("nan")
    return {
        "n": n,
        "slot_a_rate": rate,
        "slot_a_rate_ci95": wilson_interval(n_a, n),
        "position_bias": rate - 0.5,
        "p_value": _binomial_p_value(n_a, n),
    }
