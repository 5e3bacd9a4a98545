"""Files users take away (preference data in TRL's format, human labels) and files they bring
(uploaded prompts or pairs, validated whole before anything is kept)."""
from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from core.runs.store import Store


def preference_records(store: Store, source: str, judge: str, *, labels: str = "judge") -> tuple[list[dict], int]:
    """TRL preference rows for a source; chosen follows the judge (or the human majority)."""
    from core.auditing import human_consensus
    from core.preferences import compile_preferences

    kind, _, name = source.partition(":")
    pairs = store.pairs_frame(run_id=name) if kind == "run" else store.pairs_frame(dataset=name)
    if labels == "human":
        chosen = human_consensus(store.source_human_labels(source))[["pair_id", "human"]]
        return compile_preferences(pairs, chosen, label_column="human")
    judgments = store.source_judgments(source)
    return compile_preferences(pairs, judgments[judgments["judge"] == judge])


def preference_jsonl(store: Store, source: str, judge: str, *, labels: str = "judge") -> bytes:
    records, _ = preference_records(store, source, judge, labels=labels)
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def human_labels_csv(store: Store, source: str) -> bytes:
    """Every human label of a source with its annotator, beside each judge's verdict."""
    labels = store.source_human_labels(source)
    judgments = store.source_judgments(source)
    wide = judgments.pivot_table(index="pair_id", columns="judge", values="verdict", aggfunc="first")
    wide.columns = [f"judge:{c}" for c in wide.columns]
    out = labels.merge(wide, left_on="pair_id", right_index=True, how="left")
    return out.to_csv(index=False).encode("utf-8")


def import_uploaded_pairs(store: Store, data: bytes, *, filename: str, dataset: str) -> int:
    """Validate an uploaded pairs JSONL whole, then store it in one transaction."""
    from core.workspace import import_pairs_file

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / _safe_name(filename)
        path.write_bytes(data)
        return import_pairs_file(store, path, dataset=dataset, annotator="imported")


def save_uploaded_prompts(data: bytes, *, filename: str, folder: Path) -> tuple[Path, int]:
    """Validate uploaded prompts (JSONL or CSV); keep the file only if every line is good."""
    from core.prompts import load_prompts

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / _safe_name(filename)
        staged.write_bytes(data)
        n = len(load_prompts(staged))
        final = folder / staged.name
        final.write_bytes(data)
    return final, n


def _safe_name(filename: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename).name)[:100]
    return name or "upload"
