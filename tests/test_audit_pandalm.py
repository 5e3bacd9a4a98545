"""The audit on real human labels that no one here wrote (sample_data/human/pandalm_testset_v1.jsonl)."""
from pathlib import Path

import pytest

from core.audit import audit_report, judgments_to_frame
from core.data.pairs_file import read_pairs_jsonl
from core.judges import judge_pairs, make_judge
from core.schema import to_response_pairs

PANDALM = Path(__file__).resolve().parents[1] / "sample_data" / "human" / "pandalm_testset_v1.jsonl"


@pytest.fixture(scope="module")
def longest_report():
    pairs = read_pairs_jsonl(PANDALM)
    judgments = judgments_to_frame(judge_pairs(make_judge("longest"), to_response_pairs(pairs)))
    return audit_report(pairs, judgments, n_boot=200)


def test_human_ceiling_matches_what_the_source_reports(longest_report):
    ceiling = longest_report["human_human"]
    assert ceiling["n_pairs"] == 945
    # PandaLM reports Cohen's kappa 0.85-0.88 between its three annotators
    for row in ceiling["annotator_kappas"]:
        assert 0.84 <= row["cohen_kappa"] <= 0.885
    assert 0.8 < ceiling["krippendorff_alpha"] < 0.9
    assert ceiling["human_human_agreement"] > longest_report["agreement"]


def test_longest_judge_shows_its_length_bias(longest_report):
    # sample_data/human/README.md: humans preferred the longer response in 65.6% of such pairs
    assert longest_report["human_p_longer"] == pytest.approx(0.656, abs=5e-4)
    assert longest_report["judge_p_longer"] == 1.0
    assert longest_report["verbosity"]["judge_more_length_biased"]
    assert longest_report["position_consistency"] == 1.0
    # once length is controlled, a judge that reads only length is back near a coin
    assert abs(longest_report["length_controlled"]["length_controlled"] - 0.5) < 0.05
    assert longest_report["agreement_no_ties"] == pytest.approx(longest_report["human_p_longer"])
