"""Judge-human agreement: with and without ties (MT-Bench), Cohen's kappa, the confusion matrix.

Definitions (Zheng et al. 2023, "Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena",
and FastChat's ``llm_judge/compute_agreement.py``):

* agreement "with ties" is over pairs where neither label is INVALID or missing; a tie is a
  label like A and B, so TIE/TIE agrees and TIE/A does not;
* agreement "without ties" is over those of them where neither label is a tie.

Cohen's kappa is over the same pairs as agreement with ties, on the three labels A, B, TIE
(Cohen 1960; scikit-learn's ``cohen_kappa_score`` gives the same number).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.audit.bootstrap import SeedLike, bootstrap_counts, check_confidence, percentile_interval, safe_ratio
from core.audit.frames import LABELS, N_CODES, NONE, label_codes


def joint_counts(human_codes: np.ndarray, judge_codes: np.ndarray) -> np.ndarray:
    """4 x 4 counts: rows human code, columns judge code (A, B, TIE, INVALID-or-missing)."""
    if len(human_codes) != len(judge_codes):
        raise ValueError(f"human and judge labels differ in length: {len(human_codes)} vs {len(judge_codes)}")
    cells = human_codes.astype(np.int64) * N_CODES + judge_codes
    return np.bincount(cells, minlength=N_CODES * N_CODES).reshape(N_CODES, N_CODES)


def stats_from_counts(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Agreement, agreement without ties, kappa and the pair counts from (..., 4, 4) counts."""
    counts = np.asarray(counts, dtype=np.float64)
    valid = counts[..., :3, :3]
    n_valid = valid.sum(axis=(-1, -2))
    agreed = np.trace(valid, axis1=-2, axis2=-1)
    no_ties = counts[..., :2, :2]
    n_no_ties = no_ties.sum(axis=(-1, -2))
    chance = (valid.sum(axis=-1) * valid.sum(axis=-2)).sum(axis=-1)  # sum_k row_k * col_k
    observed = agreed * n_valid
    return {
        "n_valid": n_valid,
        "n_no_ties": n_no_ties,
        "agreement": safe_ratio(agreed, n_valid),
        "agreement_no_ties": safe_ratio(np.trace(no_ties, axis1=-2, axis2=-1), n_no_ties),
        # (p_o - p_e) / (1 - p_e) with both scaled by n^2; 0/0 (one label only) is NaN, as in scikit-learn
        "cohen_kappa": safe_ratio(observed - chance, n_valid * n_valid - chance),
    }


def confusion_matrix(human, judge) -> pd.DataFrame:
    """Counts of pairs by human label (rows A, B, TIE) and judge verdict (columns A, B, TIE, INVALID).

    Pairs without a human label are left out; a judge's INVALID verdict keeps its own column.
    """
    counts = joint_counts(label_codes(human, name="human"), label_codes(judge, name="judge"))
    return pd.DataFrame(counts[:3, :], index=pd.Index(LABELS, name="human"),
                        columns=pd.Index([*LABELS, "INVALID"], name="judge"))


def agreement_score(human, judge, *, with_ties: bool = True) -> float:
    """Share of pairs where judge and human give the same label, in [0, 1]; NaN with no pairs.

    ``with_ties=True`` counts TIE as a label over pairs where neither is INVALID or missing;
    ``with_ties=False`` also leaves out pairs where either says TIE (MT-Bench's two setups).
    """
    stats = stats_from_counts(joint_counts(label_codes(human, name="human"), label_codes(judge, name="judge")))
    return float(stats["agreement" if with_ties else "agreement_no_ties"])


def cohen_kappa_score(human, judge) -> float:
    """Cohen's kappa between human and judge over pairs where neither is INVALID or missing.

    In [-1, 1]: 1 is perfect agreement, 0 is what label frequencies alone give. NaN when
    both give one and the same label throughout (kappa is 0/0 then). Symmetric in its
    arguments. Reference: Cohen (1960), Educational and Psychological Measurement 20(1).
    """
    stats = stats_from_counts(joint_counts(label_codes(human, name="human"), label_codes(judge, name="judge")))
    return float(stats["cohen_kappa"])


def summary_from_codes(human_codes: np.ndarray, judge_codes: np.ndarray, *, n_boot: int = 1000,
                       seed: SeedLike = 0, confidence: float = 0.95) -> dict:
    """Agreement, agreement without ties and kappa with percentile bootstrap intervals."""
    confidence = check_confidence(confidence)
    counts = joint_counts(human_codes, judge_codes)
    point = stats_from_counts(counts)
    # Resample the pairs that have a human label, INVALID verdicts included, as the
    # index bootstrap over those pairs would; pairs without one take no part in any statistic.
    resampled = stats_from_counts(bootstrap_counts(counts[:3], n_boot=n_boot, seed=seed))
    out = {"n_pairs": int(len(human_codes)), "n_valid": int(point["n_valid"]),
           "n_no_ties": int(point["n_no_ties"]),
           "n_invalid_judge": int(counts[:3, NONE].sum()), "n_missing_human": int(counts[NONE].sum())}
    for key in ("agreement", "agreement_no_ties", "cohen_kappa"):
        out[key] = float(point[key])
        out[f"{key}_ci95" if confidence == 0.95 else f"{key}_ci"] = percentile_interval(
            resampled[key], confidence=confidence)
    return out


def agreement_summary(human, judge, *, n_boot: int = 1000, seed: SeedLike = 0, confidence: float = 0.95) -> dict:
    """Agreement with and without ties and Cohen's kappa, each with a seeded bootstrap interval.

    Keys: n_pairs, n_valid, n_no_ties, n_invalid_judge, n_missing_human, agreement,
    agreement_ci95, agreement_no_ties, agreement_no_ties_ci95, cohen_kappa, cohen_kappa_ci95
    (``*_ci`` instead of ``*_ci95`` at another confidence). Intervals are percentile
    intervals of ``n_boot`` resamples of the pairs; the same seed gives the same interval.
    """
    return summary_from_codes(label_codes(human, name="human"), label_codes(judge, name="judge"),
                              n_boot=n_boot, seed=seed, confidence=confidence)
