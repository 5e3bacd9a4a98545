"""Active spot-checks: which judged pairs a person should label next, and an unbiased agreement.

Design: stratified random sampling in batches. Strata come from what is known before any
person looks: the judge's uncertainty (a TIE verdict, or bins of |p_a - 0.5|), whether its
two orders agreed, and bins of the length difference. Each batch draws, in every stratum, a
simple random sample without replacement from the whole stratum; the first batch allocates
in proportion to stratum size, later ones by Neyman allocation (n_h proportional to N_h S_h)
with S_h estimated from the labels gathered so far. Later batches draw only pairs not yet
labelled. Batch t then estimates the full-set total without bias whatever its allocation:
the labels already known plus, per stratum, (pairs left) x (batch mean); given the earlier
batches its error has mean zero, so the batch estimates are uncorrelated and a fixed-weight
mix of them is unbiased too (Cochran 1977, "Sampling Techniques", ch. 5 for the strata;
Zrnic & Candes 2024, "Active Statistical Inference", for choosing later draws from earlier
labels). The interval is normal with the finite population correction; stratum variances
use (k + 1/2) / (n + 1) so that a stratum whose few labels all agree does not claim zero
variance.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.audit.bootstrap import SeedLike, check_confidence, normal_quantile
from core.audit.frames import TIE, label_codes

DRAW_COLUMNS = ["pair_id", "stratum", "batch", "agree"]


def _quantile_bins(values: np.ndarray, bins: int, prefix: str) -> np.ndarray:
    edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)))
    if len(edges) <= 2:
        return np.full(values.shape, f"{prefix}0", dtype=object)
    index = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    return np.array([f"{prefix}{k}" for k in range(len(edges) - 1)], dtype=object)[index]


def spot_check_strata(frame: pd.DataFrame, *, confidence_bins: int = 3, length_bins: int = 3,
                      min_size: int = 10) -> pd.Series:
    """Stratum label per judged pair, indexed by pair_id; pairs with an INVALID verdict are left out.

    ``frame`` needs pair_id, verdict, len_a, len_b and may have p_a and consistent. Labels
    read like 'sure1|inconsistent|len2'; strata under ``min_size`` pairs are pooled as 'small'.
    """
    verdict = label_codes(frame["verdict"], name="verdict")
    keep = verdict <= TIE
    sub = frame[keep]
    p = sub["p_a"].to_numpy(dtype=np.float64) if "p_a" in sub.columns else np.full(len(sub), np.nan)
    margin = np.abs(p - 0.5)
    certainty = np.full(len(sub), "sure", dtype=object)
    finite = np.isfinite(margin) & (verdict[keep] != TIE)
    if finite.any():
        certainty[finite] = _quantile_bins(margin[finite], confidence_bins, "sure")
    certainty[verdict[keep] == TIE] = "tie"
    parts = [certainty]
    if "consistent" in sub.columns and sub["consistent"].notna().any():
        flag = sub["consistent"].map({True: "consistent", False: "inconsistent"}).fillna("one-order")
        parts.append(flag.to_numpy(dtype=object))
    diff = np.abs(sub["len_a"].to_numpy(dtype=np.float64) - sub["len_b"].to_numpy(dtype=np.float64))
    parts.append(_quantile_bins(diff, length_bins, "len"))
    labels = pd.Series(["|".join(map(str, t)) for t in zip(*parts)], index=sub["pair_id"].to_numpy(), name="stratum")
    sizes = labels.map(labels.value_counts())
    return labels.where(sizes >= min_size, "small")


def allocate(sizes, weights, n: int, *, minimum: int = 2) -> np.ndarray:
    """Integer sample sizes per stratum summing to ``n``: at least min(minimum, N_h) each, at most
    N_h, the rest in proportion to ``weights`` (N_h S_h for Neyman, N_h for proportional)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    alloc = np.minimum(minimum, sizes)
    if n < alloc.sum() or n > sizes.sum():
        raise ValueError(f"n={n} must be between {alloc.sum()} (the minimum over {len(sizes)} strata) "
                         f"and {sizes.sum()} (all pairs)")
    remaining = n - alloc.sum()
    while remaining > 0:
        room = sizes - alloc
        w = np.where(room > 0, weights, 0.0)
        w = w if w.sum() > 0 else room.astype(np.float64)
        share = remaining * w / w.sum()
        add = np.minimum(np.floor(share).astype(np.int64), room)
        if add.sum() == 0:  # hand out single labels by largest remainder
            add[np.argmax(np.where(room > 0, share, -1.0))] = 1
        alloc += add
        remaining -= int(add.sum())
    return alloc


def _positions(strata: pd.Series, pair_ids) -> np.ndarray:
    where = strata.index.get_indexer(pd.Index(pair_ids))
    if (where < 0).any():
        raise ValueError(f"pair {np.asarray(pair_ids)[where < 0][0]!r} is not in the strata")
    return where


def _neyman_sd(codes: np.ndarray, agree: np.ndarray, n_strata: int) -> np.ndarray:
    labelled = np.isfinite(agree)
    codes, agree = codes[labelled], agree[labelled]
    pooled = agree.mean() if agree.size else 0.5
    k = np.bincount(codes, weights=agree, minlength=n_strata)
    n = np.bincount(codes, minlength=n_strata)
    shrunk = (k + 2 * pooled) / (n + 2)  # two pseudo-labels at the pooled rate
    return np.sqrt(shrunk * (1 - shrunk)).clip(min=0.05)


def plan_spot_checks(strata: pd.Series, n: int, *, history: pd.DataFrame | None = None, seed: SeedLike = 0,
                     minimum: int = 2) -> pd.DataFrame:
    """The next batch of ``n`` pairs to label: columns pair_id, stratum, batch, agree (NaN).

    ``strata`` maps pair_id to stratum (``spot_check_strata``; a constant for uniform
    sampling). ``history`` holds the earlier batches with ``agree`` filled in (1.0 when the
    judge matched the person's label, 0.0 when not). The batch is drawn from the pairs not
    yet in ``history``, at least min(minimum, left) in every stratum; with no history the
    allocation is proportional to stratum size, otherwise Neyman from the labels so far.
    """
    codes, names = pd.factorize(strata, sort=True)
    taken = np.zeros(len(strata), dtype=bool)
    weights = np.ones(len(names))
    batch = 0
    if history is not None and len(history):
        where = _positions(strata, history["pair_id"])
        taken[where] = True
        weights = _neyman_sd(codes[where], history["agree"].to_numpy(dtype=np.float64), len(names))
        batch = int(history["batch"].max()) + 1
    sizes = np.bincount(codes[~taken], minlength=len(names))
    alloc = allocate(sizes, sizes * weights, n, minimum=minimum)
    rng = np.random.default_rng(seed)
    free = np.flatnonzero(~taken)
    groups = [free[codes[free] == h] for h in range(len(names))]
    picked = np.concatenate([rng.choice(g, size=k, replace=False) for g, k in zip(groups, alloc) if k > 0]
                            or [np.array([], dtype=np.int64)])
    return pd.DataFrame({"pair_id": strata.index[picked], "stratum": strata.to_numpy()[picked], "batch": batch,
                         "agree": np.nan})


def _batch_total(codes: np.ndarray, agree: np.ndarray, remaining: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Estimated agreement sum over the pairs left before this batch, its variance, and n_h."""
    n_h = np.bincount(codes, minlength=len(remaining)).astype(np.float64)
    k_h = np.bincount(codes, weights=agree, minlength=len(remaining))
    missed = (remaining > 0) & (n_h == 0)
    if missed.any():
        raise ValueError(f"a batch has no label in stratum number {int(np.argmax(missed))} that still had pairs")
    s = n_h > 0
    n, k, big_n = n_h[s], k_h[s], remaining[s]
    smoothed = (k + 0.5) / (n + 1)
    s2 = smoothed * (1 - smoothed) * np.where(n > 1, n / np.maximum(n - 1, 1), 1.0)
    variance = (big_n**2 * (1 - n / big_n) * s2 / n).sum()
    return float((big_n * k / n).sum()), float(variance), n_h


def estimate_agreement(draws: pd.DataFrame, strata: pd.Series, *, confidence: float = 0.95) -> dict:
    """Unbiased estimate of the full-set agreement from labelled batches, with a normal interval.

    Batch t gives an unbiased estimate of the total: the labels of earlier batches plus, per
    stratum, (pairs left) x (batch mean). Its error has mean zero given the earlier batches,
    so the batches' estimates are uncorrelated and any fixed weights keep the mix unbiased;
    the weights are inverse to each batch's variance under simple random sampling, which
    depends only on the batch sizes (fix them in advance). Keys: estimate (in [0, 1]), ci
    (clipped to [0, 1]), se, n_labels. Raises ValueError when a draw has no label, a pair is
    drawn twice, or a batch missed a stratum that still had pairs.
    """
    confidence = check_confidence(confidence)
    agree = draws["agree"].to_numpy(dtype=np.float64)
    if draws.empty or not np.isfinite(agree).all():
        raise ValueError("every draw needs its agree value (1.0 or 0.0) before estimating")
    if draws["pair_id"].duplicated().any():
        raise ValueError(f"pair {draws.loc[draws['pair_id'].duplicated(), 'pair_id'].iloc[0]!r} is drawn twice")
    all_codes, names = pd.factorize(strata, sort=True)
    codes = all_codes[_positions(strata, draws["pair_id"])]
    remaining = np.bincount(all_codes, minlength=len(names)).astype(np.float64)
    batches = draws["batch"].to_numpy()
    known, estimates, variances, proxies = 0.0, [], [], []
    for batch in np.unique(batches):
        mask = batches == batch
        left, size = remaining.sum(), mask.sum()
        total, variance, n_h = _batch_total(codes[mask], agree[mask], remaining)
        estimates.append(known + total)
        variances.append(variance)
        proxies.append(left**2 * (1 - size / left) / size)  # SRS variance per unit s^2
        known += agree[mask].sum()
        remaining = remaining - n_h
    proxies = np.asarray(proxies)
    weights = (proxies == 0).astype(np.float64) if (proxies == 0).any() else 1 / proxies  # a census is exact
    weights /= weights.sum()
    estimate = float(weights @ np.asarray(estimates)) / len(strata)
    se = float(np.sqrt(weights**2 @ np.asarray(variances))) / len(strata)
    half = normal_quantile(0.5 + confidence / 2) * se
    return {"estimate": estimate, "ci": [max(0.0, estimate - half), min(1.0, estimate + half)],
            "se": se, "n_labels": int(len(draws))}
