"""Taking a source's data out: preference pairs in TRL's format, and every label as CSV.

``trl-jsonl``, ``trl-parquet`` and ``hf-dataset`` (a folder written by ``save_to_disk``) hold
TRL's conversational preference records (``prompt``/``chosen``/``rejected`` message lists) that
``trl.RewardTrainer`` and ``DPOTrainer`` read as they are. The chosen response follows one
judge's verdict (``labels="judge"``) or the human majority (``labels="human"``); pairs without
a decided winner (TIE, INVALID, no label) are left out and counted. Each record also carries
``pair_id`` (the id within its source, as it was imported), ``chosen_side`` (where the chosen
response sits in the store, so ``--format trl`` imports the pair back unchanged),
``label_source`` and, for the judge, its verdict and probabilities.

``labels-csv`` has one row per human label (pair, annotator, label) with the pair's texts,
where a chosen/rejected import put the chosen response, and each judge's verdict and P(A);
pairs nobody labelled get one row with no annotator. ``--format mapped`` imports it back.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.store import Store

EXPORT_FORMATS = ("trl-jsonl", "trl-parquet", "hf-dataset", "labels-csv")
LABEL_SOURCES = ("judge", "human")
PAIR_COLUMNS = ["pair_id", "prompt", "response_a", "response_b", "category", "model_a", "model_b"]


@dataclass(frozen=True)
class ExportSummary:
    """``n_written`` records (CSV rows for labels-csv); ``n_left_out`` pairs had no decided winner."""

    path: Path
    n_written: int
    n_left_out: int
    labels: str
    judge: str | None


def export_source(store: Store, source: str, fmt: str, out: str | Path, *, labels: str = "judge",
                  judge: str | None = None) -> ExportSummary:
    """Write ``source`` ('dataset:<name>' or 'run:<id>') to ``out`` in ``fmt`` (one of EXPORT_FORMATS)."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; known: {', '.join(EXPORT_FORMATS)}")
    out = Path(out)
    if fmt == "labels-csv":
        judge = resolve_judge(store, source, judge) if judge else None
        table = labels_table(store, source, judge=judge)
        _write_atomic(out, table.to_csv(index=False).encode("utf-8"))
        return ExportSummary(out, len(table), 0, "all", judge)
    records, left_out = trl_records(store, source, labels=labels, judge=judge)
    if not records:
        raise ValueError(f"no pair of {source} has a decided winner by the {labels} labels "
                         f"({left_out} left out); nothing to export")
    write_records(records, fmt, out)
    return ExportSummary(out, len(records), left_out, labels, records[0].get("judge"))


def trl_records(store: Store, source: str, *, labels: str = "judge", judge: str | None = None
                ) -> tuple[list[dict], int]:
    """TRL conversational preference records of a source, and how many pairs were left out."""
    from core.audit.consensus import human_consensus
    from core.loop.preferences import compile_preferences

    if labels not in LABEL_SOURCES:
        raise ValueError(f"labels must be one of {LABEL_SOURCES}, got {labels!r}")
    pairs = _pairs_of(store, source)
    if labels == "human":
        consensus = human_consensus(store.source_human_labels(source), policy=store.consensus_policy(source)["policy"])
        winners, column = consensus[["pair_id", "human"]], "human"
    else:
        winners, column = store.source_judgments(source, resolve_judge(store, source, judge)), "verdict"
    records, _ = compile_preferences(pairs, winners, label_column=column)
    side = dict(zip(winners["pair_id"], winners[column]))
    out = [_trl_record(r, source, side[r["pair_id"]], labels) for r in records]
    return out, len(pairs) - len(out)


def _trl_record(record: dict, source: str, side: str, labels: str) -> dict:
    out = {"prompt": record["prompt"], "chosen": record["chosen"], "rejected": record["rejected"],
           "pair_id": local_id(source, record["pair_id"]), "chosen_side": side, "label_source": labels}
    out.update({k: v for k, v in record.items() if k not in out})
    return out


def labels_table(store: Store, source: str, *, judge: str | None = None) -> pd.DataFrame:
    """One row per human label (pairs without one: one row, no annotator), texts, placements, judges."""
    table = _pairs_of(store, source)[PAIR_COLUMNS].merge(
        store.source_human_labels(source)[["pair_id", "annotator", "label"]], on="pair_id", how="left")
    placements = store.source_placements(source).astype({"seed": "Int64"})
    table = table.merge(placements.rename(columns={"chosen_side": "source_chosen", "seed": "placement_seed"}),
                        on="pair_id", how="left")
    judgments = store.source_judgments(source)
    judge_columns = []
    for name, rows in judgments.groupby("judge", sort=True):
        if judge is not None and name != judge:
            continue
        names = {"verdict": f"judge:{name}", "p_a": f"judge:{name}:p_a"}
        table = table.merge(rows[["pair_id", "verdict", "p_a"]].rename(columns=names), on="pair_id", how="left")
        judge_columns += list(names.values())
    table["pair_id"] = [local_id(source, p) for p in table["pair_id"]]
    front = ["pair_id", "annotator", "label"]
    rest = [c for c in PAIR_COLUMNS if c != "pair_id"] + ["source_chosen", "placement_seed"]
    return table[front + rest + judge_columns]


def write_records(records: list[dict], fmt: str, out: str | Path) -> Path:
    """Write preference records as ``trl-jsonl``, ``trl-parquet`` or ``hf-dataset``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "trl-jsonl":
        _write_atomic(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8"))
    elif fmt == "trl-parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        partial = out.with_name(out.name + ".partial")
        pq.write_table(pa.Table.from_pylist(records), partial)
        partial.replace(out)
    elif fmt == "hf-dataset":
        import datasets

        datasets.Dataset.from_list(records).save_to_disk(str(out))
    else:
        raise ValueError(f"not a preference format: {fmt!r}")
    return out


def source_judges(store: Store, source: str) -> list[str]:
    return store.source_judges(source)


def resolve_judge(store: Store, source: str, judge: str | None = None) -> str:
    """``judge`` if it judged ``source``; without one, the source's only judge."""
    judges = source_judges(store, source)
    if judge is not None and judge in judges:
        return judge
    if judge is None and len(judges) == 1:
        return judges[0]
    if not judges:
        raise ValueError(f"no judge has judged {source}: run `python -m core judge --source {source} --judge NAME`, "
                         "or export with --labels human")
    problem = f"judge {judge!r} has not judged {source}" if judge else f"{source} has several judges"
    raise ValueError(f"{problem}; pick one with --judge: {', '.join(judges)}")


def _pairs_of(store: Store, source: str) -> pd.DataFrame:
    """The pairs of a source, with texts; ValueError listing the sources when it has none."""
    sources = store.source_names()
    if source not in sources:
        raise ValueError(f"no pairs in {source!r}; sources in the store: {', '.join(sources) or 'none'}")
    return store.source_pairs_frame(source)


def local_id(source: str, pair_id: str) -> str:
    """A pair's id within its source: the id its file gave ('dataset:d' stores 'd/<id>')."""
    kind, _, name = source.partition(":")
    prefix = f"{name}/"
    return pair_id[len(prefix):] if kind == "dataset" and pair_id.startswith(prefix) else pair_id


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)
