"""Bringing labelled pairs into the store, and the sample workspace a new user starts with.

An import is one transaction: a bad file stops with an error naming the line and field
(``core.data.pairs_file.PairsFormatError``) and nothing of it is stored.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from core.schema import Judgment, Preference, ResponsePair
from core.store import Store

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"
SAMPLE_DATASET = "sample"
FILE_JUDGE = "file-verdicts"


def import_pairs_file(store: Store, path: str | Path, *, dataset: str, annotator: str = "imported") -> int:
    """Read a pairs JSONL (validated whole first) and store it; return the number of pairs."""
    from core.data.pairs_file import read_pairs_jsonl

    return import_pairs_frame(store, read_pairs_jsonl(path), dataset=dataset, annotator=annotator)


def import_pairs_frame(store: Store, frame: pd.DataFrame, *, dataset: str, annotator: str = "imported") -> int:
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


def ensure_sample_workspace(store: Store) -> bool:
    """Load sample_data/human_pairs.jsonl (team labels) and judge it with the yardsticks, once.

    Returns True when it loaded something. The default local judge is added by
    ``scripts/dashboard.sh`` (``python -m core judge``), which takes about a minute on CPU.
    """
    if (store.pair_sources()["source"] == f"dataset:{SAMPLE_DATASET}").any():
        return False
    import_pairs_file(store, SAMPLE_DIR / "human_pairs.jsonl", dataset=SAMPLE_DATASET, annotator="team")
    judge_source(store, f"dataset:{SAMPLE_DATASET}", ["longest", "shortest", "random"])
    return True


def source_pairs(store: Store, source: str) -> list[ResponsePair]:
    kind, _, name = source.partition(":")
    frame = store.pairs_frame(run_id=name) if kind == "run" else store.pairs_frame(dataset=name)
    if kind != "run":
        frame = frame[frame["run_id"].isna()]
    return [ResponsePair(r.pair_id, r.prompt, r.response_a, r.response_b, r.prompt_id, r.category, int(r.round),
                         r.model_a, r.model_b) for r in frame.itertuples()]


def judge_source(store: Store, source: str, judges, progress=None) -> None:
    """Judge every pair of a source with each judge (names, YAML paths or JudgeConfigs), resumably."""
    from core.judges import make_judge
    from core.loop.judging import label_pairs

    pairs = source_pairs(store, source)
    for spec in judges:
        judge = make_judge(spec)
        try:
            label_pairs(store, judge, pairs, progress=progress)
        finally:
            judge.close()


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
