"""Stage 1: load prompts and sample a diverse, seeded subset.

Diversity comes from k-means over TF-IDF vectors of the prompts: the sample is drawn
round-robin across clusters, so a topic that fills half the file cannot fill half the run.
"""
from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from core.data.textfiles import CsvRecordError, csv_records, oversized_field, read_utf8, too_long
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
    rows = []
    for number, line in enumerate(read_utf8(path, error=PromptsFormatError).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PromptsFormatError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise PromptsFormatError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
        rows.append((number, row))
    return rows


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


def cluster_prompts(texts: Sequence[str], n_clusters: int, seed: int) -> np.ndarray:
    """K-means cluster labels over TF-IDF vectors (clusters capped at the number of prompts)."""
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    k = max(1, min(n_clusters, len(texts)))
    if k == 1:
        return np.zeros(len(texts), dtype=int)
    vectors = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=1).fit_transform(texts)
    return KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(vectors)


def sample_prompts(prompts: Sequence[Prompt], n: int, *, n_clusters: int = 8, seed: int = 0,
                   exclude: Collection[str] = ()) -> list[Prompt]:
    """A seeded sample of ``n`` prompts spread round-robin across TF-IDF clusters.

    Prompts whose id is in ``exclude`` (used in earlier rounds) are drawn only when the
    rest run out. Each returned Prompt carries its cluster label.
    """
    labels = cluster_prompts([p.text for p in prompts], n_clusters, seed)
    rng = np.random.default_rng(seed)
    fresh = [i for i, p in enumerate(prompts) if p.prompt_id not in exclude]
    used = [i for i, p in enumerate(prompts) if p.prompt_id in exclude]
    chosen: list[int] = []
    for pool in (fresh, used):
        by_cluster = {}
        for i in rng.permutation(pool) if pool else []:
            by_cluster.setdefault(int(labels[i]), []).append(int(i))
        queues = [by_cluster[c] for c in sorted(by_cluster)]
        while len(chosen) < n and any(queues):
            for queue in queues:
                if queue and len(chosen) < n:
                    chosen.append(queue.pop(0))
    return [Prompt(prompts[i].prompt_id, prompts[i].text, prompts[i].category, int(labels[i])) for i in chosen]
