"""The audit as fixed-width text, for the command line: ``rlaif-audit audit`` and ``calibrate``."""
from __future__ import annotations

import math

import pandas as pd

from core.audit.calibration import CALIBRATED_ECE, UNINFORMATIVE_SHARE
from core.wording import interval, number


def _fmt(value, digits: int = 3) -> str:
    return number(value, f".{digits}f")


def _ci(bounds) -> str:
    return "" if not bounds else " " + interval(*bounds, spec=".3f", brackets=True)


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
        f"  agreement (no ties) {_fmt(report['agreement_no_ties'])}{_ci(detail.get('agreement_no_ties_ci95'))} "
        f"over {detail['n_no_ties']} pairs",
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


def format_table(table: pd.DataFrame) -> str:
    """The judge table as fixed-width text (the CLI and the benchmark print it); the name column is as
    wide as the longest judge name, so no name is cut."""
    w = max([len("judge"), len("humans"), *(len(str(j)) for j in table["judge"])])
    lines = [f"{'judge':{w}} {'pairs':>5} {'agreement [95% CI]':>22} {'P(prefer longer) [95% CI]':>27}"]
    for r in table.itertuples():
        lines.append(f"{r.judge:{w}} {r.pairs:5d} {r.agreement:7.3f} "
                     f"{interval(r.ci95_low, r.ci95_high, spec='.3f', brackets=True)}   "
                     f"{r.p_longer:7.3f} {interval(*r.p_longer_ci95, spec='.3f', brackets=True)}")
    first = table.iloc[0]
    lines.append(f"{'humans':{w}} {'':5} {'':22}   {first.human_p_longer:7.3f} "
                 f"{interval(*first.human_p_longer_ci95, spec='.3f', brackets=True)}")
    return "\n".join(lines)
