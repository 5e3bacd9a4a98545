"""The audit of the judges on one pair source in the store, and its findings in plain words.

A source is ``dataset:<name>`` (imported pairs) or ``run:<id>`` (pairs a run generated).
When several people labelled a pair, the human label is the majority (a split vote is a
tie); every individual vote is kept for the human-human ceiling.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.audit.calibration import CALIBRATED_ECE, UNINFORMATIVE_SHARE  # the bars a finding must clear
from core.store import Store


def human_consensus(labels: pd.DataFrame) -> pd.DataFrame:
    """One row per pair: majority label ('A'/'B'/'TIE'), annotator count, and the votes.

    Vectorised (counting per pair), because a store can hold 100,000 labelled pairs.
    """
    if labels.empty:
        return pd.DataFrame(columns=["pair_id", "human", "n_annotators", "annotators"])
    pair, ids = pd.factorize(labels["pair_id"], sort=True)
    code = labels["label"].map({"A": 0, "B": 1, "TIE": 2}).to_numpy()
    counts = np.bincount(pair * 3 + code, minlength=3 * len(ids)).reshape(-1, 3)
    top = counts.max(axis=1, keepdims=True)
    split = (counts == top).sum(axis=1) > 1
    human = np.where(split, "TIE", np.array(["A", "B", "TIE"])[counts.argmax(axis=1)])
    n = counts.sum(axis=1)
    votes = np.full(len(ids), None, dtype=object)
    multi = n >= 2
    if multi.any():  # the vote lists matter only where several people labelled
        keep = multi[pair]
        grouped = pd.Series(labels["label"].to_numpy()[keep]).groupby(pair[keep]).agg(list)
        votes[grouped.index.to_numpy()] = grouped.to_numpy()
    for i in np.flatnonzero(~multi):
        votes[i] = [human[i]]
    return pd.DataFrame({"pair_id": ids, "human": human, "n_annotators": n, "annotators": votes})


@dataclass(frozen=True)
class SourceData:
    """What the audit of one source reads from the store (``read_source``), ready to compute on.

    ``pairs``: one row per pair of the source, texts left out, with the human majority
    (``human``, None where nobody labelled it), ``n_annotators`` and, where several people
    labelled it, their votes (``annotators``). ``verdicts``: per judge, numpy arrays aligned
    with ``pairs`` (``Store.audit_snapshot``): ``code`` (-1 where not judged), p_a, p_a_ab,
    p_a_ba, consistent.
    """
    pairs: pd.DataFrame
    verdicts: dict[str, dict[str, np.ndarray]]


_LABEL_OF_CODE = np.array(["A", "B", "TIE", "INVALID"], dtype=object)


def aligned_consensus(n_pairs: int, position: np.ndarray, code: np.ndarray) -> pd.DataFrame:
    """``human_consensus`` of votes given as (pair position, code 0 A / 1 B / 2 TIE), one row per
    pair 0..n_pairs-1: human (None where unlabelled), n_annotators, annotators (the votes, oldest
    first, where two or more people labelled the pair; else None). Votes at position -1 (pairs
    not in the list) are left out."""
    position, code = np.asarray(position, dtype=np.int64), np.asarray(code, dtype=np.int64)
    known = position >= 0
    position, code = position[known], code[known]
    counts = np.bincount(position * 3 + code, minlength=3 * n_pairs).reshape(n_pairs, 3)
    total = counts.sum(axis=1)
    split = (counts == counts.max(axis=1, keepdims=True)).sum(axis=1) > 1
    human = np.where(split, 2, counts.argmax(axis=1))
    human = np.where(total > 0, _LABEL_OF_CODE[human], None)
    annotators = np.full(n_pairs, None, dtype=object)
    multi = total >= 2
    if multi.any():  # vote lists matter only where several people labelled (the human-human ceiling)
        keep = multi[position]
        grouped = pd.Series(_LABEL_OF_CODE[code[keep]]).groupby(position[keep]).agg(list)
        annotators[grouped.index.to_numpy()] = grouped.to_numpy()
    return pd.DataFrame({"human": pd.array(human, dtype=object), "n_annotators": total,
                         "annotators": pd.array(annotators, dtype=object)})


def read_judged(store: Store, source: str) -> dict:
    """The pairs and verdicts of one source (``Store.audit_snapshot``): what changes when a run
    judges, not when a person labels. The dashboard caches it apart from the labels."""
    return store.audit_snapshot(source)


def with_labels(judged: dict, votes: dict[str, np.ndarray]) -> SourceData:
    """``read_judged``'s result with the human votes (``Store.source_vote_codes``) folded in.
    Votes on pairs added since ``judged`` was read are left out."""
    from core.store.snapshot import rowid_positions

    pairs = judged["pairs"]
    consensus = aligned_consensus(len(pairs), rowid_positions(judged["rowid"], votes["rowid"]), votes["code"])
    pairs = pd.concat([pairs, consensus], axis=1)
    if not pairs["annotators"].notna().any():
        pairs = pairs.drop(columns=["annotators"])
    if (pairs["category"].fillna("") == "").all():
        pairs = pairs.drop(columns=["category"])
    return SourceData(pairs, judged["verdicts"])


def read_source(store: Store, source: str) -> SourceData:
    """Read what ``audit_source`` needs for one source: the I/O half of ``source_audit``."""
    return with_labels(read_judged(store, source), store.source_vote_codes(source))


def audit_source(data: SourceData, *, judges: list[str] | None = None, n_boot: int = 1000,
                 seed: int = 0) -> dict[str, dict]:
    """Audit report per judge over the pairs of ``data`` that have a human label: the compute half."""
    from core.audit import audit_report, to_json_ready

    labelled = data.pairs["human"].notna().to_numpy()
    reports = {}
    for name in judges if judges is not None else sorted(data.verdicts):
        columns = data.verdicts.get(name)
        keep = None if columns is None else labelled & (columns["code"] >= 0)
        if keep is None or not keep.any():
            continue
        consistent = columns["consistent"][keep]
        subset = data.pairs[keep].assign(
            verdict=_LABEL_OF_CODE[columns["code"][keep]], p_a=columns["p_a"][keep], p_a_ab=columns["p_a_ab"][keep],
            p_a_ba=columns["p_a_ba"][keep],
            consistent=np.where(np.isnan(consistent), None, consistent == 1).astype(object))
        reports[name] = to_json_ready(audit_report(subset, judge=name, n_boot=n_boot, seed=seed))
    return reports


def source_audit(store: Store, source: str, *, judges: list[str] | None = None, n_boot: int = 1000,
                 seed: int = 0) -> dict[str, dict]:
    """Audit report per judge over the pairs of ``source`` that have a human label."""
    return audit_source(read_source(store, source), judges=judges, n_boot=n_boot, seed=seed)


def focus_order(reports: dict[str, dict]) -> list[str]:
    """The judges of ``reports``, real judges before the yardsticks: the first is the one to read about."""
    from core.judges.baselines import YARDSTICKS

    return sorted(reports, key=lambda name: name in YARDSTICKS)


def summary_table(reports: dict[str, dict]) -> pd.DataFrame:
    """One row per judge: the headline numbers side by side, under names a reader knows, rounded
    (agreement and shares as 0-1 to 3 places, kappa to 2; the judge as its readable name)."""
    from core.judges.identity import display_names

    shown = display_names(list(reports))
    rows = []
    for name, r in reports.items():
        lo, hi = r["agreement_ci95"]
        rows.append({"Judge": shown[name], "Pairs": r["n_pairs"], "Agreement": r["agreement"],
                     "95% CI low": lo, "95% CI high": hi, "Agreement without ties": r["agreement_no_ties"],
                     "Cohen's κ": r["cohen_kappa"], "Same verdict in both orders": r["position_consistency"],
                     "Judge picks longer": r["judge_p_longer"], "Humans pick longer": r["human_p_longer"],
                     "Calibration error (ECE)": r["ece"]})
    return pd.DataFrame(rows).round(3).round({"Cohen's κ": 2})


def findings(report: dict, *, baselines: dict[str, dict] | None = None) -> list[str]:
    """The report's findings as sentences a stakeholder can read without the charts.

    Each claim is made only when its 95% interval supports it: a judge whose κ interval
    includes 0 is "no better than chance", one whose agreement is not above the length
    yardstick's on the same pairs is "no better than picking the longer answer", and a judge
    whose confidence never leaves 45-55% is "calibrated but uninformative".
    """
    out = [_agreement_sentence(report), _position_sentence(report), _verbosity_sentence(report)]
    yardsticks = report.get("length_yardsticks") or {}
    out += [_length_yardstick_sentence(name, y) for name, y in yardsticks.items()]
    from core.judges.baselines import YARDSTICKS

    for name, base in (baselines or {}).items():
        if name != report.get("judge") and name not in yardsticks and base.get("agreement") is not None:
            out.append(_baseline_sentence(report, name, base, "yardstick" if name in YARDSTICKS else "judge"))
    out.append(_calibration_sentence(report))
    return [s for s in out if s]


def _interval(r: dict, key: str) -> tuple[float, float] | None:
    """The 95% interval of ``key`` (flat or in ``agreement_detail``), None where undefined."""
    ci = r.get(f"{key}_ci95") or (r.get("agreement_detail") or {}).get(f"{key}_ci95")
    if not ci or _nan(ci[0]) or _nan(ci[1]):
        return None
    return float(ci[0]), float(ci[1])


def at_chance(report: dict) -> bool:
    """True when Cohen's κ's 95% interval reaches 0 or below: the judge agrees with people no more
    often than a judge guessing with the same label frequencies would."""
    ci = _interval(report, "cohen_kappa")
    kappa = report.get("cohen_kappa")
    return ci[0] <= 0 if ci is not None else _nan(kappa) or kappa <= 0


def _agreement_sentence(r: dict) -> str:
    lo, hi = r["agreement_ci95"]
    kappa, ci = r["cohen_kappa"], _interval(r, "cohen_kappa")
    kappa_ci = "" if ci is None else f", 95% CI {_num(ci[0])} to {_num(ci[1])}"
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
    return (f"Agreement with humans: {r['agreement']:.0%} of {r['n_pairs']} pairs (95% CI {lo:.0%}–{hi:.0%}), "
            f"{_pct(no_ties)} when ties are left out{coin_words}; Cohen's κ = {_num(kappa)}{kappa_ci} ({words}).")


def _position_sentence(r: dict) -> str:
    consistency = r.get("position_consistency")
    if consistency is None or _nan(consistency):
        return ""
    pos = r["position"]
    first, ci = pos.get("first_slot_share"), _interval(pos, "first_slot_share")
    tail = ""
    if first is not None and not _nan(first):
        lean = "" if ci is None else (f" (95% CI {ci[0]:.0%}–{ci[1]:.0%}"
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
    gap = "" if ci is None else (f" (difference {100 * v['verbosity_bias']:+.0f} points, 95% CI "
                                 f"{100 * ci[0]:+.0f} to {100 * ci[1]:+.0f})")
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
    from core.audit.yardstick import LENGTH_YARDSTICKS

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
            f"{y['n_pairs']} pairs, 95% CI {agree[0]:.0%}–{agree[1]:.0%}): this judge's agreement differs by "
            f"{100 * y['difference']:+.0f} points (paired 95% CI {100 * ci[0]:+.0f} to {100 * ci[1]:+.0f}), so "
            f"{verdict}{follows}.")


def _baseline_sentence(r: dict, name: str, base: dict, kind: str) -> str:
    """Another judge's agreement beside this one's; "beats" only when the 95% intervals are apart."""
    mine, theirs = _interval(r, "agreement"), _interval(base, "agreement")
    if mine is not None and theirs is not None and mine[0] > theirs[1]:
        verb = "beats it (the two 95% CIs do not overlap)"
        if at_chance(r) and at_chance(base):
            verb += ", though by Cohen's κ neither is better than chance, so the gap is not skill"
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
    if at_chance(r):
        reasons.append("its verdicts are no better than chance")
    if not reasons:
        sure = "" if decisive is None or _nan(decisive) else (
            f"; it was more than 55% sure either way on {decisive:.0%} of pairs")
        return (f"Calibration: its stated confidence is off by {ece:.0%} on average (ECE){sure}. 0% would mean "
                "that when it says it is 80% sure, it agrees with people 80% of the time.")
    why = " and ".join(reasons)
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


def _pct(x) -> str:
    return "n/a" if _nan(x) else f"{x:.0%}"


def _num(x) -> str:
    return "n/a" if _nan(x) else f"{x:.2f}".replace("-0.00", "0.00")


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def disagreements(store: Store, source: str, judge: str, *, limit: int = 5) -> list[dict]:
    """Pairs where the judge's verdict differs from the human majority, with their texts."""
    from core.human_labels.spot_checks import agreement_flags

    flags = agreement_flags(store, source, judge)
    ids = flags[flags == 0].index[:limit].tolist()
    if not ids:
        return []
    pairs = store.get_pairs(ids).set_index("pair_id")
    human = human_consensus(store.source_human_labels(source)).set_index("pair_id")["human"]
    verdicts = store.source_judgments(source, judge).set_index("pair_id")["verdict"]
    return [{"pair_id": i, "prompt": pairs.at[i, "prompt"], "response_a": pairs.at[i, "response_a"],
             "response_b": pairs.at[i, "response_b"], "human": human.get(i), "verdict": verdicts.get(i)} for i in ids]


def breakdown_table(rows: list[dict] | None) -> pd.DataFrame:
    """A per-category (or per-principle) breakdown with each CI as two rounded columns."""
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows)
    for name in [c for c in table.columns if c.endswith("_ci95")]:
        bounds = [v if isinstance(v, (list, tuple)) else [None, None] for v in table.pop(name)]
        table[f"{name[:-5]} 95% CI low"] = [b[0] for b in bounds]
        table[f"{name[:-5]} 95% CI high"] = [b[1] for b in bounds]
    table.columns = [_HUMAN_COLUMNS.get(c, c.replace("_", " ")).capitalize() if c[:1].islower() else c
                     for c in table.columns]
    return table.round(3)


_HUMAN_COLUMNS = {"n_pairs": "pairs", "n": "pairs", "cohen_kappa": "Cohen's κ", "position_consistency":
                  "same verdict in both orders", "judge_p_longer": "judge picks longer",
                  "human_p_longer": "humans pick longer"}


def judge_definitions_table(store: Store, judges: list[str]) -> pd.DataFrame:
    """What each judge key stands for, readable: the name shown, backend, model, method, tie margin,
    the principles' first line, and the definition digest (``core/judges/identity.py``). Judges
    stored before definitions were recorded show only their key."""
    import json

    from core.judges.identity import display_names

    shown = display_names(list(judges))
    stored = {row.judge: row for row in store.judge_definitions(judges).itertuples()}
    rows = []
    for key in judges:
        row = stored.get(key)
        definition = json.loads(row.definition) if row is not None else {}
        fields = definition.get("fields", {})
        principles = definition.get("principles", "")
        rows.append({"Judge": shown[key], "Backend": fields.get("backend", ""), "Model": fields.get("model", ""),
                     "Method": fields.get("method", "") if fields.get("backend") == "local" else "",
                     "Tie margin": fields.get("tie_margin"),
                     "Principles": principles.splitlines()[0][:80] if principles else "",
                     "Definition": row.digest[:12] if row is not None else "not recorded", "Stored as": key})
    return pd.DataFrame(rows)
