"""Rows of the pairs frame that ``core.data.sample_workspace.import_pairs_frame`` stores, built from any format.

A source that only says chosen/rejected gets its chosen response put at A or B by a seeded coin
per pair id (``chosen_side``): the same file and seed always give the same pairs, whatever the
order of the rows, so a re-import never flips a pair that judges have already seen. The side is
kept per row (``chosen_side``, ``placement_seed``), and the human label is that side.
"""
from __future__ import annotations

import hashlib

import pandas as pd

from core.audit.consensus import consensus_of
from core.data.tables import PairsFormatError, Row

SIDES = ("A", "B")


def chosen_side(seed: int, pair_id: str) -> str:
    """'A' or 'B': where the chosen response of ``pair_id`` goes under ``seed`` (a fair coin per pair)."""
    digest = hashlib.sha256(f"{seed}\0{pair_id}".encode()).digest()
    return SIDES[digest[0] & 1]


def pair_id(row: Row, column: str | None, seen: dict[str, str]) -> str:
    """The row's pair id from ``column`` (string or integer), or its record index when there is no column.

    ``seen`` maps ids to the place they were first seen; a repeated id fails.
    """
    value = row.index if column is None else row.record.get(column)
    if value is None:
        row.fail(column, "missing pair id")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        row.fail(column, f"must be a string or an integer, got {type(value).__name__}")
    text = str(value).strip()
    if not text:
        row.fail(column, "is empty")
    if text in seen:
        row.fail(column, f"duplicate id {text!r} (first on {seen[text]})")
    seen[text] = row.place
    return text


def text(row: Row, column: str, *, allow_empty: bool = False) -> str:
    """A required string field; empty is refused unless ``allow_empty``."""
    value = row.record.get(column)
    if value is None:
        row.fail(column, "missing required field")
    if not isinstance(value, str):
        row.fail(column, f"must be a string, got {type(value).__name__} {value!r:.40}")
    if not allow_empty and not value.strip():
        row.fail(column, "is empty")
    return value


def optional_text(row: Row, column: str | None) -> str:
    if column is None or row.record.get(column) is None:
        return ""
    value = row.record[column]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        row.fail(column, f"must be a string, got {type(value).__name__}")
    return str(value)


def given_side(row: Row, column: str) -> str | None:
    """An 'A'/'B' the file gives for where chosen goes (written by this project's exporters), or None."""
    value = row.record.get(column)
    if value is None:
        return None
    if not isinstance(value, str) or value.strip().upper() not in SIDES:
        row.fail(column, f"must be 'A' or 'B', got {value!r:.40}")
    return value.strip().upper()


def pair_row(pid: str, prompt: str, response_a: str, response_b: str, *, votes: list[str], names: list[str],
             side: str | None = None, seed: int | None = None, **optional: str) -> dict:
    """One row of the pairs frame; ``votes``/``names`` are the human labels and who gave them."""
    return {"pair_id": pid, "prompt": prompt, "response_a": response_a, "response_b": response_b,
            "len_a": len(response_a), "len_b": len(response_b), "human": consensus_of(votes),
            "source": optional.get("source", ""), "category": optional.get("category", ""),
            "principle": "", "model_a": optional.get("model_a", ""), "model_b": optional.get("model_b", ""),
            "annotators": list(votes), "annotator_names": list(names), "chosen_side": side, "placement_seed": seed}


def placed_row(pid: str, prompt: str, chosen: str, rejected: str, *, side: str, seed: int | None,
               annotator: str) -> dict:
    """A chosen/rejected pair put at A/B by ``side``; its one human label is that side."""
    a, b = (chosen, rejected) if side == "A" else (rejected, chosen)
    return pair_row(pid, prompt, a, b, votes=[side], names=[annotator], side=side, seed=seed)


def to_frame(rows: list[dict], path) -> pd.DataFrame:
    if not rows:
        raise PairsFormatError(path, 0, None, "no pairs in the file")
    frame = pd.DataFrame(rows)
    for column in ("human", "chosen_side", "placement_seed"):  # None stays None (not NaN), ints stay ints
        frame[column] = pd.Series([r[column] for r in rows], dtype="object")
    return frame
