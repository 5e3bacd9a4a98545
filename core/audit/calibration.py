"""Calibration: does the judge's confidence match how often it agrees with people?

The judge's soft label ``p_a`` is its P(A better). Its confidence is max(p_a, 1 - p_a), in
[0.5, 1], and it agrees when it leans to the side the human chose (a lean of exactly 0.5
gets half credit). Only pairs where the human chose A or B count: a soft label says nothing
about how likely a tie is. Reliability bins and the expected calibration error follow Guo et
al. (2017), "On Calibration of Modern Neural Networks"; the Brier score is Brier (1950) on
p_a against 1[human chose A], as scikit-learn's ``brier_score_loss``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.audit.frames import A, B, label_codes

DECISIVE_MARGIN = 0.05  # a soft label within 0.5 +- this (45-55%) says "I am guessing"
UNINFORMATIVE_SHARE = 0.10  # decisive on fewer pairs than this: its confidence says nothing (docs/audit.md)
CALIBRATED_ECE = 0.05  # an ECE at most this is called calibrated: a gap the size of bin noise


def _usable(human, p_a) -> tuple[np.ndarray, np.ndarray]:
    return _usable_codes(label_codes(human, name="human"), p_a)


def _usable_codes(codes: np.ndarray, p_a) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p_a, dtype=np.float64)
    if p.shape != codes.shape:
        raise ValueError(f"human labels and p_a differ in length: {codes.shape[0]} vs {p.shape[0]}")
    finite = np.isfinite(p)
    if np.any((p[finite] < 0) | (p[finite] > 1)):
        raise ValueError(f"p_a must be in [0, 1]; got {p[finite][(p[finite] < 0) | (p[finite] > 1)][0]!r}")
    keep = finite & ((codes == A) | (codes == B))
    return (codes[keep] == A).astype(np.float64), p[keep]


def _confidence_and_agreement(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    confidence = np.maximum(p, 1 - p)
    agreed = np.where(p == 0.5, 0.5, ((p > 0.5) == (y == 1)).astype(np.float64))
    return confidence, agreed


def _check_bins(n_bins: int) -> int:
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    return int(n_bins)


def brier_score_loss(human, p_a) -> float:
    """Mean of (p_a - 1[human chose A])^2 over pairs with a human A/B label and a finite p_a.

    In [0, 1], lower is better; 0.25 is what a constant 0.5 scores. NaN with no such pair.
    """
    y, p = _usable(human, p_a)
    return float(np.mean((p - y) ** 2)) if y.size else float("nan")


def _table(y: np.ndarray, p: np.ndarray, n_bins: int) -> pd.DataFrame:
    confidence, agreed = _confidence_and_agreement(y, p)
    edges = np.linspace(0.5, 1.0, n_bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, n_bins - 1)
    n = np.bincount(index, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(index, weights=confidence, minlength=n_bins) / n
        mean_agree = np.bincount(index, weights=agreed, minlength=n_bins) / n
    table = pd.DataFrame({"bin_low": edges[:-1], "bin_high": edges[1:], "n": n,
                          "confidence": mean_conf, "agreement": mean_agree})
    table["gap"] = table["confidence"] - table["agreement"]
    return table[table["n"] > 0].reset_index(drop=True)


def calibration_table(human, p_a, *, n_bins: int = 10) -> pd.DataFrame:
    """Reliability bins: equal-width bins of confidence over [0.5, 1].

    Columns: bin_low, bin_high, n, confidence (mean in the bin), agreement (mean in the bin),
    gap = confidence - agreement (> 0: overconfident). Empty bins are left out.
    """
    y, p = _usable(human, p_a)
    return _table(y, p, _check_bins(n_bins))


def expected_calibration_error(human, p_a, *, n_bins: int = 10) -> float:
    """Sum over bins of (share of pairs in the bin) x |mean confidence - agreement|, in [0, 0.5].

    Lower is better; NaN with no usable pair. See ``calibration_table`` for the bins.
    """
    table = calibration_table(human, p_a, n_bins=n_bins)
    if table.empty:
        return float("nan")
    return float((table["n"] * table["gap"].abs()).sum() / table["n"].sum())


def calibration_from_codes(human: np.ndarray, p_a, *, n_bins: int = 10) -> dict | None:
    y, p = _usable_codes(human, p_a)
    table = _table(y, p, _check_bins(n_bins))
    if table.empty:
        return None
    return {
        "n": int(table["n"].sum()),
        "ece": float((table["n"] * table["gap"].abs()).sum() / table["n"].sum()),
        "brier": float(np.mean((p - y) ** 2)),
        "mean_confidence": float((table["n"] * table["confidence"]).sum() / table["n"].sum()),
        "decisive_share": float(np.mean(np.abs(p - 0.5) > DECISIVE_MARGIN)),
        "reliability": table.to_dict(orient="records"),
    }


def calibration_summary(human, p_a, *, n_bins: int = 10) -> dict | None:
    """ECE, Brier score, mean confidence, ``decisive_share`` (the share of pairs whose p_a is
    outside 0.5 +- DECISIVE_MARGIN: a judge near 0 there is calibrated only because it always
    says it is guessing) and the reliability table (as records); None when no pair has both a
    finite p_a and a human A/B label."""
    return calibration_from_codes(label_codes(human, name="human"), p_a, n_bins=n_bins)
