"""The tuning / held-out split of a source's labelled pairs, made once, seeded, and kept in the store.

Editing a constitution while looking at the judge's mistakes, then measuring the edit on the same
pairs, measures how well the edit was fitted to those pairs. So the labelled pairs of a source are
split once: the *tuning* part is what the editor sees (faults, examples), the *held-out* part is
what a version is measured on. The first split is a seeded shuffle of the labelled pair ids
(sorted first, so the order labels arrived in does not matter); pairs labelled later are placed by
a seeded hash of their id, so no stored pair ever changes part and the split never depends on who
looked first.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from core.store import Store

HELDOUT_FRACTION = 0.5
SPLIT_SEED = 0
TUNING, HELDOUT = "tuning", "heldout"
PART_NAMES = {HELDOUT: "held-out", TUNING: "tuning"}


def labelled_pair_ids(store: Store, source: str) -> list[str]:
    return sorted(set(store.source_human_labels(source)["pair_id"]))


def first_split(pair_ids: list[str], *, fraction: float, seed: int) -> dict[str, str]:
    """A seeded shuffle of ``pair_ids``: round(fraction * n) held out, at least one pair in each part
    when there are two or more."""
    n = len(pair_ids)
    n_held = int(round(fraction * n))
    if n >= 2:
        n_held = min(max(n_held, 1), n - 1)
    order = np.random.default_rng(seed).permutation(n)
    held = {pair_ids[i] for i in order[:n_held]}
    return {p: HELDOUT if p in held else TUNING for p in pair_ids}


def hashed_part(pair_id: str, *, fraction: float, seed: int) -> str:
    """The part of a pair labelled after the first split: a seeded hash of its id, uniform in [0, 1)."""
    u = int.from_bytes(hashlib.sha256(f"{seed}\x00{pair_id}".encode()).digest()[:8], "little") / 2 ** 64
    return HELDOUT if u < fraction else TUNING


def ensure_split(store: Store, source: str, *, fraction: float = HELDOUT_FRACTION,
                 seed: int = SPLIT_SEED) -> pd.DataFrame:
    """The split of ``source``'s labelled pairs (pair_id, part), made or extended to every labelled
    pair; ``fraction`` and ``seed`` only place pairs not split yet."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    split = store.pair_split(source)
    new = [p for p in labelled_pair_ids(store, source) if p not in set(split["pair_id"])]
    if new:
        parts = (first_split(new, fraction=fraction, seed=seed) if split.empty else
                 {p: hashed_part(p, fraction=fraction, seed=seed) for p in new})
        store.add_pair_split(source, parts, seed=seed)
        split = store.pair_split(source)
    return split[["pair_id", "part"]]
