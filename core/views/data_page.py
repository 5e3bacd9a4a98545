"""Files users take away (preference data in TRL's format, human labels) and files they bring
(uploaded prompts or pairs, validated whole before anything is kept)."""
from __future__ import annotations

import json

from core.store import Store


def preference_records(store: Store, source: str, judge: str, *, labels: str = "judge") -> tuple[list[dict], int]:
    """TRL preference rows for a source; chosen follows the judge (or the human majority).

    Kept for the dashboard; ``core.data.exporters.trl_records`` does the work.
    """
    from core.data.exporters import trl_records

    return trl_records(store, source, labels=labels, judge=judge or None)


def preference_jsonl(store: Store, source: str, judge: str, *, labels: str = "judge") -> bytes:
    records, _ = preference_records(store, source, judge, labels=labels)
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def human_labels_csv(store: Store, source: str) -> bytes:
    """Every human label of a source with its annotator, beside each judge's verdict (``core.data.exporters``)."""
    from core.data.exporters import labels_table

    return labels_table(store, source).to_csv(index=False).encode("utf-8")


def import_uploaded_pairs(store: Store, data: bytes, *, filename: str, dataset: str, fmt: str = "pairs",
                          mapping: str | None = None) -> int:
    """Validate an uploaded file whole (any importer format), then store it in one transaction."""
    from core.data import import_upload

    return import_upload(store, data, filename=filename, fmt=fmt, dataset=dataset, mapping=mapping or None).n_pairs
