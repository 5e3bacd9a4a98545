import warnings

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score as sklearn_kappa

from core.audit import (
    agreement_score,
    agreement_summary,
    annotator_agreement_score,
    annotator_kappas,
    cohen_kappa_score,
    confusion_matrix,
    judge_annotator_agreement_score,
    krippendorff_alpha,
    label_codes,
)
from core.audit.agreement import joint_counts, stats_from_counts
from core.audit.bootstrap import bootstrap_counts

LABELS = np.array(["A", "B", "TIE"])


def _table(cells: dict) -> tuple[list, list]:
    """Label lists that reproduce a 2x2 table {(rater1, rater2): count} with A=yes, B=no."""
    first, second = [], []
    for (x, y), n in cells.items():
        first += [x] * n
        second += [y] * n
    return first, second


@pytest.mark.parametrize("seed", range(40))
def test_kappa_equals_scikit_learn_on_random_labels(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 300))
    human = LABELS[rng.integers(0, 3, n)]
    judge = LABELS[rng.integers(0, int(rng.integers(1, 4)), n)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = sklearn_kappa(human, judge)
    got = cohen_kappa_score(human, judge)
    assert (np.isnan(expected) and np.isnan(got)) or got == pytest.approx(expected, abs=1e-12)


def test_kappa_leaves_out_invalid_and_missing_like_scikit_learn_on_the_rest():
    rng = np.random.default_rng(1)
    human = list(LABELS[rng.integers(0, 3, 200)])
    judge = list(LABELS[rng.integers(0, 3, 200)])
    human[:10] = [None] * 10
    judge[10:25] = ["INVALID"] * 15
    keep = slice(25, None)
    assert cohen_kappa_score(human, judge) == pytest.approx(sklearn_kappa(human[keep], judge[keep]))
    assert agreement_score(human, judge) == pytest.approx(np.mean(np.array(human[keep]) == np.array(judge[keep])))


@pytest.mark.parametrize("cells, kappa", [
    # Wikipedia "Cohen's kappa", worked example: 50 grant proposals, two readers; p_o 0.70, p_e 0.50.
    ({("A", "A"): 20, ("A", "B"): 5, ("B", "A"): 10, ("B", "B"): 15}, 0.4),
    # Same article, "same percentages but different numbers": kappa 0.1304 and 0.2593.
    ({("A", "A"): 45, ("A", "B"): 15, ("B", "A"): 25, ("B", "B"): 15}, 0.1304),
    ({("A", "A"): 25, ("A", "B"): 35, ("B", "A"): 5, ("B", "B"): 35}, 0.2593),
])
def test_kappa_matches_published_worked_examples(cells, kappa):
    first, second = _table(cells)
    assert cohen_kappa_score(first, second) == pytest.approx(kappa, abs=5e-5)


def test_kappa_is_symmetric_and_invariant_to_swapping_a_and_b():
    rng = np.random.default_rng(7)
    human, judge = LABELS[rng.integers(0, 3, 500)], LABELS[rng.integers(0, 3, 500)]
    swap = {"A": "B", "B": "A", "TIE": "TIE"}
    assert cohen_kappa_score(human, judge) == pytest.approx(cohen_kappa_score(judge, human))
    swapped_h, swapped_j = [swap[x] for x in human], [swap[x] for x in judge]
    assert cohen_kappa_score(swapped_h, swapped_j) == pytest.approx(cohen_kappa_score(human, judge))
    for ties in (True, False):
        assert agreement_score(swapped_h, swapped_j, with_ties=ties) == pytest.approx(
            agreement_score(human, judge, with_ties=ties))


def test_agreement_with_and_without_ties_follow_mt_bench():
    human = ["A", "B", "TIE", "TIE", "A", None, "B", "A"]
    judge = ["A", "A", "TIE", "B", "TIE", "A", "INVALID", "B"]
    # valid pairs: 0,1,2,3,4,7 -> agree on 0 and 2
    assert agreement_score(human, judge) == pytest.approx(2 / 6)
    # no ties: pairs 0,1,7 -> agree on 0
    assert agreement_score(human, judge, with_ties=False) == pytest.approx(1 / 3)


def test_confusion_matrix_counts_and_keeps_invalid_column():
    matrix = confusion_matrix(["A", "A", "B", "TIE", None], ["A", "INVALID", "A", "TIE", "B"])
    assert list(matrix.index) == ["A", "B", "TIE"]
    assert list(matrix.columns) == ["A", "B", "TIE", "INVALID"]
    assert matrix.loc["A", "A"] == 1 and matrix.loc["A", "INVALID"] == 1
    assert matrix.loc["B", "A"] == 1 and matrix.loc["TIE", "TIE"] == 1
    assert matrix.to_numpy().sum() == 4  # the pair with no human label is left out


def test_unknown_label_raises_naming_it():
    with pytest.raises(ValueError, match="'maybe'"):
        agreement_score(["A", "maybe"], ["A", "B"])
    with pytest.raises(ValueError, match="differ in length"):
        agreement_score(["A"], ["A", "B"])


def test_bootstrap_interval_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(3)
    human = LABELS[rng.integers(0, 3, 400)]
    judge = np.where(rng.random(400) < 0.6, human, LABELS[rng.integers(0, 3, 400)])
    first = agreement_summary(human, judge, seed=5)
    assert first == agreement_summary(human, judge, seed=5)
    assert first["cohen_kappa_ci95"] != agreement_summary(human, judge, seed=6)["cohen_kappa_ci95"]
    for key in ("agreement", "agreement_no_ties", "cohen_kappa"):
        low, high = first[f"{key}_ci95"]
        assert low < first[key] < high


def test_multinomial_bootstrap_matches_an_index_matrix_bootstrap():
    rng = np.random.default_rng(11)
    human = label_codes(LABELS[rng.integers(0, 3, 300)])
    judge = label_codes(np.where(rng.random(300) < 0.5, LABELS[human], LABELS[rng.integers(0, 3, 300)]))
    fast = stats_from_counts(bootstrap_counts(joint_counts(human, judge), n_boot=4000, seed=0))["cohen_kappa"]
    index = np.random.default_rng(1).integers(0, 300, size=(4000, 300))
    slow = np.array([stats_from_counts(joint_counts(human[i], judge[i]))["cohen_kappa"] for i in index])
    assert fast.mean() == pytest.approx(slow.mean(), abs=0.005)
    assert fast.std() == pytest.approx(slow.std(), rel=0.06)


@pytest.mark.parametrize("seed", range(25))
def test_krippendorff_alpha_equals_the_krippendorff_package(seed):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(3, 80)), int(rng.integers(2, 6))
    votes = rng.integers(0, 3, (n, m)).astype(float)
    votes[rng.random((n, m)) < 0.25] = np.nan
    lists = [[None if np.isnan(v) else LABELS[int(v)] for v in row] for row in votes]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = krippendorff.alpha(reliability_data=votes.T, level_of_measurement="nominal")
    got = krippendorff_alpha(lists)
    assert (np.isnan(expected) and np.isnan(got)) or got == pytest.approx(expected, abs=1e-10)


def test_human_agreement_pools_vote_pairs_like_mt_bench():
    annotators = [["A", "A", "B"], ["TIE", "TIE"], ["B"], None]
    # pair 1: 3 vote pairs, 1 agrees; pair 2: 1 pair, agrees; the rest have fewer than two votes
    assert annotator_agreement_score(annotators) == pytest.approx(2 / 4)
    assert annotator_agreement_score(annotators, with_ties=False) == pytest.approx(1 / 3)
    # the judge against every single vote: A vs [A, A, B] -> 2/3; TIE vs [TIE, TIE] -> 2/2; A vs [B] -> 0/1
    assert judge_annotator_agreement_score(annotators, ["A", "TIE", "A", "B"]) == pytest.approx(4 / 6)
    assert judge_annotator_agreement_score(annotators, ["A", "TIE", "A", "B"], with_ties=False) == pytest.approx(2 / 4)


def test_annotator_kappas_pair_up_positions():
    rng = np.random.default_rng(2)
    votes = LABELS[rng.integers(0, 3, (60, 3))]
    table = annotator_kappas([list(row) for row in votes])
    assert list(zip(table["annotator_1"], table["annotator_2"])) == [(0, 1), (0, 2), (1, 2)]
    assert table.loc[0, "cohen_kappa"] == pytest.approx(sklearn_kappa(votes[:, 0], votes[:, 1]))
    assert isinstance(table, pd.DataFrame)
