"""Active spot-checks: which judged pairs a person should label next, and an unbiased agreement.

Design: stratified random sampling in batches. Strata come from what is known before any
person looks: the judge's uncertainty (a TIE verdict, or bins of |p_a - 0.5|), whether its
two orders agreed, and bins of the length difference. Each batch draws, in every stratum, a
simple random sample without replacement from the whole stratum; the first batch allocates
in proportion to stratum size, later ones by Neyman allocation (n_h proportional to N_h S_h)
with S_h estimated from the labels gathered so far. Because each batch samples every stratum
and its allocation depends only on earlier batches, its stratified mean is exactly unbiased
for the full-set agreement; batches are combined with weights fixed by their planned sizes
(Cochran 1977, "Sampling Techniques", ch. 5; the batching follows the sequential designs of
Zrnic & Candes 2024, "Active Statistical Inference"). The interval is normal with the finite
population correction; stratum variances use (k + 1/2) / (n + 1) so that a stratum whose few
labels all agree does not claim zero variance.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from core.audit.bootstrap import SeedLike, check_confidence
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


def _neyman_sd(strata: pd.Series, history: pd.DataFrame) -> pd.Series:
    labelled = history.dropna(subset=["agree"])
    pooled = labelled["agree"].mean() if len(labelled) else 0.5
    grouped = labelled.groupby("stratum")["agree"].agg(["sum", "count"])
    k = grouped["sum"].reindex(strata.unique(), fill_value=0.0)
    n = grouped["count"].reindex(strata.unique(), fill_value=0.0)
    shrunk = (k + 2 * pooled) / (n + 2)  # two pseudo-labels at the pooled rate
    return np.sqrt(shrunk * (1 - shrunk)).clip(lower=0.05)


def plan_spot_checks(strata: pd.Series, n: int, *, history: pd.DataFrame | None = None, seed: SeedLike = 0,
                     minimum: int = 2) -> pd.DataFrame:
    """The next batch of ``n`` pairs to label: columns pair_id, stratum, batch, agree.

    ``strata`` maps pair_id to stratum (``spot_check_strata``; a constant for uniform
    sampling). ``history`` holds earlier batches with ``agree`` filled in (1.0 when the
    judge matched the person's label, 0.0 when not); a pair already labelled there keeps its
    label. With no labelled history the allocation is proportional, otherwise Neyman.
    """
    history = pd.DataFrame(columns=DRAW_COLUMNS) if history is None else history
    counts = strata.value_counts()
    if history["agree"].notna().any():
        weights = counts * _neyman_sd(strata, history).reindex(counts.index)
    else:
        weights = counts.astype(np.float64)
    alloc = allocate(counts.to_numpy(), weights.to_numpy(), n, minimum=minimum)
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(strata.index[strata.to_numpy() == name], size=k, replace=False)
              for name, k in zip(counts.index, alloc) if k > 0]
    ids = np.concatenate(chosen) if chosen else np.array([], dtype=object)
    known = history.dropna(subset=["agree"]).drop_duplicates("pair_id").set_index("pair_id")["agree"]
    batch = int(history["batch"].max()) + 1 if len(history) else 0
    return pd.DataFrame({"pair_id": ids, "stratum": strata.loc[ids].to_numpy(), "batch": batch,
                         "agree": known.reindex(ids).to_numpy(dtype=np.float64)})


def _batch_estimate(draws: pd.DataFrame, sizes: pd.Series) -> tuple[float, float]:
    grouped = draws.groupby("stratum")["agree"].agg(["sum", "count"])
    missing = sizes.index.difference(grouped.index)
    if len(missing):
        raise ValueError(f"batch {draws['batch'].iloc[0]} has no label in stratum {missing[0]!r}")
    n_h, k_h, big_n = grouped["count"], grouped["sum"], sizes.reindex(grouped.index)
    weight = big_n / big_n.sum()
    smoothed = (k_h + 0.5) / (n_h + 1)
    s2 = smoothed * (1 - smoothed) * np.where(n_h > 1, n_h / (n_h - 1).clip(lower=1), 1.0)
    variance = (weight**2 * (1 - n_h / big_n) * s2 / n_h).sum()
    return float((weight * k_h / n_h).sum()), float(variance)


def estimate_agreement(draws: pd.DataFrame, strata: pd.Series, *, confidence: float = 0.95) -> dict:
    """Stratified estimate of the full-set agreement from labelled draws, with a normal interval.

    Keys: estimate (in [0, 1]), ci (clipped to [0, 1]), se, n_draws, n_labels (distinct
    pairs). Raises ValueError when a draw has no label or a batch missed a stratum.
    """
    confidence = check_confidence(confidence)
    if draws.empty or draws["agree"].isna().any():
        raise ValueError("every draw needs its agree value (1.0 or 0.0) before estimating")
    sizes = strata.value_counts()
    batch_sizes = draws.groupby("batch").size()
    estimate = variance = 0.0
    for batch, part in draws.groupby("batch"):
        w = batch_sizes[batch] / batch_sizes.sum()
        mean, var = _batch_estimate(part, sizes)
        estimate += w * mean
        variance += w * w * var
    half = stats.norm.ppf(0.5 + confidence / 2) * np.sqrt(variance)
    return {"estimate": estimate, "ci": [max(0.0, estimate - half), min(1.0, estimate + half)],
            "se": float(np.sqrt(variance)), "n_draws": int(len(draws)), "n_labels": int(draws["pair_id"].nunique())}
