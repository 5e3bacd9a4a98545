"""The sample workspace a new user starts with: the sample pairs with the team's labels, judged by the
length and random yardsticks, loaded once into the store."""
from __future__ import annotations

from pathlib import Path

from core.data.importers import import_pairs_file
from core.loop.judging import judge_source
from core.store import Store

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"
SAMPLE_DATASET = "sample"


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
