"""Import a file of labelled pairs into the store, by format name: the one entry point of ``core.data``.

The whole file is read and checked first; then pairs, human labels, file verdicts and A/B
placements go to ``Store.import_dataset`` in one transaction. A bad file raises
``core.data.pairs_file.PairsFormatError`` naming the file, the line (or row index) and the field, and
nothing of it is stored.
"""
from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.data.textfiles import named_as, safe_upload_name
from core.schema import Judgment, Preference, ResponsePair
from core.store import Store

FORMATS = ("pairs", "trl", "hh-rlhf", "mapped")
DEFAULT_ANNOTATOR = "imported"
FILE_JUDGE = "file-verdicts"  # the judge name of verdicts a file carries (judge_preferred)


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
        path = Path(tmp) / safe_upload_name(filename, "upload.jsonl")
        path.write_bytes(data)
        with named_as(path, filename):
            return import_file(store, fmt, path, dataset=dataset, mapping=mapping, seed=seed, annotator=annotator)


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


def import_pairs_file(store: Store, path: str | Path, *, dataset: str, annotator: str = DEFAULT_ANNOTATOR) -> int:
    """Read a pairs JSONL (validated whole first) and store it; return the number of pairs."""
    from core.data.pairs_file import read_pairs_jsonl

    return import_pairs_frame(store, read_pairs_jsonl(path), dataset=dataset, annotator=annotator)


def import_pairs_frame(store: Store, frame: pd.DataFrame, *, dataset: str,
                       annotator: str = DEFAULT_ANNOTATOR) -> int:
    """Store a pairs frame (``core.data.pairs_file.read_pairs_jsonl``'s columns) as one dataset, in one transaction.

    Optional columns: ``annotator_names`` (a list beside ``annotators``: who gave each vote;
    without it votes are named ``{annotator}-1``, ``-2``, ...), and ``chosen_side`` ('A'/'B')
    with ``placement_seed`` for pairs from a chosen/rejected source (``core.data``).
    """
    if not dataset.strip() or ":" in dataset:
        raise ValueError(f"dataset name must be non-empty and without ':', got {dataset!r}")
    pairs, labels, judgments, placements = [], [], [], []
    for row in frame.to_dict("records"):
        pair_id = f"{dataset}/{row['pair_id']}"
        pairs.append(ResponsePair(pair_id, row["prompt"], row["response_a"], row["response_b"],
                                  category=_text(row.get("category")), model_a=_text(row.get("model_a")),
                                  model_b=_text(row.get("model_b"))))
        votes, names = row.get("annotators"), row.get("annotator_names")
        if isinstance(votes, list) and votes:
            if not isinstance(names, list) or len(names) != len(votes):
                names = [f"{annotator}-{i + 1}" for i in range(len(votes))]
            labels += [(pair_id, name, v) for name, v in zip(names, votes)]
        elif isinstance(row.get("human"), str) and row["human"]:
            labels.append((pair_id, annotator, row["human"]))
        if row.get("chosen_side") in ("A", "B"):
            seed = row.get("placement_seed")
            seed = None if seed is None or (isinstance(seed, float) and math.isnan(seed)) else int(seed)
            placements.append((pair_id, row["chosen_side"], seed))
        verdict = row.get("verdict")
        if isinstance(verdict, str) and verdict:
            p_a = row.get("p_a")
            p_a = None if p_a is None or (isinstance(p_a, float) and math.isnan(p_a)) else float(p_a)
            judgments.append(Judgment(pair_id, FILE_JUDGE, Preference.parse(verdict), p_a, p_a, None, None))
    store.import_dataset(dataset, pairs, labels, judgments, placements)
    return len(pairs)


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
