"""Yardstick judges: real code that any judge worth using must beat.

``longest`` and ``shortest`` read only the character lengths; ``random`` is seeded per item
from a hash of its text, so the same item gets the same answer in any batch or chunk order.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np

from core.judges.base import Judge, JudgeItem
from core.schema import OrderReading

YARDSTICKS = ("longest", "shortest", "random")  # the judges below, by name: what a real judge must beat


class LengthJudge(Judge):
    """Prefers the longer (or, with ``prefer='shorter'``, the shorter) response; equal lengths tie."""

    def __init__(self, prefer: str = "longer"):
        if prefer not in ("longer", "shorter"):
            raise ValueError(f"prefer must be 'longer' or 'shorter', got {prefer!r}")
        self.prefer = prefer
        self.name = "longest" if prefer == "longer" else "shortest"

    def read_orders(self, items: Sequence[JudgeItem], progress: Callable[[int], None] | None = None):
        out = []
        for item in items:
            diff = len(item.first) - len(item.second)
            if self.prefer == "shorter":
                diff = -diff
            p_first = 0.5 if diff == 0 else float(diff > 0)
            out.append(OrderReading(p_first=p_first, raw=f"len {len(item.first)} vs {len(item.second)}"))
        if progress:
            progress(len(items))
        return out


class RandomJudge(Judge):
    """Picks a side at random, independently for each order shown: the chance-level yardstick."""

    name = "random"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def read_orders(self, items: Sequence[JudgeItem], progress: Callable[[int], None] | None = None):
        out = []
        for item in items:
            digest = hashlib.sha256(f"{self.seed}\x00{item.prompt}\x00{item.first}\x00{item.second}".encode()).digest()
            rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
            out.append(OrderReading(p_first=float(rng.random() < 0.5), raw="coin"))
        if progress:
            progress(len(items))
        return out
