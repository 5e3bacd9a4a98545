"""The ``mapped`` format: any CSV/TSV, JSONL, JSON, Parquet or HF dataset with a column mapping.

The mapping says which column holds each field; a field it leaves out reads the column of its own
name when the file has one (``id`` falls back to ``pair_id``, ``label`` to ``human_preferred``).
A pair is given either as ``response_a``/``response_b`` with votes, or as ``chosen``/``rejected``
(placed at A/B by the seeded coin of ``core.data.frame``). Votes come one per row (``label``, with
``annotator`` naming who gave it: rows that share an id become one pair with several labels) or as
a list column (``votes``, with ``voters`` naming them and ``vote_status``, as Argilla exports it,
keeping only 'submitted' votes). ``a``, ``b`` and ``tie`` list the label values that mean each.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

import pandas as pd

from core.data.frame import chosen_side, optional_text, pair_id, pair_row, text, to_frame
from core.data.tables import PairsFormatError, Row, read_rows
from core.data.textfiles import read_utf8, read_yaml

VALUE_KEYS = ("a", "b", "tie")


@dataclass(frozen=True)
class ColumnMapping:
    """Which column of the file holds each field. Unknown keys are refused."""

    id: str | None = None  # pair id (default: 'id', else 'pair_id', else the record index)
    prompt: str | None = None
    response_a: str | None = None
    response_b: str | None = None
    chosen: str | None = None  # chosen/rejected instead of response_a/response_b and votes
    rejected: str | None = None
    label: str | None = None  # one vote per row (default: 'label', else 'human_preferred')
    annotator: str | None = None  # who gave the row's vote
    votes: str | None = None  # a list of votes per row, instead of label
    voters: str | None = None  # a list of names, one per vote
    vote_status: str | None = None  # a list of statuses, one per vote; only 'submitted' ones count
    category: str | None = None
    model_a: str | None = None
    model_b: str | None = None
    a: tuple[str, ...] = ("a",)  # label values meaning A (matched without case)
    b: tuple[str, ...] = ("b",)
    tie: tuple[str, ...] = ("tie",)

    def __post_init__(self):
        for key in VALUE_KEYS:
            values = getattr(self, key)
            values = (values,) if isinstance(values, str) else tuple(values)
            object.__setattr__(self, key, tuple(str(v).strip().lower() for v in values))
        meanings = [v for key in VALUE_KEYS for v in getattr(self, key)]
        if len(set(meanings)) != len(meanings):
            raise ValueError(f"mapping: a label value means two things in a={self.a}, b={self.b}, tie={self.tie}")
        _exclusive(self, ("chosen", "rejected"), ("response_a", "response_b", "label", "votes"))
        _exclusive(self, ("label", "annotator"), ("votes", "voters", "vote_status"))
        if (self.voters or self.vote_status) and not self.votes:
            raise ValueError("mapping: voters and vote_status go with votes")

    @classmethod
    def from_dict(cls, spec: dict) -> "ColumnMapping":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValueError(f"mapping: unknown key(s) {unknown}; known: {sorted(known)}")
        for key, value in spec.items():
            if key not in VALUE_KEYS and not isinstance(value, str):
                raise ValueError(f"mapping: {key} must name a column, got {value!r}")
        return cls(**spec)

    def columns(self, present: set[str]) -> dict[str, str]:
        """Field -> column for this file: the explicit ones, then the same-named columns present."""
        given_ab = bool(self.response_a or self.response_b or self.label or self.votes)
        chosen_mode = bool(self.chosen or self.rejected) or (
            not given_ab and not {"response_a", "response_b"} <= present and {"chosen", "rejected"} <= present)
        wanted = ["prompt", "category", "model_a", "model_b"]
        if chosen_mode:
            wanted += ["chosen", "rejected", "annotator"]
        else:
            votes_mode = bool(self.votes) or (
                not self.label and "votes" in present and not {"label", "human_preferred"} & present)
            wanted += ["response_a", "response_b"]
            wanted += ["votes", "voters", "vote_status"] if votes_mode else ["label", "annotator"]
        resolved = {f: getattr(self, f) or f for f in wanted if getattr(self, f) or f in present}
        if "label" in wanted and "label" not in resolved and "human_preferred" in present:
            resolved["label"] = "human_preferred"
        id_column = self.id or next((c for c in ("id", "pair_id") if c in present), None)
        if id_column:
            resolved["id"] = id_column
        return resolved


def _exclusive(mapping: ColumnMapping, one: tuple, other: tuple) -> None:
    given = [f for f in one if getattr(mapping, f)], [f for f in other if getattr(mapping, f)]
    if given[0] and given[1]:
        raise ValueError(f"mapping: {given[0]} cannot be used with {given[1]}")


def parse_mapping(spec: str | dict | ColumnMapping | None) -> ColumnMapping:
    """A mapping from a dict, a JSON object, a .json/.yaml file, or 'field=column,...'
    (a value key lists its values with '|': ``a=Answer 1|left``)."""
    if spec is None or isinstance(spec, ColumnMapping):
        return spec or ColumnMapping()
    if isinstance(spec, dict):
        return ColumnMapping.from_dict(spec)
    spec_text = spec.strip()
    if spec_text.startswith("{"):
        return ColumnMapping.from_dict(_json_object(spec_text, "the --mapping JSON"))
    path = Path(spec_text)
    if path.suffix.lower() in (".json", ".yaml", ".yml"):
        if not path.is_file():
            raise ValueError(f"mapping file {path} does not exist")
        if path.suffix.lower() == ".json":
            return ColumnMapping.from_dict(_json_object(read_utf8(path), str(path)))
        loaded, _ = read_yaml(path)  # bad UTF-8 or YAML: a ValueError naming the file and the line
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: a mapping file holds one object of field: column")
        return ColumnMapping.from_dict(loaded)
    pairs = [part.split("=", 1) for part in spec_text.split(",") if part.strip()]
    if any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
        raise ValueError(f"mapping {spec!r}: expected field=column pairs separated by commas")
    return ColumnMapping.from_dict({k.strip(): v.strip().split("|") if k.strip() in VALUE_KEYS else v.strip()
                                    for k, v in pairs})


def _json_object(spec_text: str, where: str) -> dict:
    try:
        loaded = json.loads(spec_text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(loaded, dict):
        raise ValueError(f"{where}: a mapping is one object of field: column")
    return loaded


def read_mapped(path: str | Path, mapping: str | dict | ColumnMapping | None = None, *, seed: int = 0,
                annotator: str = "imported") -> pd.DataFrame:
    """The pairs frame of a mapped file; rows that share an id become one pair with several votes."""
    mapping = parse_mapping(mapping)
    rows = read_rows(path)
    present = set().union(*(row.record for row in rows))
    columns = _checked_columns(path, mapping, present)
    pairs: dict[str, _Pair] = {}
    for row in rows:
        _add_row(row, columns, mapping, pairs, seed=seed, annotator=annotator)
    return to_frame([p.frame_row() for p in pairs.values()], path)


def _checked_columns(path, mapping: ColumnMapping, present: set[str]) -> dict[str, str]:
    columns = mapping.columns(present)
    for key, column in columns.items():
        if column not in present:
            raise PairsFormatError(path, 0, column, f"mapped to {key}, but no row has it; columns: {sorted(present)}")

    def missing(problem):
        raise PairsFormatError(path, 0, None, f"{problem}; the file's columns: {sorted(present)}")

    if "prompt" not in columns:
        missing("no prompt column: map prompt=COLUMN")
    chosen_mode = "chosen" in columns or "rejected" in columns
    texts = ("chosen", "rejected") if chosen_mode else ("response_a", "response_b")
    if not all(t in columns for t in texts):
        missing("no columns for the two responses: map response_a= and response_b= (with label= or votes=), "
                "or chosen= and rejected=")
    if not chosen_mode and "label" not in columns and "votes" not in columns:
        missing("no column for the human labels: map label=COLUMN (one vote per row) or votes=COLUMN (a list)")
    return columns


@dataclass
class _Pair:
    """A pair being gathered from the rows that share its id."""

    pid: str
    first: Row
    prompt: str
    a: str
    b: str
    side: str | None
    seed: int | None
    extra: dict
    votes: list = field(default_factory=list)
    names: dict = field(default_factory=dict)  # annotator -> place of their vote

    def frame_row(self) -> dict:
        return pair_row(self.pid, self.prompt, self.a, self.b, votes=self.votes, names=list(self.names),
                        side=self.side, seed=self.seed, **self.extra)


def _add_row(row: Row, columns: dict, mapping: ColumnMapping, pairs: dict, *, seed: int, annotator: str) -> None:
    pid = pair_id(row, columns.get("id"), {})
    prompt = text(row, columns["prompt"])
    pair = pairs.get(pid)
    if pair is not None and prompt != pair.prompt:
        row.fail(columns["prompt"], f"differs from {pair.first.place}, which has the same id {pid!r}")
    if "chosen" in columns:
        chosen, rejected = text(row, columns["chosen"]), text(row, columns["rejected"])
        if pair is None:
            side = chosen_side(seed, pid)
            a, b = (chosen, rejected) if side == "A" else (rejected, chosen)
            pair = pairs[pid] = _new_pair(row, columns, pid, prompt, a, b, side, seed)
        elif {chosen, rejected} != {pair.a, pair.b}:
            row.fail(columns["chosen"], f"the responses differ from {pair.first.place}, which has the same id {pid!r}")
        name = optional_text(row, columns.get("annotator")) or annotator
        votes = [(name, "A" if chosen == pair.a else "B")]
    else:
        a, b = text(row, columns["response_a"]), text(row, columns["response_b"])
        if pair is None:
            pair = pairs[pid] = _new_pair(row, columns, pid, prompt, a, b, None, None)
        elif (a, b) != (pair.a, pair.b):
            column = columns["response_a"] if a != pair.a else columns["response_b"]
            row.fail(column, f"differs from {pair.first.place}, which has the same id {pid!r}")
        votes = _row_votes(row, columns, mapping, annotator)
    for name, vote in votes:
        if name in pair.names:
            _fail_repeat(row, columns, pid, name, pair.names[name])
        pair.names[name] = row.place
        pair.votes.append(vote)


def _new_pair(row: Row, columns: dict, pid: str, prompt: str, a: str, b: str, side, seed) -> _Pair:
    extra = {f: optional_text(row, columns.get(f)) for f in ("category", "model_a", "model_b")}
    return _Pair(pid, row, prompt, a, b, side, seed, extra)


def _fail_repeat(row: Row, columns: dict, pid: str, name: str, first: str) -> None:
    if "annotator" in columns or "voters" in columns:
        row.fail(columns.get("annotator") or columns["voters"], f"{name!r} already labelled pair {pid!r} on {first}")
    row.fail(columns.get("id"), f"duplicate id {pid!r} (first on {first}); map an annotator column to give "
                                "several labels per pair")


def _row_votes(row: Row, columns: dict, mapping: ColumnMapping, annotator: str) -> list[tuple[str, str]]:
    if "label" in columns:
        vote = _label(row, columns["label"], row.record.get(columns["label"]), mapping)
        return [] if vote is None else [(optional_text(row, columns.get("annotator")) or annotator, vote)]
    votes = _as_list(row, columns["votes"]) or []
    voters = _as_list(row, columns.get("voters"))
    status = _as_list(row, columns.get("vote_status"))
    for column, values in ((columns.get("voters"), voters), (columns.get("vote_status"), status)):
        if values is not None and len(values) != len(votes):
            row.fail(column, f"has {len(values)} entries for {len(votes)} votes")
    out = []
    for i, value in enumerate(votes):
        vote = _label(row, columns["votes"], value, mapping)
        if vote is not None and (status is None or str(status[i]).strip().lower() == "submitted"):
            out.append((str(voters[i]) if voters is not None else f"{annotator}-{i + 1}", vote))
    return out


def _label(row: Row, column: str, value, mapping: ColumnMapping) -> str | None:
    """'A', 'B' or 'TIE' for a label value; None for an empty one (no vote)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    key = str(value).strip().lower()
    for meaning, values in (("A", mapping.a), ("B", mapping.b), ("TIE", mapping.tie)):
        if key in values:
            return meaning
    allowed = [v for k in VALUE_KEYS for v in getattr(mapping, k)]
    row.fail(column, f"must be one of {allowed} (map others with a=, b=, tie=), got {value!r:.40}")


def _as_list(row: Row, column: str | None) -> list | None:
    if column is None or row.record.get(column) is None:
        return None
    value = row.record[column]
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped.startswith("["):
            return [part.strip() for part in stripped.split(",")] if stripped else []
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as exc:
            row.fail(column, f"not a JSON list ({exc.msg})")
    if not isinstance(value, list):
        row.fail(column, f"must be a list, got {type(value).__name__}")
    return value
