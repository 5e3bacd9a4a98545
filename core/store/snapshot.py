"""The audit snapshot of one pair source: what the audit reads of its pairs and verdicts, as
numpy arrays, and its encoding as one blob the store keeps so that the next reader (another
process, a restarted dashboard) loads it instead of reading 100,000 rows again.

No SQL here (that is core/store/database.py); no pickle: ``np.savez`` / ``np.load(allow_pickle=False)``.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

from core.schema import COST_FIELDS

VERDICT_COLUMNS = ("code", "p_a", "p_a_ab", "p_a_ba", "consistent")
COST_TOTALS = ("n_labels", "n_usable", *COST_FIELDS)  # per judge of a source: labels, usable ones, summed costs


def rowid_positions(rowid: np.ndarray, of) -> np.ndarray:
    """Where each of the rowids ``of`` sits in ``rowid`` (-1 where it is not there)."""
    of = np.asarray(of, dtype=np.int64)
    if not len(rowid):
        return np.full(len(of), -1, dtype=np.int64)
    sorter = np.argsort(rowid)
    at = np.minimum(np.searchsorted(rowid, of, sorter=sorter), len(rowid) - 1)
    return np.where(rowid[sorter[at]] == of, sorter[at], -1)


def build(pairs: np.ndarray, pair_text: list[tuple], judges: list[str], judged: np.ndarray) -> dict:
    """The snapshot from the store's rows.

    ``pairs``: (n, 3) rowid, len_a, len_b in audit order; ``pair_text``: (pair_id, category) per
    pair; ``judged``: (m, 10) rows of rowid, judge index, verdict code (0 A, 1 B, 2 TIE,
    3 INVALID), p_a, p_a_ab, p_a_ba, consistent (-1 for missing), tokens_in, tokens_out, seconds.
    """
    n = len(pairs)
    rowid = pairs[:, 0].astype(np.int64)
    pair_id, category = (list(c) for c in zip(*pair_text)) if pair_text else ([], [])
    frame = pd.DataFrame({"pair_id": pd.array(pair_id, dtype=object), "len_a": pairs[:, 1].astype(np.int64),
                          "len_b": pairs[:, 2].astype(np.int64), "category": pd.array(category, dtype=object)})
    verdicts, costs = {}, []
    for k, judge in enumerate(judges):
        mine = judged[judged[:, 1] == k]
        if not len(mine):
            continue
        at = rowid_positions(rowid, mine[:, 0])
        mine, at = mine[at >= 0], at[at >= 0]
        columns = {"code": np.full(n, -1, dtype=np.int8)}
        columns["code"][at] = mine[:, 2]
        for name, column in zip(VERDICT_COLUMNS[1:], range(3, 7)):
            columns[name] = np.full(n, np.nan)
            columns[name][at] = np.where(mine[:, column] < 0, np.nan, mine[:, column])
        verdicts[judge] = columns
        costs.append((judge, len(mine), int((mine[:, 2] != 3).sum()), *mine[:, 7:10].sum(axis=0)))
    return {"pairs": frame, "rowid": rowid, "verdicts": verdicts,
            "costs": pd.DataFrame(costs, columns=["judge", *COST_TOTALS])}


def encode(snapshot: dict) -> bytes:
    """The snapshot as one npz blob (strings as fixed-width unicode: no pickle)."""
    pairs, judges = snapshot["pairs"], list(snapshot["verdicts"])
    arrays = {"rowid": snapshot["rowid"], "len_a": pairs["len_a"].to_numpy(), "len_b": pairs["len_b"].to_numpy(),
              "pair_id": pairs["pair_id"].to_numpy().astype(str), "category": pairs["category"].to_numpy().astype(str),
              "judges": np.array(judges, dtype=str),
              **{f"cost_{c}": snapshot["costs"][c].to_numpy(dtype=np.float64) for c in COST_TOTALS}}
    for k, judge in enumerate(judges):
        arrays.update({f"{name}_{k}": values for name, values in snapshot["verdicts"][judge].items()})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def decode(blob: bytes) -> dict:
    """``encode``'s inverse."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        judges = data["judges"].tolist()
        frame = pd.DataFrame({"pair_id": pd.array(data["pair_id"].astype(object), dtype=object),
                              "len_a": data["len_a"], "len_b": data["len_b"],
                              "category": pd.array(data["category"].astype(object), dtype=object)})
        verdicts = {judge: {name: data[f"{name}_{k}"] for name in VERDICT_COLUMNS} for k, judge in enumerate(judges)}
        costs = pd.DataFrame({"judge": judges, **{c: data[f"cost_{c}"] for c in COST_TOTALS}})
        rowid = data["rowid"]
    costs[["n_labels", "n_usable"]] = costs[["n_labels", "n_usable"]].astype(np.int64)
    return {"pairs": frame, "rowid": rowid, "verdicts": verdicts, "costs": costs}
