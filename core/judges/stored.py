"""Readings a judge already stored, found again by the texts it read.

A judgment is stored per (pair id, judge key), and the key changes with anything that changes a
verdict (``core/judges/identity.py``). So a judgment of the same key on the same prompt and the
same two responses is the verdict the judge would give again: a pairs file that holds pairs the
store already has under other ids (an imported dataset is stored as ``<dataset>/<id>``), or a
calibrated judge whose raw judges already read a source, need not pay for it twice. A stored
pair shown the other way round (A and B exchanged) is used with its readings swapped.
"""
from __future__ import annotations

import dataclasses
import math

from core.schema import Judgment, Preference


class StoredReadings:
    """``judge``'s stored judgments in ``store``, looked up by (prompt, response_a, response_b)."""

    def __init__(self, store, judge: str):
        self.judge = judge
        frame = store.judgments_with_texts(judge)
        self._rows = {(r["prompt"], r["response_a"], r["response_b"]): r for r in frame.to_dict("records")}

    def __len__(self) -> int:
        return len(self._rows)

    def find(self, pair_id: str, prompt: str, response_a: str, response_b: str) -> Judgment | None:
        """The stored judgment of these texts as a Judgment of ``pair_id`` (None if the judge never read them);
        found the other way round, its readings are swapped back."""
        row = self._rows.get((prompt, response_a, response_b))
        if row is not None:
            return _judgment(pair_id, row)
        row = self._rows.get((prompt, response_b, response_a))
        return None if row is None else _swapped(_judgment(pair_id, row))


def _number(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _judgment(pair_id: str, row: dict) -> Judgment:
    consistent = row["consistent"] if isinstance(row["consistent"], bool) else None
    return Judgment(pair_id, row["judge"], Preference(row["verdict"]), _number(row["p_a"]), _number(row["p_a_ab"]),
                    _number(row["p_a_ba"]), consistent, raw_ab="stored", raw_ba="stored",
                    tokens_in=int(row["tokens_in"]), tokens_out=int(row["tokens_out"]), seconds=float(row["seconds"]))


def _swapped(j: Judgment) -> Judgment:
    """The same judgment with A and B exchanged: each order's P(A) becomes 1 - the other order's."""
    def flip(p):
        return None if p is None else 1.0 - p

    return dataclasses.replace(j, verdict=j.verdict.swapped(), p_a=flip(j.p_a), p_a_ab=flip(j.p_a_ba),
                               p_a_ba=flip(j.p_a_ab))
