"""The audit's findings as sentences a stakeholder can read without the charts.

Each claim is made only when its 95% interval supports it (``findings``): the Agreement page and
the HTML report show the same sentences.
"""
from __future__ import annotations

import json

from core.audit.calibration import CALIBRATED_ECE, UNINFORMATIVE_SHARE  # the bars a finding must clear
from core.audit.yardstick import LENGTH_YARDSTICKS
from core.judges.baselines import YARDSTICKS
from core.judges.identity import display_names, readable
from core.wording import interval, number, pct
from core.wording import missing as _nan


def findings(report: dict, *, baselines: dict[str, dict] | None = None) -> list[str]:
    """The report's findings as sentences a stakeholder can read without the charts.

    Each claim is made only when its 95% interval supports it: a judge whose κ interval
    includes 0 is "no better than chance", one whose agreement is not above the length
    yardstick's on the same pairs is "no better than picking the longer answer", and a judge
    whose confidence never leaves 45-55% is "calibrated but uninformative".
    """
    out = [_agreement_sentence(report), _position_sentence(report), _verbosity_sentence(report)]
    yardsticks = report.get("length_yardsticks") or {}
    out += [_length_yardstick_sentence(name, y) for name, y in yardsticks.items() if name != report.get("judge")]
    named = [*(baselines or {}), *([report["judge"]] if report.get("judge") else [])]
    shown = display_names(list(dict.fromkeys(named)))
    for name, base in (baselines or {}).items():
        if name != report.get("judge") and name not in yardsticks and base.get("agreement") is not None:
            kind = "yardstick" if name in YARDSTICKS else "judge"
            out.append(_baseline_sentence(report, shown[name], base, kind))
    out.append(_calibration_sentence(report))
    return [s for s in out if s]


def bias_findings(report: dict) -> list[str]:
    """The position and length sentences of ``findings``: the faults a constitution edit can aim at."""
    return [s for s in (_position_sentence(report), _verbosity_sentence(report)) if s]


def _interval(r: dict, key: str) -> tuple[float, float] | None:
    """The 95% interval of ``key`` (flat or in ``agreement_detail``), None where undefined."""
    ci = r.get(f"{key}_ci95") or (r.get("agreement_detail") or {}).get(f"{key}_ci95")
    if not ci or _nan(ci[0]) or _nan(ci[1]):
        return None
    return float(ci[0]), float(ci[1])


def at_chance(report: dict) -> bool:
    """True when Cohen's κ's 95% interval reaches 0 or below: the judge agrees with people no more
    often than a judge guessing with the same label frequencies would. It includes the judge that
    is worse than chance (``worse_than_chance``): callers that word the reading ask that first."""
    ci = _interval(report, "cohen_kappa")
    kappa = report.get("cohen_kappa")
    return ci[0] <= 0 if ci is not None else _nan(kappa) or kappa <= 0


def worse_than_chance(report: dict) -> bool:
    """True when Cohen's κ's whole 95% interval is below 0: the judge disagrees with people more than
    guessing would. Its verdicts carry information, inverted (its B is people's A more often than not)."""
    ci = _interval(report, "cohen_kappa")
    return ci is not None and ci[1] < 0


def _agreement_sentence(r: dict) -> str:
    lo, hi = r["agreement_ci95"]
    kappa, ci = r["cohen_kappa"], _interval(r, "cohen_kappa")
    kappa_ci = "" if ci is None else ", " + interval(*ci, spec=".2f", joiner=" to ")
    if ci is not None and ci[1] < 0:
        words = "worse than chance: it disagrees with people more than guessing would"
    elif at_chance(r):
        words = ("no better than chance: the interval includes 0, so a judge guessing with the same label "
                 "frequencies would agree about as often")
    else:
        words = _kappa_words(kappa)
    no_ties, coin = r["agreement_no_ties"], _interval(r, "agreement_no_ties")
    coin_words = ""
    if coin is not None and coin[0] <= 0.5 and not at_chance(r):  # κ clears 0 on the ties alone
        coin_words = (", worse than a coin (its 95% CI is below 50%)" if coin[1] < 0.5
                      else ", no better than a coin (its 95% CI includes 50%)")
    return (f"Agreement with humans: {r['agreement']:.0%} of {r['n_pairs']} pairs ({interval(lo, hi)}), "
            f"{pct(no_ties)}{'' if coin is None else f' ({interval(*coin)})'} when ties are left out{coin_words}; "
            f"Cohen's κ = {number(kappa)}{kappa_ci} ({words}).")


def _position_sentence(r: dict) -> str:
    consistency = r.get("position_consistency")
    if consistency is None or _nan(consistency):
        return ""
    pos = r["position"]
    first, ci = pos.get("first_slot_share"), _interval(pos, "first_slot_share")
    tail = ""
    if first is not None and not _nan(first):
        lean = "" if ci is None else (f" ({interval(*ci)}"
                                      + (", no clear lean to either slot)" if ci[0] <= 0.5 <= ci[1] else ")"))
        tail = f"; when it flipped, it sided with whichever answer was shown first {first:.0%} of the time{lean}"
    verdict = ""
    if (ci is not None and not ci[0] <= 0.5 <= ci[1] and abs(first - 0.5) >= 0.2 and consistency < 0.8):
        verdict = f" This is a strong position bias toward the {'first' if first > 0.5 else 'second'} slot."
    elif consistency < 0.5:
        verdict = " Its verdicts depend on the order of presentation more often than not."
    return (f"Position: it gave the same verdict in both presentation orders on {consistency:.0%} of "
            f"pairs{tail}.{verdict}")


def _verbosity_sentence(r: dict) -> str:
    judge, human = r.get("judge_p_longer"), r.get("human_p_longer")
    if judge is None or human is None or _nan(judge) or _nan(human):
        return ""
    v = r["verbosity"]
    ci = _interval(v, "verbosity_bias")
    gap = "" if ci is None else (f" (difference {100 * v['verbosity_bias']:+.0f} points, "
                                 f"{interval(*ci, spec='+.0f', scale=100)})")
    if v.get("judge_more_length_biased"):
        words = (f"It is MORE length-biased than the people who labelled the same pairs, beyond the margin of "
                 f"error{gap}: a reward model trained on its labels is likely to reward length, not quality.")
    elif ci is not None and ci[1] < 0:
        words = f"It prefers the longer answer LESS often than the people did, beyond the margin of error{gap}."
    else:
        words = f"Its length preference is within the margin of error of the humans'{gap}."
    return f"Length: it preferred the longer answer {judge:.0%} of the time, humans {human:.0%}. {words}"


def _length_yardstick_sentence(name: str, y: dict) -> str:
    """The judge against picking the longer (shorter) answer on its own pairs, paired."""
    ci, agree = _interval(y, "difference"), _interval(y, "agreement")
    if ci is None or agree is None or _nan(y.get("agreement")):
        return ""
    rule = f"picking the {LENGTH_YARDSTICKS[name]} answer"
    if ci[0] > 0:
        verdict = f"it beats {rule}"
    elif ci[1] < 0:
        verdict = f"it is worse than {rule}"
    else:
        verdict = f"it is no better than {rule}"
    same = y.get("same_verdict_share")
    follows = ("" if same is None or _nan(same) or same < 0.9 else
               f"; its verdict is the same as that rule's on {same:.0%} of pairs")
    return (f"Against the '{name}' yardstick ({rule} agrees with people on {y['agreement']:.0%} of the same "
            f"{y['n_pairs']} pairs, {interval(*agree)}): this judge's agreement differs by "
            f"{100 * y['difference']:+.0f} points ({interval(*ci, spec='+.0f', scale=100, label='paired 95% CI')}), so "
            f"{verdict}{follows}.")


def _baseline_sentence(r: dict, name: str, base: dict, kind: str) -> str:
    """Another judge's agreement beside this one's; "beats" only when the 95% intervals are apart."""
    mine, theirs = _interval(r, "agreement"), _interval(base, "agreement")
    if mine is not None and theirs is not None and mine[0] > theirs[1]:
        verb = "beats it (the two 95% CIs do not overlap)"
        if at_chance(r) and at_chance(base):
            inverted = [who for who, rep in (("this judge", r), (f"'{name}'", base)) if worse_than_chance(rep)]
            verb += (", though by Cohen's κ neither is better than chance"
                     + (f" ({' and '.join(inverted)} worse than chance: inverted)" if inverted else "")
                     + ", so the gap is not skill")
    elif mine is not None and theirs is not None and mine[1] < theirs[0]:
        verb = "is worse than it (the two 95% CIs do not overlap)"
    else:
        verb = "is not shown to be better or worse: the two 95% CIs overlap"
    return f"Against the '{name}' {kind} ({base['agreement']:.0%} agreement) this judge {verb}."


def _calibration_sentence(r: dict) -> str:
    ece = r.get("ece")
    if _nan(ece):
        return ""
    decisive = (r.get("calibration") or {}).get("decisive_share")
    reasons = []
    if decisive is not None and not _nan(decisive) and decisive < UNINFORMATIVE_SHARE:
        reasons.append(f"its confidence left 45–55% on only {decisive:.0%} of pairs")
    inverted = worse_than_chance(r)
    if inverted:
        reasons.append("its verdicts are worse than chance (κ's 95% interval is wholly below 0)")
    elif at_chance(r):
        reasons.append("its verdicts are no better than chance (κ's 95% interval includes 0)")
    if not reasons:
        sure = "" if decisive is None or _nan(decisive) else (
            f"; it was more than 55% sure either way on {decisive:.0%} of pairs")
        return (f"Calibration: its stated confidence is off by {ece:.0%} on average (ECE){sure}. 0% would mean "
                "that when it says it is 80% sure, it agrees with people 80% of the time.")
    why = " and ".join(reasons)
    if inverted:
        return (f"Calibration: its stated confidence is off by {ece:.0%} on average (ECE), and {why}. Its verdicts "
                "are informative but inverted: its confidence points the wrong way, not nowhere.")
    if ece <= CALIBRATED_ECE:
        return (f"Calibration: ECE {ece:.0%}: calibrated but uninformative, as {why}. A low ECE here only "
                "says it knows it is guessing, not that its confidence sorts good verdicts from bad.")
    return (f"Calibration: its stated confidence is off by {ece:.0%} on average (ECE), and {why}: its "
            "confidence carries no usable information.")


def _kappa_words(k: float) -> str:
    if _nan(k):
        return "undefined"
    for limit, words in ((0.0, "no better than chance"), (0.2, "slight"), (0.4, "fair"), (0.6, "moderate"),
                         (0.8, "substantial")):
        if k <= limit:
            return words
    return "almost perfect"


def stored_fitted_on(store, judge: str) -> tuple[str, ...]:
    """The sources a calibrated judge was fitted on, from its stored definition (``fitted_on``, written
    by ``core/judges/identity.py``); empty for any other judge, and for its out-of-fold ('-cv') row,
    whose verdicts exist only on the pairs it was fitted on."""
    rows = store.judge_definitions([judge])
    if rows.empty:
        return ()
    definition = json.loads(rows["definition"].iloc[0])
    return () if "out_of_fold" in definition else tuple(definition.get("fitted_on") or ())


def fitted_on_sentence(judge: str, fitted_on, source: str) -> str:
    """What a calibrated judge was fitted on, and what its cross-validated figure covers, for an audit
    of its verdicts on ``source``; empty when ``fitted_on`` is (not a calibrated judge)."""
    if not fitted_on:
        return ""
    name, where = readable(judge), ", ".join(fitted_on)
    if source in fitted_on:
        return (f"'{name}' was fitted on people's labels of {where}, these pairs among them: its agreement here is "
                f"in-sample and flatters it. Its cross-validated row ('{name}-cv', stored by `calibrate`) is the "
                "figure to quote.")
    return (f"'{name}' was fitted on people's labels of {where}, not on {source}: its cross-validated agreement "
            f"holds for {where} only. Here it is applied to a source it was not fitted on, where people may prefer "
            "other things (longer answers where they preferred shorter ones, say), so this audit, not the "
            "cross-validated figure, is its measure here.")


def source_findings(store, reports: dict[str, dict], focus: str, source: str) -> list[str]:
    """``findings`` of judge ``focus`` on ``source``, and for a calibrated judge what it was fitted on
    (``fitted_on_sentence``): the Agreement and Report pages show these."""
    note = fitted_on_sentence(focus, stored_fitted_on(store, focus), source)
    return findings(reports[focus], baselines=reports) + ([note] if note else [])
