import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss as sklearn_brier

from core.audit import (
    agreement_by,
    agreement_by_length,
    audit_frame,
    audit_report,
    brier_score_loss,
    calibration_table,
    expected_calibration_error,
    length_controlled_agreement,
    length_controlled_win_rate,
    model_family,
    p_longer,
    position_bias,
    position_consistency_score,
    self_preference,
    slot_a_rate,
    verbosity_bias,
)

LABELS = np.array(["A", "B", "TIE"])


def test_position_consistency_and_first_slot_share():
    # AB order then BA order, both as P(A better)
    p_ab = [0.9, 0.9, 0.2, 0.8, 0.5, np.nan]
    p_ba = [0.8, 0.1, 0.7, 0.3, 0.2, 0.4]
    # pair 0 consistent (A, A); 1: A first then B first -> favours first; 2: B then A -> favours second;
    # 3: favours first; 4: tie then B (B shown first) -> leans first; 5: one order only
    assert position_consistency_score(p_ab, p_ba) == pytest.approx(1 / 5)
    out = position_bias(p_ab, p_ba, n_boot=200)
    assert out["n_both_orders"] == 5 and out["n_inconsistent"] == 4
    assert out["first_slot_share"] == pytest.approx(3 / 4)
    # sided readings: 9 (pair 4's 0.5 reading chooses nothing); first-slot picks: 0:1,1:2,2:0,3:2,4:1 -> 6
    assert out["slot_first_rate"] == pytest.approx(6 / 9)
    assert out["position_bias"] == pytest.approx(6 / 9 - 0.5)
    assert position_bias([0.7, np.nan], [np.nan, 0.3]) is None


def test_slot_a_rate_for_one_order_judgments():
    out = slot_a_rate(["A"] * 70 + ["B"] * 30 + ["TIE"] * 10 + ["INVALID"] * 5)
    assert out["n"] == 100 and out["slot_a_rate"] == pytest.approx(0.7)
    low, high = out["slot_a_rate_ci95"]
    assert low < 0.7 < high and low > 0.5
    assert out["p_value"] < 0.001 and out["position_bias"] == pytest.approx(0.2)


def test_p_longer_counts_only_non_tie_verdicts_on_unequal_pairs():
    labels = ["A", "B", "TIE", "A", "A", "INVALID"]
    len_a = [10, 10, 10, 5, 7, 30]
    len_b = [5, 5, 20, 5, 9, 1]
    # pair 0: chose longer; 1: shorter; 2: tie; 3: equal lengths; 4: shorter; 5: invalid
    assert p_longer(labels, len_a, len_b) == pytest.approx(1 / 3)


def test_verbosity_bias_flags_a_length_judge_and_not_a_human_like_one():
    rng = np.random.default_rng(0)
    n = 2000
    len_a, len_b = rng.integers(50, 500, n), rng.integers(50, 500, n)
    longer = np.where(len_a > len_b, "A", "B")
    shorter = np.where(len_a > len_b, "B", "A")
    human = np.where(rng.random(n) < 0.6, longer, shorter)
    lengthy = verbosity_bias(human, longer, len_a, len_b, n_boot=300)
    assert lengthy["judge_p_longer"] == 1.0 and lengthy["human_p_longer"] == pytest.approx(0.6, abs=0.03)
    assert lengthy["judge_more_length_biased"]
    copy = verbosity_bias(human, np.where(rng.random(n) < 0.6, longer, shorter), len_a, len_b, n_boot=300)
    assert not copy["judge_more_length_biased"]
    assert copy["verbosity_bias_ci95"][0] < 0 < copy["verbosity_bias_ci95"][1]


def test_length_glm_undoes_pure_length_preference_and_leaves_a_blind_one():
    rng = np.random.default_rng(1)
    delta = rng.normal(50, 200, 3000)
    pure = np.where(delta > 0, 1.0, 0.0)
    out = length_controlled_win_rate(pure, delta)
    assert out["win_rate"] == pytest.approx((delta > 0).mean())
    assert abs(out["length_controlled"] - 0.5) < abs(out["win_rate"] - 0.5) / 3
    assert out["slope"] > 0
    blind = (rng.random(3000) < 0.7).astype(float)
    out = length_controlled_win_rate(blind, delta)
    assert out["length_controlled"] == pytest.approx(0.7, abs=0.03)
    low, high = out["length_controlled_ci95"]
    assert low < out["length_controlled"] < high
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        length_controlled_win_rate([1.5], [3.0])


def test_length_controlled_agreement_orients_by_the_human_choice():
    human = ["A", "B", "A", "B", "TIE"]
    judge = ["A", "B", "TIE", "A", "A"]
    out = length_controlled_agreement(human, judge, [10, 10, 10, 10, 10], [20, 20, 20, 20, 20])
    assert out["n"] == 4  # the human tie is left out
    assert out["win_rate"] == pytest.approx((1 + 1 + 0.5 + 0) / 4)


def test_agreement_by_length_has_an_equal_bucket_first():
    human = ["A", "B", "TIE", "A", "B", "A", "B", "A"]
    judge = ["A", "A", "TIE", "A", "B", "B", "B", "A"]
    len_a = [5, 5, 5, 10, 50, 100, 200, 400]
    len_b = [5, 5, 5, 1, 1, 1, 1, 1]
    table = agreement_by_length(human, judge, len_a, len_b, bins=2, n_boot=50)
    assert table["length_diff"].iloc[0] == "equal"
    assert table["n_pairs"].sum() == 8 and table.loc[0, "agreement"] == pytest.approx(2 / 3)


def test_self_preference_compares_judge_and_humans_on_the_same_pairs():
    model_a = ["llama-7b", "opt-7b", "llama-13b", "llama-7b", None]
    model_b = ["opt-7b", "Llama-2-7b", "pythia-6.9b", "llama-13b", "llama-7b"]
    human = ["B", "A", "TIE", "A", "B"]
    judge = ["A", "B", "A", "A", "B"]
    out = self_preference(human, judge, model_a, model_b, family="meta-llama/Llama-2-7b", n_boot=100)
    # eligible: pairs 0, 1, 2 (pair 3 is llama vs llama, pair 4 has an unknown generator)
    assert out["n_pairs"] == 3
    assert out["judge_own_win_rate"] == pytest.approx(1.0)
    assert out["human_own_win_rate"] == pytest.approx((0 + 0 + 0.5) / 3)
    assert self_preference(human, judge, model_a, model_b, family="gemma") is None
    assert model_family("SmolLM2-135M-Instruct") == "smollm" and model_family("cerebras-gpt-6.7B") == "cerebras"


def test_brier_equals_scikit_learn_and_ece_is_small_when_calibrated():
    rng = np.random.default_rng(4)
    p = rng.random(20000)
    human = np.where(rng.random(20000) < p, "A", "B")
    assert brier_score_loss(human, p) == pytest.approx(sklearn_brier((human == "A").astype(int), p))
    assert expected_calibration_error(human, p) < 0.02
    overconfident = np.where(p > 0.5, 1.0, 0.0)
    assert expected_calibration_error(human, overconfident) > 0.2


def test_calibration_leaves_out_human_ties_and_missing_soft_labels():
    human = ["A", "B", "TIE", "A", "B"]
    p_a = [0.9, 0.6, 0.5, np.nan, 0.5]
    table = calibration_table(human, p_a, n_bins=5)
    assert table["n"].sum() == 3
    # confidences 0.9 (agrees), 0.6 (wrong side), 0.5 (half credit)
    assert brier_score_loss(human, p_a) == pytest.approx((0.01 + 0.36 + 0.25) / 3)
    with pytest.raises(ValueError, match="p_a must be in"):
        brier_score_loss(["A"], [1.2])


def _frames(n=300, seed=0):
    rng = np.random.default_rng(seed)
    pairs = pd.DataFrame({
        "pair_id": [f"p{i}" for i in range(n)],
        "len_a": rng.integers(10, 400, n), "len_b": rng.integers(10, 400, n),
        "human": LABELS[rng.choice(3, n, p=[0.45, 0.45, 0.1])],
        "category": rng.choice(["math", "chat", ""], n),
        "principle": rng.choice(["helpful", "harmless"], n),
        "model_a": rng.choice(["llama-7b", "opt-7b"], n), "model_b": rng.choice(["pythia-6.9b", "llama-13b"], n),
        "annotators": [list(LABELS[rng.integers(0, 3, 3)]) for _ in range(n)],
    })
    p_ab, p_ba = rng.random(n), rng.random(n)
    p_a = (p_ab + p_ba) / 2
    judgments = pd.DataFrame({
        "pair_id": pairs["pair_id"], "judge": "toy",
        "verdict": np.where(p_a > 0.5, "A", np.where(p_a < 0.5, "B", "TIE")),
        "p_a": p_a, "p_a_ab": p_ab, "p_a_ba": p_ba,
        "consistent": np.sign(p_ab - 0.5) == np.sign(p_ba - 0.5),
    })
    judgments.loc[:4, "verdict"] = "INVALID"
    return pairs, judgments


def _swap(pairs, judgments):
    swap = {"A": "B", "B": "A", "TIE": "TIE", "INVALID": "INVALID"}
    p, j = pairs.copy(), judgments.copy()
    p["len_a"], p["len_b"] = pairs["len_b"], pairs["len_a"]
    p["model_a"], p["model_b"] = pairs["model_b"], pairs["model_a"]
    p["human"] = pairs["human"].map(swap)
    p["annotators"] = [[swap[v] for v in votes] for votes in pairs["annotators"]]
    j["verdict"] = judgments["verdict"].map(swap)
    j["p_a"] = 1 - judgments["p_a"]
    j["p_a_ab"], j["p_a_ba"] = 1 - judgments["p_a_ba"], 1 - judgments["p_a_ab"]
    return p, j


def test_swapping_a_and_b_together_with_labels_changes_nothing():
    pairs, judgments = _frames()
    before = audit_report(pairs, judgments, seed=3, n_boot=200, judge_family="llama")
    after = audit_report(*_swap(pairs, judgments), seed=3, n_boot=200, judge_family="llama")
    for key in ("agreement", "agreement_no_ties", "cohen_kappa", "judge_p_longer",
                "human_p_longer", "position_consistency", "ece"):
        assert after[key] == pytest.approx(before[key]), key
    # the resampled cells are relabelled too, so intervals agree up to resampling noise
    assert after["agreement_ci95"] == pytest.approx(before["agreement_ci95"], abs=0.03)
    assert after["confusion_matrix"]["A"]["B"] == before["confusion_matrix"]["B"]["A"]
    for key in ("first_slot_share", "slot_first_rate"):
        assert after["position"][key] == pytest.approx(before["position"][key])
    assert after["length_controlled"]["length_controlled"] == pytest.approx(
        before["length_controlled"]["length_controlled"])
    assert after["self_preference"]["self_preference_bias"] == pytest.approx(
        before["self_preference"]["self_preference_bias"])
    assert after["human_human"]["krippendorff_alpha"] == pytest.approx(before["human_human"]["krippendorff_alpha"])
    assert after["calibration"]["brier"] == pytest.approx(before["calibration"]["brier"])


def test_report_sections_and_breakdowns():
    pairs, judgments = _frames()
    report = audit_report(pairs, judgments, seed=0, n_boot=100, judge_family="llama")
    assert report["n_pairs"] == 300 and report["agreement_detail"]["n_invalid_judge"] == 5
    assert report["judge"] == "toy" and report["position"]["orders"] == "both"
    assert {row["group"] for row in report["by_category"]} == {"math", "chat", "(none)"}
    assert {row["group"] for row in report["by_principle"]} == {"helpful", "harmless"}
    assert report["human_human"]["n_pairs"] == 300
    frame = audit_frame(pairs, judgments)
    table = agreement_by(frame, "category", n_boot=50)
    assert table["n_pairs"].sum() == 300
    assert agreement_by(frame, "no_such_column") is None


def test_report_from_a_verdict_column_has_one_order_and_no_calibration():
    pairs, judgments = _frames(n=50)
    pairs = pairs.assign(verdict=judgments["verdict"].to_numpy())
    report = audit_report(pairs, n_boot=50)
    assert report["position_consistency"] is None and report["ece"] is None
    assert report["position"]["orders"] == "one"


def test_audit_frame_rejects_ambiguous_or_broken_input():
    pairs, judgments = _frames(n=20)
    two = pd.concat([judgments, judgments.assign(judge="other")])
    with pytest.raises(ValueError, match="several judges"):
        audit_frame(pairs, two)
    assert len(audit_frame(pairs, two, judge="other")) == 20
    with pytest.raises(ValueError, match="repeats pair_id"):
        audit_frame(pairs, pd.concat([judgments, judgments]))
    with pytest.raises(ValueError, match="lacks column"):
        audit_frame(pairs.drop(columns=["len_a"]), judgments)


def test_length_buckets_are_named_in_whole_characters_and_hold_what_they_say():
    from core.audit.verbosity import length_buckets

    rng = np.random.default_rng(0)
    len_a, len_b = rng.integers(5, 900, size=301), rng.integers(5, 900, size=301)
    buckets = length_buckets(len_a, len_b, bins=4)
    assert list(buckets.categories)[0] == "equal"
    diff = np.abs(len_a - len_b)
    for name in buckets.categories[1:]:
        assert re.fullmatch(r"\d+(–\d+)? chars?", name), name  # no '5-159.25 chars'
        lo, _, hi = name.removesuffix("s").removesuffix(" char").partition("–")
        inside = diff[np.asarray(buckets) == name]
        assert inside.min() >= int(lo) and inside.max() <= int(hi or lo)
    assert len(buckets.categories) == 5
    # few distinct differences: buckets may merge, each still a whole range
    assert list(length_buckets([1, 2, 3, 9], [0, 0, 0, 0], bins=4).categories) == [
        "equal", "1 char", "2 chars", "3–4 chars", "5–9 chars"]
    assert list(length_buckets([7, 7], [0, 0], bins=3).categories) == ["equal", "7 chars"]
