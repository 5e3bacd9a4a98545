"""The whole audit of one judge against human labels, as one JSON-ready dict."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core.audit.agreement import joint_counts, summary_from_codes
from core.audit.breakdown import breakdown_from_codes
from core.audit.calibration import CALIBRATED_ECE, UNINFORMATIVE_SHARE, calibration_from_codes
from core.audit.frames import LABELS, audit_frame, label_codes
from core.audit.human import human_ceiling
from core.audit.position import position_bias, slot_a_rate
from core.audit.self_preference import self_preference_from_codes
from core.audit.verbosity import agreement_by_length_from_codes, length_controlled_from_codes, verbosity_from_codes
from core.audit.yardstick import length_yardsticks_from_codes


def _records(table: pd.DataFrame | None) -> list[dict] | None:
    return None if table is None else table.to_dict(orient="records")


def _position(frame: pd.DataFrame, n_boot: int, seed) -> dict:
    both = position_bias(frame["p_a_ab"], frame["p_a_ba"], n_boot=n_boot, seed=seed)
    if both is not None:
        return {"orders": "both", **both}
    return {"orders": "one", **slot_a_rate(frame["verdict"])}


def _self_preference(frame, human, judge, family, n_boot, seed) -> dict | None:
    if not family or "model_a" not in frame.columns or "model_b" not in frame.columns:
        return None
    return self_preference_from_codes(human, judge, frame["model_a"], frame["model_b"], family=family,
                                      n_boot=n_boot, seed=seed)


def _human_ceiling(frame: pd.DataFrame) -> dict | None:
    if "annotators" not in frame.columns:
        return None
    # only pairs with two or more votes enter the ceiling: skip the rest before building vote matrices
    if "n_annotators" in frame.columns:
        multi = (frame["n_annotators"].to_numpy() >= 2) & frame["annotators"].notna().to_numpy()
    else:
        multi = frame["annotators"].map(lambda v: isinstance(v, (list, tuple)) and len(v) >= 2).to_numpy(dtype=bool)
    if not multi.any():
        return None
    return human_ceiling(frame.loc[multi, "annotators"].tolist(), frame.loc[multi, "verdict"])


def audit_report(pairs: pd.DataFrame, judgments: pd.DataFrame | None = None, *, judge: str | None = None,
                 seed: int = 0, n_boot: int = 1000, judge_family: str | None = None,
                 length_bins: int = 4, calibration_bins: int = 10) -> dict:
    """Audit one judge's verdicts against the human labels of the same pairs.

    ``pairs`` is a pairs frame; ``judgments`` a judgments frame (or None when ``pairs``
    carries a ``verdict`` column); ``judge`` picks one judge from a frame of several;
    ``judge_family`` (a model family or name) turns on the self-preference section where the
    pairs have ``model_a``/``model_b``. Every interval is a seeded bootstrap of ``n_boot``
    resamples (Wilson or Wald where noted in the section's function).

    Flat keys: n_pairs, agreement, agreement_ci95, agreement_no_ties, cohen_kappa,
    judge_p_longer, human_p_longer, position_consistency (None with one order), ece (None
    without soft labels), and more; nested sections: agreement_detail, confusion_matrix,
    verbosity, length_controlled, agreement_by_length, length_yardsticks (the judge against picking
    the longer / shorter answer on the same pairs), position, calibration, human_human,
    self_preference, by_category, by_principle. Values are plain Python (NaN for undefined);
    ``to_json_ready`` turns NaN into None.
    """
    frame = audit_frame(pairs, judgments, judge=judge)
    human = label_codes(frame["human"], name="human")
    verdict = label_codes(frame["verdict"], name="verdict")
    agreement = summary_from_codes(human, verdict, n_boot=n_boot, seed=seed)
    verbosity = verbosity_from_codes(human, verdict, frame["len_a"], frame["len_b"], n_boot=n_boot, seed=seed)
    position = _position(frame, n_boot, seed)
    calibration = calibration_from_codes(human, frame["p_a"], n_bins=calibration_bins)
    counts = joint_counts(human, verdict)[:3]
    return {
        "n_pairs": agreement["n_pairs"],
        "judge": _judge_name(frame, judgments, judge),
        "agreement": agreement["agreement"],
        "agreement_ci95": agreement["agreement_ci95"],
        "agreement_no_ties": agreement["agreement_no_ties"],
        "cohen_kappa": agreement["cohen_kappa"],
        "judge_p_longer": verbosity["judge_p_longer"],
        "human_p_longer": verbosity["human_p_longer"],
        "verbosity_bias": verbosity["verbosity_bias"],
        "position_consistency": position.get("position_consistency"),
        "ece": None if calibration is None else calibration["ece"],
        "agreement_detail": agreement,
        "confusion_matrix": {h: dict(zip([*LABELS, "INVALID"], map(int, row))) for h, row in zip(LABELS, counts)},
        "verbosity": verbosity,
        "length_controlled": length_controlled_from_codes(human, verdict, frame["len_a"], frame["len_b"]),
        "agreement_by_length": _records(agreement_by_length_from_codes(
            human, verdict, frame["len_a"], frame["len_b"], bins=length_bins, n_boot=n_boot, seed=seed)),
        "length_yardsticks": length_yardsticks_from_codes(human, verdict, frame["len_a"], frame["len_b"],
                                                          n_boot=n_boot, seed=seed),
        "position": position,
        "calibration": calibration,
        "human_human": _human_ceiling(frame),
        "self_preference": _self_preference(frame, human, verdict, judge_family, n_boot, seed),
        "by_category": _records(_breakdown(frame, "category", human, verdict, n_boot, seed)),
        "by_principle": _records(_breakdown(frame, "principle", human, verdict, n_boot, seed)),
        "seed": seed,
        "n_boot": n_boot,
    }


def _breakdown(frame, column, human, verdict, n_boot, seed):
    if column not in frame.columns:
        return None
    return breakdown_from_codes(frame[column], human, verdict, frame["len_a"], frame["len_b"],
                                n_boot=n_boot, seed=seed)


def _judge_name(frame: pd.DataFrame, judgments: pd.DataFrame | None, judge: str | None) -> str | None:
    if judge is not None:
        return judge
    if judgments is not None and "judge" in judgments.columns and judgments["judge"].nunique() == 1:
        return str(judgments["judge"].iloc[0])
    return None


def to_json_ready(value):
    """The report with NaN/inf as None and numpy scalars as Python numbers, for ``json.dump``."""
    if isinstance(value, dict):
        return {str(k): to_json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _ci(interval) -> str:
    return "" if not interval else f" [{_fmt(interval[0])}, {_fmt(interval[1])}]"


def _reaches(interval, value: float) -> bool:
    """True when the interval's lower end is at or below ``value`` (False where undefined)."""
    return bool(interval) and interval[0] is not None and math.isfinite(interval[0]) and interval[0] <= value


def _chance_mark(kappa_ci) -> str:
    """A pointer when κ's interval reaches 0: no better (or, wholly below 0, worse) than chance."""
    if not _reaches(kappa_ci, 0.0):
        return ""
    below = kappa_ci[1] is not None and math.isfinite(kappa_ci[1]) and kappa_ci[1] < 0
    return "   <- worse than chance" if below else "   <- no better than chance"


def _yardstick_lines(yardsticks: dict) -> list[str]:
    """One line per length yardstick: its agreement and the judge's paired difference from it."""
    lines = []
    for name, y in yardsticks.items():
        diff_ci = y["difference_ci95"]
        verdict = ("beats it" if diff_ci[0] is not None and diff_ci[0] > 0 else
                   "worse" if diff_ci[1] is not None and diff_ci[1] < 0 else "no better")
        lines.append(f"  vs {name + ' rule':<16} {_fmt(y['agreement'])}{_ci(y['agreement_ci95'])}, judge minus rule "
                     f"{_fmt(y['difference'])}{_ci(diff_ci)}   <- {verdict}; same verdict on "
                     f"{_fmt(y['same_verdict_share'])}")
    return lines


def format_report(report: dict) -> str:
    """A short plain-text summary of ``audit_report``'s result."""
    detail, lean, position = report["agreement_detail"], report["verbosity"], report["position"]
    lines = [
        f"judge {report.get('judge') or '?'} on {report['n_pairs']} pairs "
        f"({detail['n_valid']} with both labels valid, {detail['n_invalid_judge']} invalid verdicts)",
        f"  agreement           {_fmt(report['agreement'])}{_ci(report['agreement_ci95'])}",
        f"  agreement (no ties) {_fmt(report['agreement_no_ties'])} over {detail['n_no_ties']} pairs",
        f"  Cohen's kappa       {_fmt(report['cohen_kappa'])}{_ci(detail['cohen_kappa_ci95'])}"
        + _chance_mark(detail["cohen_kappa_ci95"]),
        f"  P(longer) judge     {_fmt(lean['judge_p_longer'])}   humans {_fmt(lean['human_p_longer'])}   "
        f"difference {_fmt(lean['verbosity_bias'])}{_ci(lean['verbosity_bias_ci95'])}"
        + ("   <- judge more length-biased than people" if lean["judge_more_length_biased"] else ""),
        f"  length-controlled   {_fmt(report['length_controlled']['length_controlled'])}"
        f"{_ci(report['length_controlled']['length_controlled_ci95'])} "
        f"(raw {_fmt(report['length_controlled']['win_rate'])})",
    ]
    if position["orders"] == "both":
        lines.append(f"  position            consistent {_fmt(position['position_consistency'])}, "
                     f"first slot wins {_fmt(position['first_slot_share'])} "
                     f"of {position['n_inconsistent']} inconsistent")
    else:
        lines.append(f"  position            slot A picked {_fmt(position['slot_a_rate'])}"
                     f"{_ci(position['slot_a_rate_ci95'])} (one order judged)")
    lines += _yardstick_lines(report.get("length_yardsticks") or {})
    if report["calibration"] is not None:
        cal = report["calibration"]
        decisive = cal.get("decisive_share")
        guessing = decisive is not None and decisive < UNINFORMATIVE_SHARE
        lines.append(f"  calibration         ECE {_fmt(report['ece'])}, Brier {_fmt(cal['brier'])}, "
                     f"outside 45-55% on {_fmt(decisive)} of pairs"
                     + ("   <- calibrated but uninformative" if guessing and report["ece"] <= CALIBRATED_ECE
                        else "   <- its confidence says little: it is nearly always 45-55%" if guessing else ""))
    ceiling = report.get("human_human")
    if ceiling is not None:
        lines.append(f"  human-human         agreement {_fmt(ceiling['human_human_agreement'])}, "
                     f"Krippendorff's alpha {_fmt(ceiling['krippendorff_alpha'])} over {ceiling['n_pairs']} pairs; "
                     f"judge vs single votes {_fmt(ceiling.get('judge_annotator_agreement'))}")
    if report.get("self_preference") is not None:
        own = report["self_preference"]
        lines.append(f"  self-preference     {own['family']}: judge {_fmt(own['judge_own_win_rate'])} vs "
                     f"humans {_fmt(own['human_own_win_rate'])}{_ci(own['self_preference_bias_ci95'])}")
    return "\n".join(lines)
