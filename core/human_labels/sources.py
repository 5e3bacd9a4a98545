"""Where a run finds human-labelled pairs: the gate's source, the RLHF arm's, and its own.

A run's ``human_pairs`` file goes into the store as a dataset named after the file and a hash
of its bytes (``human-pairs/<name>-<hash>``): a run with the same file reuses it, verdicts of
the same judge included, and an edited file is a new dataset, so no verdict of old text is
ever read against new text. It shows on the Agreement and Spot-check pages like any dataset.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from core.config import HUMAN_PAIRS_SOURCE, RunConfig, is_store_source
from core.store import Store

DATASET_PREFIX = "human-pairs"


def import_labelled_file(store: Store, path: str | Path) -> str:
    """Store a pairs JSONL with human labels once per content; return its source ('dataset:...')."""
    from core.data.importers import dataset_name, import_pairs_file

    path = Path(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    dataset = f"{DATASET_PREFIX}/{dataset_name(path)}-{digest}"
    if f"dataset:{dataset}" not in store.source_names():
        import_pairs_file(store, path, dataset=dataset, annotator=DATASET_PREFIX)
    return f"dataset:{dataset}"


def gate_source(store: Store, cfg: RunConfig) -> str:
    """The store source the gate measures on (importing the file it names, once)."""
    source = cfg.gate.source
    if source == HUMAN_PAIRS_SOURCE:
        return import_labelled_file(store, cfg.human_pairs)
    if is_store_source(source):
        if source not in store.source_names():
            raise ValueError(f"gate.source {source!r} is not in the store (known: {', '.join(store.source_names())})")
        return source
    return import_labelled_file(store, source)


def arm_sources(store: Store, cfg: RunConfig, run_id: str) -> list[str]:
    """The sources of the RLHF arm's pairs: the human_pairs file (when set) and the run itself."""
    return ([import_labelled_file(store, cfg.human_pairs)] if cfg.human_pairs else []) + [f"run:{run_id}"]


def sources_to_judge(store: Store, cfg: RunConfig, run_id: str) -> list[str]:
    """Sources whose human-labelled pairs the run's judge must have read before the gate and the arm."""
    out = [gate_source(store, cfg)] if cfg.gate.enabled else []
    if cfg.reward.rlhf_arm:
        out += [s for s in arm_sources(store, cfg, run_id) if s not in out]
    return out
