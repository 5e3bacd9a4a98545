"""Label codes and the one merged frame every audit section reads.

Labels travel as the strings 'A', 'B', 'TIE', 'INVALID' (``core.schema.Preference`` values)
and ``None`` for a missing human label. Inside the audit they become small integer codes so
that counting is a ``bincount``; the codes never leave this package.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from core.schema import COST_FIELDS, Judgment

LABELS = ("A", "B", "TIE")
A, B, TIE, NONE = 0, 1, 2, 3  # NONE: INVALID verdict or missing human label
N_CODES = 4

_CODE_OF = {"A": A, "B": B, "TIE": TIE, "INVALID": NONE, "a": A, "b": B, "tie": TIE, "invalid": NONE}

PAIR_COLUMNS = ("pair_id", "len_a", "len_b")
JUDGMENT_COLUMNS = ("pair_id", "verdict")
_OPTIONAL_PAIR_COLUMNS = ("category", "principle", "annotators", "n_annotators", "model_a", "model_b", "source")
_SOFT_COLUMNS = ("p_a", "p_a_ab", "p_a_ba", "consistent")


def label_codes(labels: Iterable, *, name: str = "labels") -> np.ndarray:
    """Codes 0 (A), 1 (B), 2 (TIE), 3 (INVALID or missing) for a sequence of labels.

    Accepts 'A', 'B', 'TIE', 'INVALID' in either case, ``Preference`` members, and None/NaN
    for a missing label. Raises ValueError naming the first value that is none of these.
    """
    series = labels if isinstance(labels, pd.Series) else pd.Series(list(labels), dtype=object)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=np.int8)
    table[-1] = NONE  # factorize's -1 for None/NaN lands here
    for k, value in enumerate(uniques):
        code = _CODE_OF.get(value) if isinstance(value, str) else None
        if code is None:
            raise ValueError(f"{name}: not a preference label: {value!r} (expected A, B, TIE, INVALID or None)")
        table[k] = code
    return table[codes]


def judgments_to_frame(judgments: Sequence[Judgment]) -> pd.DataFrame:
    """The judgments frame of Judgments: pair_id, judge, verdict, p_a, p_a_ab, p_a_ba, consistent, and what
    each cost (tokens_in, tokens_out, seconds)."""
    rows = [
        {
            "pair_id": j.pair_id,
            "judge": j.judge,
            "verdict": j.verdict.value,
            "p_a": np.nan if j.p_a is None else float(j.p_a),
            "p_a_ab": np.nan if j.p_a_ab is None else float(j.p_a_ab),
            "p_a_ba": np.nan if j.p_a_ba is None else float(j.p_a_ba),
            "consistent": np.nan if j.consistent is None else bool(j.consistent),
            "tokens_in": j.tokens_in,
            "tokens_out": j.tokens_out,
            "seconds": j.seconds,
        }
        for j in judgments
    ]
    columns = ["pair_id", "judge", "verdict", "p_a", "p_a_ab", "p_a_ba", "consistent", *COST_FIELDS]
    return pd.DataFrame(rows, columns=columns)


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} frame lacks column(s) {missing}; it has {list(frame.columns)}")


def _pick_judge(judgments: pd.DataFrame, judge: str | None) -> pd.DataFrame:
    if "judge" not in judgments.columns:
        return judgments
    names = judgments["judge"].dropna().unique()
    if judge is not None:
        if judge not in names:
            raise ValueError(f"judge {judge!r} not in the judgments frame (it has {sorted(map(str, names))})")
        return judgments[judgments["judge"] == judge]
    if len(names) > 1:
        raise ValueError(f"judgments frame holds several judges {sorted(map(str, names))}: pass judge=NAME")
    return judgments


def audit_frame(pairs: pd.DataFrame, judgments: pd.DataFrame | None = None, *,
                judge: str | None = None) -> pd.DataFrame:
    """One row per judged pair: the pairs frame joined with one judge's judgments on ``pair_id``.

    Without ``judgments`` the pairs frame must carry its own ``verdict`` column (a file's
    ``judge_preferred``). Pairs with no judgment are left out. Raises ValueError on a missing
    column, a duplicate ``pair_id`` or an ambiguous judge.
    """
    _require(pairs, PAIR_COLUMNS, "pairs")
    if "human" not in pairs.columns:
        pairs = pairs.assign(human=None)
    if pairs["pair_id"].duplicated().any():
        raise ValueError(f"pairs frame repeats pair_id {pairs.loc[pairs['pair_id'].duplicated(), 'pair_id'].iloc[0]!r}")
    keep = [c for c in (*PAIR_COLUMNS, "human", *_OPTIONAL_PAIR_COLUMNS) if c in pairs.columns]
    if judgments is None:
        _require(pairs, ("verdict",), "pairs (no judgments given, so)")
        soft = [c for c in _SOFT_COLUMNS if c in pairs.columns]
        frame = pairs[keep + ["verdict"] + soft].copy()
    else:
        _require(judgments, JUDGMENT_COLUMNS, "judgments")
        judged = _pick_judge(judgments, judge)
        if judged["pair_id"].duplicated().any():
            dup = judged.loc[judged["pair_id"].duplicated(), "pair_id"].iloc[0]
            raise ValueError(f"judgments frame repeats pair_id {dup!r} for one judge")
        soft = [c for c in _SOFT_COLUMNS if c in judged.columns]
        frame = pairs[keep].merge(judged[["pair_id", "verdict", *soft]], on="pair_id", how="inner")
    for column in _SOFT_COLUMNS:
        if column not in frame.columns:
            frame[column] = np.nan
    return frame.reset_index(drop=True)
