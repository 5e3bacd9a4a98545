"""The Spot-check page: which pair a person labels next, saving (and undoing) a label with what it did
to the pair's human label, and, only after the person answered, each judge's verdict in words."""
from __future__ import annotations

import pandas as pd

from core.human_labels.spot_checks import label_progress, next_pair_id, still_open, undo_last
from core.human_labels.team import record_label
from core.judges.baselines import YARDSTICKS
from core.judges.identity import display_names
from core.store import Store

__all__ = ["display_names", "judges_of", "label_progress", "next_pair_id", "pair_texts", "record_label", "still_open",
           "undo_last", "verdict_sentences"]


def judges_of(store: Store, source: str) -> list[str]:
    """The judges that judged any pair of ``source``, real judges before the yardsticks (the first is
    the one the page checks unless the person picks another)."""
    return sorted(store.source_judges(source), key=lambda name: name in YARDSTICKS)


def pair_texts(store: Store, pair_id: str) -> dict:
    """The prompt and both responses of one pair."""
    return store.get_pairs([pair_id]).iloc[0].to_dict()


_VERDICT_WORDS = {"A": "A", "B": "B", "TIE": "a tie", "INVALID": "no readable answer"}


def verdict_sentences(store: Store, pair_id: str) -> list[str]:
    """Each judge's verdict on one pair in words, e.g. 'smollm2-135m-letters: A (P(A better) 79% when A
    was shown first, 22% when shown second: it flipped with the order)'. Read after the person answered."""
    frame = store.pair_judgments(pair_id)
    shown = display_names(list(frame["judge"]))
    out = []
    for row in frame.itertuples():
        text = f"{shown[row.judge]}: {_VERDICT_WORDS.get(row.verdict, row.verdict)}"
        if row.p_a_ab is not None and row.p_a_ba is not None and not (pd.isna(row.p_a_ab) or pd.isna(row.p_a_ba)):
            picks = ("A" if row.p_a_ab > 0.5 else "B" if row.p_a_ab < 0.5 else "neither",
                     "A" if row.p_a_ba > 0.5 else "B" if row.p_a_ba < 0.5 else "neither")
            order = ("it flipped with the order" if picks[0] != picks[1] and "neither" not in picks
                     else "the same pick in both orders" if picks[0] == picks[1] else "undecided in one order")
            text += (f" (P(A better) {row.p_a_ab:.0%} when A was shown first, {row.p_a_ba:.0%} when shown second: "
                     f"{order})")
        out.append(text)
    return out
