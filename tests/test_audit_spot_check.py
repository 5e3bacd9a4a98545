import numpy as np
import pandas as pd
import pytest

from core.audit import allocate, estimate_agreement, plan_spot_checks, spot_check_strata


def _population(n=600, seed=0):
    rng = np.random.default_rng(seed)
    p_a = rng.random(n)
    frame = pd.DataFrame({
        "pair_id": [f"p{i}" for i in range(n)],
        "verdict": np.where(p_a > 0.5, "A", "B"), "p_a": p_a,
        "consistent": rng.random(n) < 0.7,
        "len_a": rng.integers(1, 500, n), "len_b": rng.integers(1, 500, n),
    })
    frame.loc[:9, "verdict"] = "INVALID"
    # the judge agrees more often where it is sure
    agree = pd.Series((rng.random(n) < 0.5 + np.abs(p_a - 0.5)).astype(float), index=frame["pair_id"])
    return frame, agree


def _label(draws, agree):
    return draws.assign(agree=agree.loc[draws["pair_id"]].to_numpy())


def test_strata_come_from_uncertainty_consistency_and_length():
    frame, _ = _population()
    strata = spot_check_strata(frame)
    assert len(strata) == 590  # INVALID verdicts are not spot-checked
    assert strata.index.is_unique
    assert any("inconsistent" in s for s in strata.unique())
    assert all(s == "small" or s.count("|") == 2 for s in strata.unique())


def test_allocate_respects_minimum_caps_and_total():
    alloc = allocate([100, 50, 3, 1000], [0.0, 50.0, 3.0, 100.0], 60, minimum=2)
    assert alloc.sum() == 60 and alloc[0] == 2 and alloc[2] <= 3
    assert allocate([5, 5], [1, 1], 10).tolist() == [5, 5]
    with pytest.raises(ValueError, match="n=3"):
        allocate([10, 10], [1, 1], 3, minimum=2)


def test_plan_is_seeded_and_later_batches_draw_only_new_pairs():
    frame, agree = _population()
    strata = spot_check_strata(frame)
    first = plan_spot_checks(strata, 60, seed=1)
    assert first.equals(plan_spot_checks(strata, 60, seed=1))
    assert first["pair_id"].is_unique and len(first) == 60 and (first["batch"] == 0).all()
    assert set(first["stratum"]) == set(strata)  # every stratum in every batch
    history = _label(first, agree)
    second = plan_spot_checks(strata, 100, history=history, seed=2)
    assert (second["batch"] == 1).all()
    assert not second["pair_id"].isin(history["pair_id"]).any()
    with pytest.raises(ValueError, match="drawn twice"):
        estimate_agreement(pd.concat([history, history]), strata)


def test_census_gives_the_exact_agreement_with_no_width():
    frame, agree = _population(n=120)
    strata = spot_check_strata(frame, min_size=5)
    first = _label(plan_spot_checks(strata, 40, seed=0), agree)
    rest = _label(plan_spot_checks(strata, len(strata) - 40, history=first, seed=1), agree)
    out = estimate_agreement(pd.concat([first, rest]), strata)
    assert out["estimate"] == pytest.approx(agree.loc[strata.index].mean())
    assert out["ci"][0] == pytest.approx(out["estimate"]) and out["ci"][1] == pytest.approx(out["estimate"])


def test_two_batch_active_estimate_is_unbiased_and_covers():
    frame, agree = _population()
    strata = spot_check_strata(frame)
    truth = agree.loc[strata.index].mean()
    estimates, covered = [], 0
    for rep in range(100):
        first = _label(plan_spot_checks(strata, 50, seed=rep), agree)
        second = _label(plan_spot_checks(strata, 100, history=first, seed=10_000 + rep), agree)
        out = estimate_agreement(pd.concat([first, second]), strata)
        estimates.append(out["estimate"])
        covered += out["ci"][0] <= truth <= out["ci"][1]
    assert np.mean(estimates) == pytest.approx(truth, abs=3 * np.std(estimates) / np.sqrt(100))
    assert covered >= 88


def test_estimate_needs_labels():
    frame, _ = _population()
    strata = spot_check_strata(frame)
    with pytest.raises(ValueError, match="agree"):
        estimate_agreement(plan_spot_checks(strata, 50), strata)
