"""Human-labelled pairs from JSONL files, as the pairs frame the audit reads.

One JSON object per line (the format of ``sample_data/human/``). Required: ``id`` (string or
integer), ``prompt``, ``response_a``, ``response_b`` (non-empty strings) and
``human_preferred`` ('a', 'b' or 'tie', any case). Optional: ``source``, ``category``,
``principle``, ``model_a``, ``model_b`` (strings); ``len_a``/``len_b`` (must equal the
responses' character lengths); ``annotators`` (a list of a/b/tie votes); ``judge_preferred``
('a', 'b', 'tie' or 'invalid') and ``judge_p_a`` (a number in [0, 1] or null), which become
the ``verdict`` and ``p_a`` columns; and ``meta``, an object. From ``meta``: ``annotators``
as PandaLM codes them (0 tie, 1 first, 2 second) when the top level has none, and
``motivation_app`` (PandaLM's task source) as the category when the top level has none.
A field longer than ``core.data.textfiles.MAX_FIELD_CHARS`` characters is refused.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from core.data.tables import PairsFormatError, read_jsonl_rows
from core.data.textfiles import oversized_field, too_long

REQUIRED_TEXT = ("prompt", "response_a", "response_b")
OPTIONAL_TEXT = ("source", "category", "principle", "model_a", "model_b")
HUMAN_LABELS = {"a": "A", "b": "B", "tie": "TIE"}
JUDGE_LABELS = {**HUMAN_LABELS, "invalid": "INVALID"}
PANDALM_VOTES = {0: "TIE", 1: "A", 2: "B"}


def _text(record: dict, field: str, *, required: bool, fail) -> str:
    value = record.get(field)
    if value is None:
        if required:
            fail(field, "missing required field")
        return ""
    if not isinstance(value, str):
        fail(field, f"must be a string, got {type(value).__name__} {value!r:.40}")
    if required and not value.strip():
        fail(field, "is empty")
    return value


def _label(value, field: str, allowed: dict, fail) -> str:
    if not isinstance(value, str) or value.strip().lower() not in allowed:
        fail(field, f"must be one of {sorted(allowed)}, got {value!r:.40}")
    return allowed[value.strip().lower()]


def _pair_id(record: dict, fail) -> str:
    value = record.get("id")
    if value is None:
        fail("id", "missing required field")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        fail("id", f"must be a string or an integer, got {type(value).__name__}")
    text = str(value)
    if not text.strip():
        fail("id", "is empty")
    return text


def _annotators(record: dict, fail) -> list[str] | None:
    if "annotators" in record and record["annotators"] is not None:
        votes = record["annotators"]
        if not isinstance(votes, list):
            fail("annotators", f"must be a list of a/b/tie, got {type(votes).__name__}")
        return [_label(v, "annotators", HUMAN_LABELS, fail) for v in votes]
    meta = record.get("meta")
    votes = meta.get("annotators") if isinstance(meta, dict) else None
    if votes is None:
        return None
    if not isinstance(votes, list) or any(isinstance(v, bool) or v not in PANDALM_VOTES for v in votes):
        fail("meta.annotators", f"must be a list of 0 (tie), 1 (first), 2 (second), got {votes!r:.60}")
    return [PANDALM_VOTES[v] for v in votes]


def _lengths(record: dict, row: dict, fail) -> None:
    for side in ("a", "b"):
        text = row[f"response_{side}"]
        given = record.get(f"len_{side}")
        if given is not None and (isinstance(given, bool) or not isinstance(given, int) or given != len(text)):
            fail(f"len_{side}", f"must be the character length of response_{side} ({len(text)}), got {given!r}")
        row[f"len_{side}"] = len(text)


def _judge_fields(record: dict, row: dict, fail) -> None:
    if record.get("judge_preferred") is not None:
        row["verdict"] = _label(record["judge_preferred"], "judge_preferred", JUDGE_LABELS, fail)
    p = record.get("judge_p_a")
    if p is not None:
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not (0 <= p <= 1) or math.isnan(p):
            fail("judge_p_a", f"must be a number in [0, 1] or null, got {p!r:.40}")
        row["p_a"] = float(p)


def parse_record(record, *, fail) -> dict:
    """One row of the pairs frame from one decoded JSON line; ``fail(field, problem)`` raises."""
    if not isinstance(record, dict):
        fail(None, f"must be a JSON object, got {type(record).__name__}")
    oversized = oversized_field(record)
    if oversized:
        fail(oversized[0], too_long(oversized[1]))
    row = {"pair_id": _pair_id(record, fail)}
    for field in REQUIRED_TEXT:
        row[field] = _text(record, field, required=True, fail=fail)
    if record.get("human_preferred") is None:
        fail("human_preferred", "missing required field")
    row["human"] = _label(record["human_preferred"], "human_preferred", HUMAN_LABELS, fail)
    for field in OPTIONAL_TEXT:
        row[field] = _text(record, field, required=False, fail=fail)
    meta = record.get("meta")
    if meta is not None and not isinstance(meta, dict):
        fail("meta", f"must be an object, got {type(meta).__name__}")
    if not row["category"] and isinstance(meta, dict) and isinstance(meta.get("motivation_app"), str):
        row["category"] = meta["motivation_app"]
    _lengths(record, row, fail)
    row["annotators"] = _annotators(record, fail)
    _judge_fields(record, row, fail)
    return row


def read_pairs_jsonl(path: str | Path) -> pd.DataFrame:
    """The pairs frame of a JSONL file, or PairsFormatError naming file, line and field.

    Columns: pair_id, prompt, response_a, response_b, len_a, len_b, human ('A'/'B'/'TIE'),
    source, category, principle, model_a, model_b ('' when absent), annotators (list or
    None); plus verdict and p_a when any line has judge_preferred or judge_p_a (missing
    on the other lines). The whole
    file is checked before anything is returned; blank lines are skipped.
    """
    path = Path(path)
    rows, seen = [], {}
    for line in read_jsonl_rows(path):
        row = parse_record(line.record, fail=line.fail)
        if row["pair_id"] in seen:
            line.fail("id", f"duplicate id {row['pair_id']!r} (first on {seen[row['pair_id']]})")
        seen[row["pair_id"]] = line.place
        rows.append(row)
    if not rows:
        raise PairsFormatError(path, 0, None, "no pairs in the file")
    return _frame(rows)


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if "p_a" in frame.columns:
        frame["p_a"] = frame["p_a"].astype("float64")
    return frame
