"""Spot-check labels visibly count: per-person counts, agreement between people, and the consensus rule."""
from __future__ import annotations

import math

from core.audit.consensus import consensus_of
from core.human_labels.spot_checks import next_pair_id
from core.human_labels.team import annotator_summary, record_label
from core.schema import ResponsePair
from core.views.agreement import summary_sentence

PAIRS = [ResponsePair(f"d/{i:02d}", f"q{i}", f"answer a {i}", f"answer b {i}") for i in range(20)]


def _source(store):
    store.add_pairs(PAIRS, dataset="d")
    return "dataset:d"


def test_consensus_is_the_majority_and_a_split_is_a_tie():
    assert consensus_of(["A"]) == "A" and consensus_of(["A", "A", "B"]) == "A"
    assert consensus_of(["A", "B"]) == "TIE" and consensus_of(["A", "B", "TIE"]) == "TIE"
    assert consensus_of([]) is None


def test_a_disagreeing_label_says_it_turned_the_pair_into_a_tie(store):
    _source(store)
    store.set_human_label("d/00", "team", "A")
    first = record_label(store, "d/00", "dana", "B")
    assert first["changed"] and (first["before"], first["after"]) == ("A", "TIE")
    assert "changed this pair's human label from A to TIE" in first["sentence"] and "split" in first["sentence"]
    third = record_label(store, "d/00", "eve", "B")
    assert third["changed"] and third["after"] == "B"
    same = record_label(store, "d/01", "dana", "A")
    assert not same["changed"] and "nobody else" in same["sentence"]
    store.set_human_label("d/02", "team", "A")
    agreeing = record_label(store, "d/02", "dana", "A")
    assert not agreeing["changed"] and "stays A" in agreeing["sentence"]


def test_per_annotator_counts_and_kappa_move_with_each_label(store):
    source = _source(store)
    for i, pair in enumerate(PAIRS):
        store.set_human_label(pair.pair_id, "team", "A" if i % 2 else "B")
    before = annotator_summary(store, source)
    assert before["n_labels"] == 20 and math.isnan(before["alpha"]) and before["pairwise"].empty
    for i, pair in enumerate(PAIRS[:10]):  # dana agrees on 8 of 10
        store.set_human_label(pair.pair_id, "dana", ("A" if i % 2 else "B") if i < 8 else ("B" if i % 2 else "A"))
    after = annotator_summary(store, source)
    assert after["n_labels"] == 30 and after["n_pairs"] == 20
    counts = dict(zip(after["annotators"]["Annotator"], after["annotators"]["Labels"]))
    assert counts == {"team": 20, "dana": 10}
    row = after["pairwise"].iloc[0]
    assert row["Pairs both labelled"] == 10 and row["Agreement"] == 0.8
    assert 0.5 < row["Cohen's kappa"] < 0.7  # 0.8 observed against 0.5 expected: kappa 0.6
    assert after["consensus"] == {"single vote": 10, "unanimous": 8, "majority": 0, "split, counted as a tie": 2}
    sentence = summary_sentence(after)
    assert "30 human labels on 20 pairs (team 20, dana 10)" in sentence
    assert "2 pairs with a split vote count as a human tie" in sentence and "α" in sentence


def test_random_order_is_a_shuffle_of_its_own_per_annotator(store):
    source = _source(store)

    def walk(who):
        order = []
        for _ in range(len(PAIRS)):
            pair_id = next_pair_id(store, source, who)
            order.append(pair_id)
            store.set_human_label(pair_id, who, "A")
        return order

    ada, bob = walk("ada"), walk("bob")
    in_file = [p.pair_id for p in PAIRS]
    assert sorted(ada) == in_file and ada != in_file and ada != bob
    for order in (ada, bob):  # not walking the file, nor spiralling out from one spot of it
        first = [in_file.index(p) for p in order[:5]]
        assert max(first) - min(first) > 5
        assert sum(abs(in_file.index(b) - in_file.index(a)) <= 2 for a, b in zip(order, order[1:])) < 6
