"""The length yardsticks on the judge's own pairs: does it beat picking the longer (or shorter) answer?

A judge that only follows length is worth no more than ``len(a) > len(b)``, which costs nothing.
The yardstick's verdict is read off the pair's character lengths (equal lengths tie), which is
what the ``longest`` and ``shortest`` judges answer, so it needs no run of its own. Judge and
yardstick are compared on the same pairs (those where the human label and the judge's verdict
are both valid) with a paired bootstrap of the difference in agreement: resampling pairs keeps
what they share, so the interval is narrower than two separate ones would suggest.
"""
from __future__ import annotations

import numpy as np

from core.audit.bootstrap import SeedLike, bootstrap_counts, percentile_interval, safe_ratio
from core.audit.frames import NONE, TIE, A, B

LENGTH_YARDSTICKS = {"longest": "longer", "shortest": "shorter"}  # yardstick judge -> the answer it picks


def length_verdict_codes(len_a, len_b, *, prefer: str = "longer") -> np.ndarray:
    """Per pair the code of the longer (``prefer='longer'``) or shorter response; TIE when equal."""
    la, lb = np.asarray(len_a, dtype=np.float64), np.asarray(len_b, dtype=np.float64)
    if prefer not in ("longer", "shorter"):
        raise ValueError(f"prefer must be 'longer' or 'shorter', got {prefer!r}")
    diff = la - lb if prefer == "longer" else lb - la
    return np.where(diff > 0, A, np.where(diff < 0, B, TIE)).astype(np.int64)


def paired_agreement(human: np.ndarray, judge: np.ndarray, other: np.ndarray, *, n_boot: int = 1000,
                     seed: SeedLike = 0) -> dict:
    """Agreement of ``other`` with the humans beside the judge's, on the pairs where human and judge are valid.

    Keys: n_pairs, agreement and agreement_ci95 (of ``other``), difference (judge minus
    other, in [-1, 1]) with difference_ci95 (paired percentile bootstrap), and
    same_verdict_share (how often judge and other give the same verdict).
    """
    keep = (human != NONE) & (judge != NONE) & (other != NONE)
    h, j, o = human[keep], judge[keep], other[keep]
    cells = (j == h).astype(np.int64) * 2 + (o == h).astype(np.int64)  # judge agrees x other agrees
    counts = np.bincount(cells, minlength=4).astype(np.float64)

    def rates(c):
        n = c.sum(-1)
        return safe_ratio(c[..., 2] + c[..., 3], n), safe_ratio(c[..., 1] + c[..., 3], n)

    judge_rate, other_rate = rates(counts)
    boot_judge, boot_other = rates(bootstrap_counts(counts, n_boot=n_boot, seed=seed).astype(np.float64))
    return {
        "n_pairs": int(keep.sum()),
        "agreement": float(other_rate),
        "agreement_ci95": percentile_interval(boot_other),
        "difference": float(judge_rate - other_rate),
        "difference_ci95": percentile_interval(boot_judge - boot_other),
        "same_verdict_share": float(safe_ratio((j == o).sum(), keep.sum())),
    }


def length_yardsticks_from_codes(human: np.ndarray, judge: np.ndarray, len_a, len_b, *, n_boot: int = 1000,
                                 seed: SeedLike = 0, exclude: str | None = None) -> dict[str, dict]:
    """``paired_agreement`` of the judge against each length yardstick ('longest', 'shortest'), but
    ``exclude`` (the judge's own name): a yardstick compared with itself differs by +0, which says nothing."""
    return {name: paired_agreement(human, judge, length_verdict_codes(len_a, len_b, prefer=prefer), n_boot=n_boot,
                                   seed=seed)
            for name, prefer in LENGTH_YARDSTICKS.items() if name != exclude}
