"""Records that flow between the stages of the loop, and the verdict enum.

A judgment always keeps both orders it was shown in: ``p_a_ab`` is P(A better) read
when A was shown first, ``p_a_ba`` is P(A better) read when B was shown first (already
un-swapped). An answer that could not be read is ``None`` there and never becomes A or B.
"""
from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

COST_FIELDS = ("tokens_in", "tokens_out", "seconds")  # what every judgment records of what it cost


class Preference(str, enum.Enum):
    """Which response of a pair is preferred. Stored and exported as its string value."""

    A = "A"
    B = "B"
    TIE = "TIE"
    INVALID = "INVALID"

    @classmethod
    def parse(cls, value: Any) -> "Preference":
        """Read 'a', 'B', 'tie', 'invalid' (any case). Raise ValueError naming the value."""
        if isinstance(value, cls):
            return value
        text = str(value).strip().upper()
        try:
            return cls(text)
        except ValueError:
            raise ValueError(f"not a preference label: {value!r} (expected a, b or tie)") from None

    def swapped(self) -> "Preference":
        return {Preference.A: Preference.B, Preference.B: Preference.A}.get(self, self)


@dataclass(frozen=True)
class Prompt:
    prompt_id: str
    text: str
    category: str = ""
    cluster: int = -1


@dataclass(frozen=True)
class Response:
    response_id: str
    prompt_id: str
    text: str
    n_tokens: int
    n_chars: int
    round: int = 0
    model: str = ""


@dataclass(frozen=True)
class ResponsePair:
    """Two responses to one prompt, in the order the audit calls A and B."""

    pair_id: str
    prompt: str
    response_a: str
    response_b: str
    prompt_id: str = ""
    category: str = ""
    round: int = 0
    model_a: str = ""
    model_b: str = ""

    @property
    def len_a(self) -> int:
        return len(self.response_a)

    @property
    def len_b(self) -> int:
        return len(self.response_b)


@dataclass(frozen=True)
class OrderReading:
    """What a judge said for one presentation order: P(first shown is better)."""

    p_first: float | None  # None when the answer could not be read
    raw: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class Judgment:
    pair_id: str
    judge: str
    verdict: Preference
    p_a: float | None  # combined soft label: P(A better), mean over readable orders
    p_a_ab: float | None  # P(A better) when A was shown first
    p_a_ba: float | None  # P(A better) when B was shown first, un-swapped
    consistent: bool | None  # both orders gave the same side; None if an order is unreadable
    raw_ab: str = ""
    raw_ba: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0
    meta: dict = field(default_factory=dict)

    def to_row(self) -> dict:
        row = asdict(self)
        row["verdict"] = self.verdict.value
        return row


@dataclass(frozen=True)
class HumanLabel:
    pair_id: str
    annotator: str
    label: Preference


def to_response_pairs(pairs: pd.DataFrame) -> list[ResponsePair]:
    """The ResponsePairs of a pairs frame (a file's, or the store's), in the frame's order; optional
    columns (prompt_id, category, round, model_a, model_b) where the frame has them."""
    columns = set(pairs.columns)

    def text(row, name):
        value = row[name] if name in columns else ""
        return value if isinstance(value, str) else ""

    return [
        ResponsePair(pair_id=str(row["pair_id"]), prompt=row["prompt"], response_a=row["response_a"],
                     response_b=row["response_b"], prompt_id=text(row, "prompt_id"), category=text(row, "category"),
                     round=int(row["round"]) if "round" in columns else 0,
                     model_a=text(row, "model_a"), model_b=text(row, "model_b"))
        for _, row in pairs.iterrows()
    ]
