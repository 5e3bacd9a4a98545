"""Prompts files: JSONL, CSV, or a HF dataset saved with ``save_to_disk``; every line checked, errors
naming the file, the line and the field; and an uploaded prompts file kept only when all of it reads."""
from __future__ import annotations

import tempfile
from pathlib import Path

from core.data.tables import PairsFormatError, read_jsonl_rows
from core.data.textfiles import (
    CsvRecordError,
    csv_records,
    named_as,
    oversized_field,
    read_utf8,
    safe_upload_name,
    too_long,
)
from core.schema import Prompt

_TEXT_KEYS = ("prompt", "text", "instruction", "question")


class PromptsFormatError(ValueError):
    """A prompts file that cannot be used; the message names the file, line and field."""


def load_prompts(path: str | Path) -> list[Prompt]:
    """Prompts from JSONL, CSV, or a HF dataset saved with ``save_to_disk`` (a folder)."""
    path = Path(path)
    if path.is_dir():
        rows = _rows_from_hf_dataset(path)
    elif path.suffix.lower() == ".csv":
        rows = _rows_from_csv(path)
    elif path.suffix.lower() in (".jsonl", ".json"):
        rows = _rows_from_jsonl(path)
    else:
        raise PromptsFormatError(f"{path}: unknown prompts format (use .jsonl, .csv, or a saved HF dataset folder)")
    prompts, seen = [], set()
    for line, row in rows:
        oversized = oversized_field(row)
        if oversized:
            raise PromptsFormatError(f"{path}:{line}: field '{oversized[0]}': {too_long(oversized[1])}")
        key = next((k for k in _TEXT_KEYS if k in row), None)
        if key is None:
            raise PromptsFormatError(f"{path}:{line}: field 'prompt': missing (looked for {', '.join(_TEXT_KEYS)})")
        text = row[key]
        if not isinstance(text, str) or not text.strip():
            raise PromptsFormatError(f"{path}:{line}: field '{key}': must be a non-empty string")
        prompt_id = str(row.get("id") or row.get("prompt_id") or f"line{line}")
        if prompt_id in seen:
            raise PromptsFormatError(f"{path}:{line}: field 'id': duplicate id {prompt_id!r}")
        seen.add(prompt_id)
        prompts.append(Prompt(prompt_id, text.strip(), str(row.get("category") or "")))
    if not prompts:
        raise PromptsFormatError(f"{path}: no prompts")
    return prompts


def _rows_from_jsonl(path: Path):
    """(line, row) per JSON object, through the one JSONL reader (``core.data.tables``)."""
    try:
        return [(row.line, row.record) for row in read_jsonl_rows(path)]
    except PairsFormatError as exc:
        raise PromptsFormatError(f"{path}:{exc.line}: {exc.problem}") from None


def _rows_from_csv(path: Path):
    """(line, row) per record; a row with more cells than the header would lose text, so it is refused."""
    records = csv_records(read_utf8(path, error=PromptsFormatError))
    header, rows = None, []
    try:
        for line, cells in records:
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = [h.strip() for h in cells]
                continue
            if len(cells) > len(header):
                raise PromptsFormatError(f"{path}:{line}: has {len(cells)} fields, the header has "
                                         f"{len(header)} (quote a field that holds a comma)")
            rows.append((line, dict(zip(header, cells + [None] * (len(header) - len(cells))))))
    except CsvRecordError as exc:
        named = header is not None and exc.column is not None and exc.column < len(header)
        field = f" field '{header[exc.column]}':" if named else ""
        raise PromptsFormatError(f"{path}:{exc.line}:{field} {exc.problem}") from None
    return rows


def _rows_from_hf_dataset(path: Path):
    import datasets

    ds = datasets.load_from_disk(str(path))
    if isinstance(ds, datasets.DatasetDict):
        ds = ds["train"] if "train" in ds else next(iter(ds.values()))
    return [(i + 1, row) for i, row in enumerate(ds)]


def save_uploaded_prompts(data: bytes, *, filename: str, folder: Path) -> tuple[Path, int]:
    """Validate uploaded prompts (JSONL or CSV); keep the file only if every line is good."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / safe_upload_name(filename, "upload")
        staged.write_bytes(data)
        with named_as(staged, filename):
            n = len(load_prompts(staged))
        final = folder / staged.name
        final.write_bytes(data)
    return final, n
