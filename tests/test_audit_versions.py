"""Two versions of a judge on the same pairs (core/audit/versions.py): paired differences against the
one-version summaries and scikit-learn, McNemar against scipy's exact binomial test, Holm's steps."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.metrics import cohen_kappa_score

from core.audit.agreement import summary_from_codes
from core.audit.frames import NONE
from core.audit.versions import (
    NOT_COUNTED,
    NOW_AGREES,
    NOW_DISAGREES,
    STILL_DISAGREES,
    UNCHANGED,
    holm,
    mcnemar_exact_p,
    paired_versions,
    verdict_changes,
)


def codes(seed: int, n: int = 300):
    rng = np.random.default_rng(seed)
    human = rng.integers(0, 3, n)
    human[rng.random(n) < 0.05] = NONE  # a few pairs nobody labelled
    base = np.where(rng.random(n) < 0.55, human, rng.integers(0, 4, n))
    other = np.where(rng.random(n) < 0.75, human, rng.integers(0, 4, n))
    return human, base, other


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_versions_numbers_are_its_own_summary_and_scikit_learns_kappa(seed):
    human, base, other = codes(seed)
    r = paired_versions(human, base, other, n_boot=300, seed=0)
    for prefix, verdict in (("base", base), ("other", other)):
        own = summary_from_codes(human, verdict, n_boot=10)
        assert r[f"{prefix}_agreement"] == pytest.approx(own["agreement"])
        valid = (human != NONE) & (verdict != NONE)
        assert r[f"{prefix}_kappa"] == pytest.approx(cohen_kappa_score(human[valid], verdict[valid]))
    assert r["agreement_difference"] == pytest.approx(r["other_agreement"] - r["base_agreement"])
    lo, hi = r["agreement_difference_ci"]
    assert lo <= r["agreement_difference"] <= hi and r["n_pairs"] == int((human != NONE).sum())


def test_the_paired_interval_is_narrower_than_the_two_intervals_side_by_side():
    human, base, _ = codes(3)
    other = base.copy()
    flip = np.flatnonzero((human != NONE) & (base != NONE) & (base != human))[:20]
    other[flip] = human[flip]  # the same verdicts except 20 pairs it now gets right
    r = paired_versions(human, base, other, n_boot=2000, seed=0)
    paired = r["agreement_difference_ci"][1] - r["agreement_difference_ci"][0]
    unpaired = (r["base_agreement_ci"][1] - r["base_agreement_ci"][0]) + (r["other_agreement_ci"][1] - r["other_agreement_ci"][0])
    assert paired < unpaired / 2 and r["agreement_difference_ci"][0] > 0
    assert (r["n_discordant_better"], r["n_discordant_worse"]) == (20, 0)


def test_swapping_the_versions_negates_the_difference_and_equal_versions_differ_by_nothing():
    human, base, other = codes(4)
    ab = paired_versions(human, base, other, n_boot=500, seed=7)
    ba = paired_versions(human, other, base, n_boot=500, seed=7)
    assert ba["agreement_difference"] == pytest.approx(-ab["agreement_difference"])
    # the same distribution of resamples (not the same draws: the cells are laid out the other way round)
    assert ba["agreement_difference_ci"] == pytest.approx([-ab["agreement_difference_ci"][1],
                                                           -ab["agreement_difference_ci"][0]], abs=0.02)
    assert ab["mcnemar_p"] == ba["mcnemar_p"]
    same = paired_versions(human, base, base, n_boot=500)
    assert same["agreement_difference_ci"] == [0.0, 0.0] and same["mcnemar_p"] == 1.0
    assert same["same_verdict_share"] == 1.0


def test_a_bonferroni_interval_is_wider():
    human, base, other = codes(5)
    plain = paired_versions(human, base, other, n_boot=2000, seed=0)
    wide = paired_versions(human, base, other, n_boot=2000, seed=0, confidence=1 - 0.05 / 4)
    assert wide["agreement_difference_ci"][0] < plain["agreement_difference_ci"][0]
    assert wide["agreement_difference_ci"][1] > plain["agreement_difference_ci"][1]


@pytest.mark.parametrize("better, worse", [(10, 2), (0, 7), (5, 5), (1, 0), (30, 14), (0, 0)])
def test_mcnemar_is_the_exact_binomial_test_of_the_discordant_pairs(better, worse):
    expected = 1.0 if better + worse == 0 else binomtest(better, better + worse, 0.5).pvalue
    assert mcnemar_exact_p(better, worse) == pytest.approx(expected)


def test_holm_steps_down_and_never_undercuts_a_raw_p_value():
    assert holm([0.01, 0.04, 0.03, 0.5]).tolist() == pytest.approx([0.04, 0.09, 0.09, 0.5])
    p = np.random.default_rng(0).random(8) / 4
    adjusted = holm(p)
    assert (adjusted >= p).all() and (adjusted <= 1).all()
    assert adjusted.min() == pytest.approx(min(1.0, 8 * p.min()))  # the smallest p gets Bonferroni's factor
    order = np.argsort(p)
    assert (np.diff(adjusted[order]) >= 0).all()  # the order of the p-values is kept
    assert holm([]).size == 0


def test_verdict_changes_name_each_kind_of_change():
    human = np.array([0, 0, 0, 1, 2, NONE, 0])
    base = np.array([1, 0, 1, 1, 0, 0, NONE])
    other = np.array([0, 1, 2, 1, 1, 1, 0])
    assert verdict_changes(human, base, other).tolist() == [NOW_AGREES, NOW_DISAGREES, STILL_DISAGREES, UNCHANGED,
                                                            STILL_DISAGREES, NOT_COUNTED, NOT_COUNTED]
    with pytest.raises(ValueError, match="differ in length"):
        verdict_changes(human, base[:3], other)
