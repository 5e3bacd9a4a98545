"""Stage 4: compile (prompt, chosen, rejected) from the judge's verdicts, in TRL's format.

Records are TRL's conversational preference form (``prompt``/``chosen``/``rejected`` as
message lists) plus the judge's metadata. Pairs whose verdict is TIE or INVALID have no
winner and are left out; the caller is told how many.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

_KEEP = ("pair_id", "judge", "verdict", "p_a", "p_a_ab", "p_a_ba", "consistent")


def compile_preferences(pairs: pd.DataFrame, labels: pd.DataFrame, *, label_column: str = "verdict"
                        ) -> tuple[list[dict], int]:
    """Join pairs with one label per pair ('A'/'B' wins; others skipped). Return (records, n_skipped)."""
    merged = pairs.merge(labels, on="pair_id", how="inner", suffixes=("", "_label"))
    records, skipped = [], 0
    for row in merged.itertuples(index=False):
        row = row._asdict()
        winner = row[label_column]
        if winner not in ("A", "B"):
            skipped += 1
            continue
        chosen, rejected = (row["response_a"], row["response_b"]) if winner == "A" else (
            row["response_b"], row["response_a"])
        record = {
            "prompt": [{"role": "user", "content": row["prompt"]}],
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}],
        }
        record.update({k: _plain(row[k]) for k in _KEEP if k in row})
        records.append(record)
    return records, skipped


def export_preferences(records: list[dict], path: str | Path) -> Path:
    """Write records as JSONL (``.jsonl``), Parquet (``.parquet``) or a HF dataset folder (other)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    if path.suffix == ".jsonl":
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        tmp.replace(path)
    elif path.suffix == ".parquet":
        pd.DataFrame(records).to_parquet(tmp, index=False)
        tmp.replace(path)
    else:
        import datasets

        datasets.Dataset.from_list(records).save_to_disk(str(path))
    return path


def _plain(value):
    """NaN and numpy scalars to JSON-friendly Python values."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value
