"""Self-preference: does the judge favour responses written by its own model family?

Zheng et al. (2023, sec. 3.3, "self-enhancement bias") compare a judge's win rate for its own
model with the humans' on the same pairs; so does this. Only pairs where exactly one response
comes from the judge's family count (both generators known), and only where neither label is
INVALID or missing.
A win is 1, a tie 0.5, a loss 0.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from core.audit.bootstrap import SeedLike, bootstrap_counts, percentile_interval, safe_ratio
from core.audit.frames import NONE, TIE, A, B, label_codes

OWN, TIED, OTHER = 0, 1, 2
_FAMILY = re.compile(r"[a-z]+")


def model_family(name: str) -> str:
    """The leading run of letters of a model name, lower-cased, after any 'org/' prefix.

    'meta-llama/Llama-2-7b-chat' -> 'llama', 'llama-7b' -> 'llama', 'SmolLM2-135M' -> 'smollm',
    'pythia-6.9b' -> 'pythia'. Pass a family explicitly where this rule is too coarse
    ('gpt-4' and 'gpt-j' both give 'gpt').
    """
    base = str(name).strip().lower().rsplit("/", 1)[-1]
    match = _FAMILY.search(base)
    return match.group(0) if match else ""


def _families(models) -> np.ndarray:
    codes, uniques = pd.factorize(pd.Series(models) if not isinstance(models, pd.Series) else models)
    families = np.array([model_family(m) if isinstance(m, str) and m else "" for m in uniques] + [""], dtype=object)
    return families[codes]


def _outcomes(codes: np.ndarray, own_side: np.ndarray) -> np.ndarray:
    return np.where(codes == TIE, TIED, np.where(codes == own_side, OWN, OTHER))


def self_preference_from_codes(human: np.ndarray, judge: np.ndarray, model_a, model_b, *, family: str,
                               n_boot: int = 1000, seed: SeedLike = 0) -> dict | None:
    if not model_family(family):
        raise ValueError(f"family must name a model family, got {family!r}")
    family = model_family(family)
    names_a, names_b = _families(model_a), _families(model_b)
    fam_a, fam_b = names_a == family, names_b == family
    eligible = (fam_a != fam_b) & (names_a != "") & (names_b != "") & (human != NONE) & (judge != NONE)
    if not eligible.any():
        return None
    own_side = np.where(fam_a, A, B)[eligible]
    h, j = _outcomes(human[eligible], own_side), _outcomes(judge[eligible], own_side)
    counts = np.bincount(j * 3 + h, minlength=9).reshape(3, 3)  # rows judge, columns human
    score = np.array([1.0, 0.5, 0.0])

    def rates(c):
        n = c.sum(axis=(-1, -2))
        return safe_ratio((c.sum(-1) * score).sum(-1), n), safe_ratio((c.sum(-2) * score).sum(-1), n)

    judge_rate, human_rate = rates(counts)
    boot_judge, boot_human = rates(bootstrap_counts(counts, n_boot=n_boot, seed=seed))
    diff_ci = percentile_interval(boot_judge - boot_human)
    return {
        "family": family,
        "n_pairs": int(eligible.sum()),
        "judge_own_win_rate": float(judge_rate),
        "human_own_win_rate": float(human_rate),
        "self_preference_bias": float(judge_rate - human_rate),
        "self_preference_bias_ci95": diff_ci,
        "judge_prefers_own": bool(diff_ci[0] > 0),
    }


def self_preference(human, judge, model_a, model_b, *, family: str, n_boot: int = 1000,
                    seed: SeedLike = 0) -> dict | None:
    """The judge's and the humans' win rate for ``family``'s responses on the same pairs.

    ``family`` is a family name or any model name (reduced by ``model_family``); so are the
    entries of ``model_a`` and ``model_b`` (None or empty for an unknown generator).

    Keys: family, n_pairs, judge_own_win_rate and human_own_win_rate (in [0, 1]),
    self_preference_bias = their difference in [-1, 1] (0: the judge favours its family as
    much as people do) with a paired bootstrap interval, and judge_prefers_own (that interval
    lies above 0). None when no pair has exactly one response from ``family``.
    """
    return self_preference_from_codes(label_codes(human, name="human"), label_codes(judge, name="judge"),
                                      model_a, model_b, family=family, n_boot=n_boot, seed=seed)
