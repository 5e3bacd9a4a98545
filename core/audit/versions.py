"""Two versions of a judge on the same pairs: paired differences, which verdicts changed, and the
correction owed when several versions were compared on the same held-out pairs.

A version of a constitution is a judge; comparing two is comparing two judges on the *same*
human-labelled pairs, so the difference is paired: resampling pairs keeps what the two share, and
the interval of the difference is far narrower than the two intervals side by side suggest.

``paired_versions`` gives each version's agreement and Cohen's κ and the difference of both, with
a paired percentile bootstrap (every resample draws the joint cells human × base × other at once,
as ``bootstrap_counts`` does), and an exact McNemar test of the agreement difference on the pairs
where exactly one of the two agrees with people. ``holm`` adjusts such p-values for the number of
versions compared (Holm 1979): each comparison of a new version with the same held-out pairs is
one more chance for a lead that is luck.
"""
from __future__ import annotations

import math

import numpy as np

from core.audit.agreement import stats_from_counts
from core.audit.bootstrap import SeedLike, bootstrap_counts, check_confidence, percentile_interval
from core.audit.frames import N_CODES, NONE

CHANGES = ("now agrees", "now disagrees", "changed, still disagrees", "unchanged")
NOW_AGREES, NOW_DISAGREES, STILL_DISAGREES, UNCHANGED, NOT_COUNTED = 0, 1, 2, 3, -1


def _check(human: np.ndarray, *verdicts: np.ndarray) -> None:
    for v in verdicts:
        if len(v) != len(human):
            raise ValueError(f"human labels and verdicts differ in length: {len(human)} vs {len(v)}")


def paired_versions(human: np.ndarray, base: np.ndarray, other: np.ndarray, *, n_boot: int = 2000,
                    seed: SeedLike = 0, confidence: float = 0.95) -> dict:
    """Agreement and κ of ``base`` and ``other`` (label codes) on the pairs with a human label, and
    ``other`` minus ``base`` with paired bootstrap intervals.

    As in ``summary_from_codes``, an INVALID verdict leaves that pair out of that version's
    agreement (it is counted in ``n_invalid_*``). Keys: n_pairs; base_agreement, other_agreement,
    base_kappa, other_kappa (with ``*_ci``); agreement_difference and kappa_difference in [-1, 1]
    (resp. [-2, 2]) with ``*_ci``; n_discordant_better / n_discordant_worse (pairs only ``other``
    / only ``base`` got right, both verdicts valid) and mcnemar_p (exact, two-sided); same_verdict_share.
    ``confidence`` sets every interval (a Bonferroni-corrected one: 1 - 0.05 / comparisons).
    """
    confidence = check_confidence(confidence)
    _check(human, base, other)
    keep = human != NONE
    h, b, o = human[keep].astype(np.int64), base[keep].astype(np.int64), other[keep].astype(np.int64)
    cells = np.bincount((h * N_CODES + b) * N_CODES + o, minlength=3 * N_CODES * N_CODES).reshape(3, N_CODES, N_CODES)
    boot = bootstrap_counts(cells, n_boot=n_boot, seed=seed)

    def stats(counts):  # (..., 3, 4, 4) -> each version's (..., 4, 4) human x verdict counts
        pad = [(0, 0)] * (counts.ndim - 3) + [(0, 1), (0, 0)]
        return (stats_from_counts(np.pad(counts.sum(-1), pad)), stats_from_counts(np.pad(counts.sum(-2), pad)))

    (sb, so), (bb, bo) = stats(cells), stats(boot)
    both_valid = (b != NONE) & (o != NONE)
    better = int((both_valid & (o == h) & (b != h)).sum())
    worse = int((both_valid & (b == h) & (o != h)).sum())

    def ci(samples):
        return percentile_interval(samples, confidence=confidence)

    return {
        "n_pairs": int(keep.sum()), "confidence": confidence,
        "n_invalid_base": int((b == NONE).sum()), "n_invalid_other": int((o == NONE).sum()),
        "base_agreement": float(sb["agreement"]), "base_agreement_ci": ci(bb["agreement"]),
        "other_agreement": float(so["agreement"]), "other_agreement_ci": ci(bo["agreement"]),
        "base_kappa": float(sb["cohen_kappa"]), "base_kappa_ci": ci(bb["cohen_kappa"]),
        "other_kappa": float(so["cohen_kappa"]), "other_kappa_ci": ci(bo["cohen_kappa"]),
        "agreement_difference": float(so["agreement"] - sb["agreement"]),
        "agreement_difference_ci": ci(bo["agreement"] - bb["agreement"]),
        "kappa_difference": float(so["cohen_kappa"] - sb["cohen_kappa"]),
        "kappa_difference_ci": ci(bo["cohen_kappa"] - bb["cohen_kappa"]),
        "n_discordant_better": better, "n_discordant_worse": worse,
        "mcnemar_p": mcnemar_exact_p(better, worse),
        "same_verdict_share": float((b == o).mean()) if len(b) else float("nan"),
    }


def mcnemar_exact_p(better: int, worse: int) -> float:
    """Two-sided exact McNemar p-value: the chance, with no true difference, of a split of the
    discordant pairs at least this uneven (binomial, p = 1/2). 1.0 with no discordant pair."""
    n = int(better) + int(worse)
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(better, worse) + 1))
    return min(1.0, 2 * tail / 2 ** n)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of p-values for as many comparisons as there are values
    (controls the family-wise error rate; never below Bonferroni's for the smallest p)."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        return p
    order = np.argsort(p, kind="stable")
    m = p.size
    stepped = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out = np.empty_like(p)
    out[order] = stepped
    return out


def verdict_changes(human: np.ndarray, base: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Per pair: NOW_AGREES (``other`` matches people, ``base`` did not), NOW_DISAGREES (the
    reverse), STILL_DISAGREES (the verdict changed, neither matches), UNCHANGED, or NOT_COUNTED
    (no human label, or either verdict INVALID)."""
    _check(human, base, other)
    counted = (human != NONE) & (base != NONE) & (other != NONE)
    changed = base != other
    out = np.full(len(human), UNCHANGED, dtype=np.int64)
    out[changed & (other == human)] = NOW_AGREES
    out[changed & (base == human)] = NOW_DISAGREES
    out[changed & (other != human) & (base != human)] = STILL_DISAGREES
    out[~counted] = NOT_COUNTED
    return out
