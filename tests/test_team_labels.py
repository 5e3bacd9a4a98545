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


# -- the consensus policy: which votes decide a pair's human label (issue: a casual vote rewrote the reference) --
def _imported(store, labels=("A", "B", "A", "A")):
    """Four pairs imported with one curated label each, as an import stores them; 'longest' judged them A."""
    from core.schema import Judgment, Preference

    pairs = [ResponsePair(f"ref/{i}", f"q{i}", f"a{i}" * 3, f"b{i}") for i in range(len(labels))]
    store.import_dataset("ref", pairs, [(p.pair_id, "curator", lab) for p, lab in zip(pairs, labels)],
                         [Judgment(p.pair_id, "longest", Preference.A, 1.0, 1.0, 1.0, True) for p in pairs])
    return "dataset:ref"


def test_by_default_a_spot_check_is_measured_against_imported_labels_not_mixed_in(store):
    from core.human_labels.with_verdicts import source_audit

    source = _imported(store)
    before = source_audit(store, source)["longest"]["agreement"]
    outcome = record_label(store, "ref/0", "walker", "B")
    assert (outcome["before"], outcome["after"], outcome["changed"], outcome["counted"]) == ("A", "A", False, False)
    assert "measured against it, not counted" in outcome["sentence"] and "curator A" in outcome["sentence"]
    assert outcome["agreement"] == {} and source_audit(store, source)["longest"]["agreement"] == before
    summary = annotator_summary(store, source)
    assert summary["not_counted"] == 1 and summary["not_counted_agree"] == 0.0
    assert not math.isnan(summary["alpha"])  # people's agreement reads every vote, counted or not
    assert "1 spot-check vote is measured against" in summary_sentence(summary)


def test_under_majority_the_same_label_makes_a_tie_and_says_how_agreement_moved(store):
    from core.human_labels.team import set_policy
    from core.human_labels.with_verdicts import source_audit

    source = _imported(store)
    set_policy(store, source, "majority", set_by="kim")
    assert source_audit(store, source)["longest"]["agreement"] == 0.75  # A, B, A, A against A everywhere
    outcome = record_label(store, "ref/0", "walker", "B")
    assert (outcome["before"], outcome["after"], outcome["changed"]) == ("A", "TIE", True)
    assert "TIE, 1–1 split (curator A, walker B)" in outcome["sentence"]
    assert outcome["agreement"]["longest"] == (0.75, 0.5)
    assert "longest 75.0% → 50.0%" in outcome["sentence"]
    assert source_audit(store, source)["longest"]["agreement"] == 0.5


def test_a_named_reviewer_decides_where_they_labelled(store):
    from core.human_labels.team import set_policy

    source = _imported(store)
    set_policy(store, source, "reviewer:lead", set_by="kim")
    outcome = record_label(store, "ref/1", "lead", "A")
    assert (outcome["before"], outcome["after"], outcome["counted"]) == ("B", "A", True)
    other = record_label(store, "ref/1", "walker", "B")
    assert other["after"] == "A" and not other["counted"]


def test_a_policy_is_checked_and_needs_a_name(store):
    import pytest

    from core.audit.consensus import check_policy
    from core.human_labels.team import set_policy

    source = _imported(store)
    for bad in ("loudest", "reviewer:", "reviewer:  "):
        with pytest.raises(ValueError, match="consensus policy"):
            check_policy(bad)
    with pytest.raises(ValueError, match="who changes"):
        set_policy(store, source, "majority", set_by=" ")
    assert store.consensus_policy(source)["policy"] is None  # nothing stored by the refused calls


def test_vote_breakdowns_read_as_people_say_them():
    from core.audit.consensus import vote_breakdown

    assert vote_breakdown(["team", "kim"], ["A", "B"], policy="majority") == "TIE, 1–1 split (team A, kim B)"
    assert vote_breakdown(["a", "b", "c"], ["A", "A", "B"], policy="majority") == "A, 2–1 (a A, b A, c B)"
    assert vote_breakdown(["a", "b"], ["A", "A"], policy="majority") == "A, unanimous (a A, b A)"
    assert vote_breakdown(["team", "kim"], ["A", "B"], [True, False]) == \
        "A (team A); measured against it, not counted: kim B"
    assert vote_breakdown([], []) == ""


def test_a_store_from_before_label_origins_marks_imported_labels_once(tmp_path):
    import sqlite3

    from core.store import Store

    store = Store(tmp_path / "old.sqlite")
    _imported(store)
    store.set_human_label("ref/0", "walker", "B")
    con = sqlite3.connect(store.path)
    con.execute("ALTER TABLE human_labels DROP COLUMN origin")
    con.commit()
    con.close()
    reopened = Store(tmp_path / "old.sqlite")
    origins = dict(zip(*(reopened.human_labels_frame()[c] for c in ("annotator", "origin"))))
    assert origins == {"curator": "import", "walker": "spot-check"}
