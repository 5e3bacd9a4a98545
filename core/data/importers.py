"""Import a file of labelled pairs into the store, by format name: the one entry point of ``core.data``.

The whole file is read and checked first; then pairs, human labels, file verdicts and A/B
placements go to ``Store.import_dataset`` in one transaction. A bad file raises
``core.data.pairs_file.PairsFormatError`` naming the file, the line (or row index) and the field, and
nothing of it is stored.
"""
from __future__ import annotations

import contextlib
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.store import Store

FORMATS = ("pairs", "trl", "hh-rlhf", "mapped")
DEFAULT_ANNOTATOR = "imported"


@dataclass(frozen=True)
class ImportSummary:
    """What an import stored: ``n_placed`` chosen/rejected pairs were put at A/B by the seeded coin."""

    dataset: str
    n_pairs: int
    n_labels: int
    n_labelled: int
    n_placed: int
    seed: int

    @property
    def source(self) -> str:
        return f"dataset:{self.dataset}"


def read_file(fmt: str, path: str | Path, *, mapping=None, seed: int = 0,
              annotator: str = DEFAULT_ANNOTATOR) -> pd.DataFrame:
    """The pairs frame of a file in format ``fmt`` (one of FORMATS), checked whole."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown import format {fmt!r}; known: {', '.join(FORMATS)}")
    if mapping is not None and fmt != "mapped":
        raise ValueError(f"a column mapping is for --format mapped, not {fmt}")
    if fmt == "pairs":
        from core.data.pairs_file import read_pairs_jsonl

        return read_pairs_jsonl(path)
    if fmt == "mapped":
        from core.data.mapped import read_mapped

        return read_mapped(path, mapping, seed=seed, annotator=annotator)
    from core.data.chosen_rejected import read_hh_rlhf, read_trl

    reader = read_trl if fmt == "trl" else read_hh_rlhf
    return reader(path, seed=seed, annotator=annotator)


def import_file(store: Store, fmt: str, path: str | Path, *, dataset: str | None = None, mapping=None,
                seed: int = 0, annotator: str = DEFAULT_ANNOTATOR) -> ImportSummary:
    """Read ``path`` as ``fmt`` and store it as one dataset (default name: the file's name)."""
    from core.data.sample_workspace import import_pairs_frame

    dataset = dataset or dataset_name(path)
    frame = read_file(fmt, path, mapping=mapping, seed=seed, annotator=annotator)
    n = import_pairs_frame(store, frame, dataset=dataset, annotator=annotator)
    n_votes = [_n_votes(row) for row in frame.to_dict("records")]
    placed = int(frame["placement_seed"].notna().sum()) if "placement_seed" in frame else 0
    return ImportSummary(dataset, n, sum(n_votes), sum(v > 0 for v in n_votes), placed, seed)


def import_upload(store: Store, data: bytes, *, filename: str, fmt: str, dataset: str, mapping=None,
                  seed: int = 0, annotator: str = DEFAULT_ANNOTATOR) -> ImportSummary:
    """Import the bytes of an uploaded file (the dashboard's path); the file name picks its type."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / (re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename).name)[:100] or "upload.jsonl")
        path.write_bytes(data)
        with named_as(path, filename):
            return import_file(store, fmt, path, dataset=dataset, mapping=mapping, seed=seed, annotator=annotator)


@contextlib.contextmanager
def named_as(staged: Path, filename: str):
    """Errors about ``staged`` (a server temp copy of an upload) name the file the person uploaded."""
    try:
        yield
    except ValueError as exc:
        text = str(exc)
        if str(staged) not in text:
            raise
        raise ValueError(text.replace(str(staged), Path(filename).name)) from exc


def dataset_name(path: str | Path) -> str:
    """The file's name without its extensions ('hh_train.jsonl.gz' -> 'hh_train'), ':' replaced."""
    name = Path(path).name
    for suffix in (".gz", ".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet"):
        name = name[: -len(suffix)] if name.lower().endswith(suffix) and len(name) > len(suffix) else name
    return name.replace(":", "_").strip() or "imported"


def _n_votes(row: dict) -> int:
    votes = row.get("annotators")
    if isinstance(votes, list) and votes:
        return len(votes)
    return 1 if isinstance(row.get("human"), str) and row["human"] else 0
