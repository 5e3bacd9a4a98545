"""The records of a table file, each with a ``fail`` that names its place in the file.

JSONL (also ``.jsonl.gz``, and ``.json`` holding JSON lines) and CSV/TSV name lines; a JSON
array, Parquet and a HF dataset saved with ``save_to_disk`` name row indexes (from 0). Every
error is a ``core.data.pairs_file.PairsFormatError`` naming the file, the place and the field. CSV is read
strictly (a quote left open is refused, not read to the end of the file), and a field longer than
``core.data.textfiles.MAX_FIELD_CHARS`` characters is refused in every format.
"""
from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.data.textfiles import CsvRecordError, csv_records, line_of_byte, oversized_field, too_long

TABLE_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".json", ".csv", ".tsv", ".parquet")


class PairsFormatError(ValueError):
    """A pairs file that cannot be read; the message names the file, the line and the field."""

    def __init__(self, path, line: int, field: str | None, problem: str):
        self.path, self.line, self.field, self.problem = str(path), line, field, problem
        where = f"{path}, line {line}" + (f", field {field!r}" if field else "")
        super().__init__(f"{where}: {problem}")


class RowFormatError(PairsFormatError):
    """A PairsFormatError for files whose records have no line: the place is a row index from 0."""

    def __init__(self, path, row: int, field: str | None, problem: str):
        self.path, self.line, self.row, self.field, self.problem = str(path), row, row, field, problem
        where = f"{path}, row {row}" + (f", field {field!r}" if field else "")
        ValueError.__init__(self, f"{where}: {problem}")


@dataclass(frozen=True)
class Row:
    """One record: ``index`` counts records from 0, ``place`` is 'line 7' or 'row 6'."""

    record: dict
    index: int
    place: str
    fail: Callable[[str | None, str], None]
    line: int | None = None  # the line it starts on, in formats that have lines


def read_rows(path: str | Path) -> list[Row]:
    """Every record of a JSONL, JSON, CSV/TSV, Parquet file or saved HF dataset folder."""
    rows = _read_rows(Path(path))
    for row in rows:
        oversized = oversized_field(row.record)
        if oversized:
            row.fail(oversized[0], too_long(oversized[1]))
    return rows


def read_jsonl_rows(path: str | Path) -> list[Row]:
    """Every record of a JSON-lines file (``.jsonl``, ``.jsonl.gz``, ``.ndjson`` or ``.json``), each a
    JSON object, blank lines skipped: the one JSONL reader (pairs, prompts and imports all use it)."""
    path = Path(path)
    return _jsonl_rows(path, _decode(path, _read_bytes(path)))


def _read_rows(path: Path) -> list[Row]:
    if path.is_dir():
        return _dataset_rows(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        return _jsonl_rows(path, _decode(path, _read_bytes(path)))
    if name.endswith(".json"):
        text = _decode(path, path.read_bytes())
        return _json_array_rows(path, text) if text.lstrip().startswith("[") else _jsonl_rows(path, text)
    if name.endswith((".csv", ".tsv")):
        return _csv_rows(path, _decode(path, path.read_bytes()), "\t" if name.endswith(".tsv") else ",")
    if name.endswith(".parquet"):
        return _parquet_rows(path)
    raise PairsFormatError(path, 0, None, f"unknown file type; expected one of {', '.join(TABLE_SUFFIXES)} "
                                          "or a folder saved with datasets' save_to_disk")


def _read_bytes(path: Path) -> bytes:
    if not path.name.lower().endswith(".gz"):
        return path.read_bytes()
    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as exc:
        raise PairsFormatError(path, 0, None, f"not a gzip file ({exc})") from None


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")  # not utf-8-sig: its offsets skip the mark
    except UnicodeDecodeError as exc:
        line = line_of_byte(raw, exc.start)
        raise PairsFormatError(path, line, None, f"not UTF-8 ({exc.reason} at byte {exc.start})") from None


def _line_fail(path: Path, line: int):
    def fail(field, problem):
        raise PairsFormatError(path, line, field, problem)

    return fail


def _row_fail(path: Path, index: int):
    def fail(field, problem):
        raise RowFormatError(path, index, field, problem)

    return fail


def _object(record, fail) -> dict:
    if not isinstance(record, dict):
        fail(None, f"must be a JSON object, got {type(record).__name__}")
    return record


def _jsonl_rows(path: Path, text: str) -> list[Row]:
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        fail = _line_fail(path, number)
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            fail(None, f"not JSON ({exc.msg} at column {exc.colno})")
        rows.append(Row(_object(record, fail), len(rows), f"line {number}", fail, number))
    return rows


def _json_array_rows(path: Path, text: str) -> list[Row]:
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PairsFormatError(path, exc.lineno, None, f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(records, list):
        raise PairsFormatError(path, 1, None, "must be a JSON array of objects or JSON lines")
    return [Row(_object(r, _row_fail(path, i)), i, f"row {i}", _row_fail(path, i)) for i, r in enumerate(records)]


def _csv_rows(path: Path, text: str, delimiter: str) -> list[Row]:
    records = csv_records(text, delimiter=delimiter)
    header, rows = None, []
    try:
        for start, cells in records:
            if header is None:
                header = _header(path, cells)
                continue
            if not any(c.strip() for c in cells):
                continue
            fail = _line_fail(path, start)
            if len(cells) != len(header):
                fail(None, f"has {len(cells)} fields, the header has {len(header)}")
            rows.append(Row({h: (c if c != "" else None) for h, c in zip(header, cells) if h}, len(rows),
                            f"line {start}", fail, start))
    except CsvRecordError as exc:
        column = header[exc.column] if header and exc.column is not None and exc.column < len(header) else None
        raise PairsFormatError(path, exc.line, column or None, exc.problem) from None
    return rows


def _header(path: Path, cells: list[str]) -> list[str]:
    header = [h.strip() for h in cells]  # columns without a name (spreadsheet leftovers) are dropped
    duplicated = sorted({h for h in header if h and header.count(h) > 1})
    if duplicated:
        raise PairsFormatError(path, 1, None, f"the header repeats column(s) {duplicated}")
    return header


def _parquet_rows(path: Path) -> list[Row]:
    import pyarrow.parquet as pq

    try:
        records = pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise PairsFormatError(path, 0, None, f"not a Parquet file ({exc})") from None
    return [Row(r, i, f"row {i}", _row_fail(path, i)) for i, r in enumerate(records)]


def _dataset_rows(path: Path) -> list[Row]:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except FileNotFoundError:
        raise PairsFormatError(path, 0, None, "not a dataset folder written by datasets' save_to_disk") from None
    if isinstance(loaded, datasets.DatasetDict):
        if len(loaded) != 1:
            raise PairsFormatError(path, 0, None, f"holds the splits {sorted(loaded)}; name one, as {path}/SPLIT")
        loaded = next(iter(loaded.values()))
    return [Row(r, i, f"row {i}", _row_fail(path, i)) for i, r in enumerate(loaded.to_list())]
