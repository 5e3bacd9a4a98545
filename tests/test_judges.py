"""Both orders are recorded and un-swapped correctly; baselines are what they say."""
from __future__ import annotations

import math

import pytest

from core.config import JudgeConfig
from core.judges import Judge, combine_orders, judge_pairs, make_judge
from core.schema import OrderReading, Preference, ResponsePair

PAIRS = [
    ResponsePair("p1", "What is 2+2?", "4", "The answer is four, because two plus two is four."),
    ResponsePair("p2", "Name a colour.", "Blue is a colour that many people like.", "Red."),
    ResponsePair("p3", "Say hi.", "Hi!", "Yo!"),
]


class AlwaysFirst(Judge):
    """The worst position bias there is: whatever is shown first wins."""

    name = "always-first"

    def read_orders(self, items, progress=None):
        return [OrderReading(p_first=1.0, raw="A") for _ in items]


class Unreadable(Judge):
    name = "unreadable"

    def read_orders(self, items, progress=None):
        return [OrderReading(p_first=None, raw="I cannot decide") for _ in items]


def test_always_first_judge_is_inconsistent_with_soft_label_one_half():
    judgments = judge_pairs(AlwaysFirst(), PAIRS)
    assert [j.consistent for j in judgments] == [False] * len(PAIRS)
    assert all(j.p_a == 0.5 and j.verdict is Preference.TIE for j in judgments)
    assert all(j.p_a_ab == 1.0 and j.p_a_ba == 0.0 for j in judgments)


def test_unreadable_answers_stay_invalid_and_keep_the_raw_text():
    judgments = judge_pairs(Unreadable(), PAIRS)
    assert all(j.verdict is Preference.INVALID and j.p_a is None and j.consistent is None for j in judgments)
    assert judgments[0].raw_ab == "I cannot decide"


def test_one_unreadable_order_uses_the_other_and_leaves_consistency_unknown():
    j = combine_orders("x", "j", OrderReading(None, "??"), OrderReading(0.2))  # B shown first: P(B)=0.2
    assert j.p_a == pytest.approx(0.8) and j.verdict is Preference.A and j.consistent is None


def test_swapping_the_pair_swaps_the_verdict():
    judge = make_judge("longest")
    swapped = [ResponsePair(p.pair_id, p.prompt, p.response_b, p.response_a) for p in PAIRS]
    for a, b in zip(judge_pairs(judge, PAIRS), judge_pairs(judge, swapped)):
        assert a.verdict.swapped() is b.verdict
        assert a.p_a == pytest.approx(1 - b.p_a)


def test_length_baselines():
    longest = judge_pairs(make_judge("longest"), PAIRS)
    shortest = judge_pairs(make_judge("shortest"), PAIRS)
    assert [j.verdict.value for j in longest] == ["B", "A", "TIE"]
    assert [j.verdict.value for j in shortest] == ["A", "B", "TIE"]
    assert all(j.consistent for j in longest + shortest)


def test_random_judge_is_seeded_and_near_chance():
    pairs = [ResponsePair(f"p{i}", f"q{i}", f"a{i}", f"b{i}") for i in range(400)]
    first = judge_pairs(make_judge("random", seed=1), pairs)
    again = judge_pairs(make_judge("random", seed=1), pairs[::-1])[::-1]
    other = judge_pairs(make_judge("random", seed=2), pairs)
    assert [j.verdict for j in first] == [j.verdict for j in again]
    assert [j.verdict for j in first] != [j.verdict for j in other]
    consistency = sum(j.consistent for j in first) / len(first)
    assert 0.4 < consistency < 0.6


@pytest.mark.parametrize("method", ["letters", "pointwise", "likelihood"])
def test_local_judge_reads_probabilities_in_both_orders(method, tiny_model_path, principles_file):
    judge = make_judge(JudgeConfig(backend="local", model=str(tiny_model_path), method=method,
                                   principles=str(principles_file), batch_size=2))
    judgments = judge_pairs(judge, PAIRS)
    assert len(judgments) == len(PAIRS)
    for j in judgments:
        assert 0.0 <= j.p_a_ab <= 1.0 and 0.0 <= j.p_a_ba <= 1.0
        assert j.p_a == pytest.approx((j.p_a_ab + j.p_a_ba) / 2)
        assert j.verdict in (Preference.A, Preference.B, Preference.TIE)
        assert j.tokens_in > 0 and j.seconds > 0
    if method != "letters":  # per-response scores cannot depend on the order shown
        assert all(j.consistent and math.isclose(j.p_a_ab, j.p_a_ba) for j in judgments)


def test_local_judge_batches_do_not_change_answers(tiny_model_path, principles_file):
    def run(batch_size):
        cfg = JudgeConfig(backend="local", model=str(tiny_model_path), method="letters",
                          principles=str(principles_file), batch_size=batch_size)
        return [j.p_a for j in judge_pairs(make_judge(cfg), PAIRS)]

    assert run(1) == pytest.approx(run(6), abs=1e-4)


def test_empty_principles_file_is_refused(tmp_path, tiny_model_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("# only a title\n\n")
    with pytest.raises(ValueError, match="empty"):
        make_judge(JudgeConfig(backend="local", model=str(tiny_model_path), principles=str(empty)))
