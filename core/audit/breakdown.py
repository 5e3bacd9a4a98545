"""Agreement broken down by a column of the audit frame (category, principle, ...)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.audit.agreement import summary_from_codes
from core.audit.bootstrap import SeedLike
from core.audit.frames import label_codes
from core.audit.verbosity import verbosity_from_codes

COLUMNS = ["n_pairs", "n_valid", "agreement", "agreement_ci95", "agreement_no_ties", "cohen_kappa",
           "judge_p_longer", "human_p_longer"]


def breakdown_from_codes(groups: pd.Series, human: np.ndarray, judge: np.ndarray, len_a, len_b, *,
                         n_boot: int = 1000, seed: SeedLike = 0, min_pairs: int = 1) -> pd.DataFrame | None:
    codes, uniques = pd.factorize(groups.fillna("").astype(str), sort=True)
    if len(uniques) == 0 or (len(uniques) == 1 and uniques[0] == ""):
        return None
    la, lb = np.asarray(len_a), np.asarray(len_b)
    rows = []
    for k, key in enumerate(uniques):
        mask = codes == k
        if mask.sum() < min_pairs:
            continue
        row = {"group": key or "(none)"}
        summary = summary_from_codes(human[mask], judge[mask], n_boot=n_boot, seed=seed)
        lean = verbosity_from_codes(human[mask], judge[mask], la[mask], lb[mask], n_boot=1, seed=seed)
        row.update({k: summary.get(k, lean.get(k)) for k in COLUMNS})
        rows.append(row)
    return pd.DataFrame(rows, columns=["group", *COLUMNS])


def agreement_by(frame: pd.DataFrame, column: str, *, n_boot: int = 1000, seed: SeedLike = 0,
                 min_pairs: int = 1) -> pd.DataFrame | None:
    """One row per value of ``frame[column]``: pair counts, agreement with its bootstrap
    interval, agreement without ties, Cohen's kappa and both p_longer.

    ``frame`` is an audit frame (``core.audit.audit_frame``). Groups with fewer than
    ``min_pairs`` pairs are left out; an empty value is the group '(none)'. None when the
    column is absent or empty throughout.
    """
    if column not in frame.columns:
        return None
    return breakdown_from_codes(frame[column], label_codes(frame["human"], name="human"),
                                label_codes(frame["verdict"], name="verdict"), frame["len_a"], frame["len_b"],
                                n_boot=n_boot, seed=seed, min_pairs=min_pairs)
