"""One small interface for every judge, and the un-swapping of the two orders.

A backend only answers "P(the first shown response is better)" for a batch of
(prompt, first, second) items. ``judge_pairs`` shows every pair in both orders, maps the
second order back onto A/B, and combines them. Because that logic lives here once, no
backend can get the un-swapping wrong (TRL's old judges turned a -1 tie into 2 this way).
"""
from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.schema import Judgment, OrderReading, Preference, ResponsePair


@dataclass(frozen=True)
class JudgeItem:
    prompt: str
    first: str
    second: str


class Judge(abc.ABC):
    """A judge reads P(first shown is better) for a batch of items."""

    name: str = "judge"
    tie_margin: float = 0.0

    @abc.abstractmethod
    def read_orders(
        self, items: Sequence[JudgeItem], progress: Callable[[int], None] | None = None
    ) -> list[OrderReading]:
        """One OrderReading per item, in order. ``progress(n)`` is called as items finish."""

    def close(self) -> None:
        """Release models or connections; the judge is not used afterwards."""


def judge_pairs(
    judge: Judge, pairs: Sequence[ResponsePair], progress: Callable[[int], None] | None = None
) -> list[Judgment]:
    """Judge every pair in both orders (A first, then B first) and combine the readings."""
    items = []
    for pair in pairs:
        items.append(JudgeItem(pair.prompt, pair.response_a, pair.response_b))
        items.append(JudgeItem(pair.prompt, pair.response_b, pair.response_a))
    counted = None if progress is None else (lambda n: progress(n / 2))
    readings = judge.read_orders(items, counted)
    if len(readings) != len(items):
        raise RuntimeError(f"judge {judge.name} returned {len(readings)} readings for {len(items)} items")
    return [
        combine_orders(pair.pair_id, judge.name, readings[2 * i], readings[2 * i + 1], judge.tie_margin)
        for i, pair in enumerate(pairs)
    ]


def side_of(p_a: float | None, tie_margin: float = 0.0) -> Preference:
    """The verdict a probability that A is better stands for."""
    if p_a is None:
        return Preference.INVALID
    if abs(p_a - 0.5) <= tie_margin:
        return Preference.TIE
    return Preference.A if p_a > 0.5 else Preference.B


def combine_orders(
    pair_id: str, judge_name: str, ab: OrderReading, ba: OrderReading, tie_margin: float = 0.0
) -> Judgment:
    """Map both readings onto A/B and combine them into one judgment.

    ``ab.p_first`` is P(A better); ``ba.p_first`` is P(B better), so P(A better) from the
    swapped order is ``1 - ba.p_first``. The soft label is the mean over readable orders;
    the orders agree when both fall on the same side of 0.5. With no readable order the
    verdict is INVALID, never A or B.
    """
    p_ab = ab.p_first
    p_ba = None if ba.p_first is None else 1.0 - ba.p_first
    readable = [p for p in (p_ab, p_ba) if p is not None]
    p_a = sum(readable) / len(readable) if readable else None
    consistent = None
    if p_ab is not None and p_ba is not None:
        consistent = side_of(p_ab) == side_of(p_ba)
    return Judgment(
        pair_id=pair_id,
        judge=judge_name,
        verdict=side_of(p_a, tie_margin),
        p_a=p_a,
        p_a_ab=p_ab,
        p_a_ba=p_ba,
        consistent=consistent,
        raw_ab=ab.raw,
        raw_ba=ba.raw,
        tokens_in=ab.tokens_in + ba.tokens_in,
        tokens_out=ab.tokens_out + ba.tokens_out,
        seconds=ab.seconds + ba.seconds,
    )
