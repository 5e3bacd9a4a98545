"""The audit: pure functions over DataFrames of judgments and human labels.

Entry points: ``audit_report(pairs_df, judgments_df, seed=0, n_boot=1000)`` for one judge and
``audit_source(SourceData)`` for every judge of a source; ``consensus`` holds the one rule that
turns votes into a human label. Nothing here reads a file or the store. Each section is
also a function of its own, over label sequences like scikit-learn's metrics.
"""
from core.audit.agreement import agreement_score, agreement_summary, cohen_kappa_score, confusion_matrix
from core.audit.breakdown import agreement_by
from core.audit.calibration import brier_score_loss, calibration_summary, calibration_table, expected_calibration_error
from core.audit.consensus import CONSENSUS_RULE, consensus_of, human_consensus
from core.audit.frames import audit_frame, judgments_to_frame, label_codes
from core.audit.human import (
    annotator_agreement_score,
    annotator_kappas,
    human_ceiling,
    judge_annotator_agreement_score,
    krippendorff_alpha,
)
from core.audit.length_glm import length_controlled_win_rate
from core.audit.position import position_bias, position_consistency_score, slot_a_rate
from core.audit.report import SourceData, audit_report, audit_source, to_json_ready
from core.audit.self_preference import model_family, self_preference
from core.audit.spot_check_design import allocate, estimate_agreement, plan_spot_checks, spot_check_strata
from core.audit.verbosity import (
    agreement_by_length,
    length_buckets,
    length_controlled_agreement,
    p_longer,
    verbosity_bias,
)

__all__ = [
    "CONSENSUS_RULE", "SourceData", "audit_source", "consensus_of", "human_consensus",
    "agreement_by", "agreement_by_length", "agreement_score", "agreement_summary", "allocate",
    "annotator_agreement_score", "annotator_kappas", "audit_frame", "audit_report", "brier_score_loss",
    "calibration_summary", "calibration_table", "cohen_kappa_score", "confusion_matrix", "estimate_agreement",
    "expected_calibration_error", "human_ceiling", "judge_annotator_agreement_score",
    "judgments_to_frame", "krippendorff_alpha", "label_codes", "length_buckets", "length_controlled_agreement",
    "length_controlled_win_rate", "model_family", "p_longer", "plan_spot_checks", "position_bias",
    "position_consistency_score", "self_preference", "slot_a_rate", "spot_check_strata", "to_json_ready",
    "verbosity_bias",
]
