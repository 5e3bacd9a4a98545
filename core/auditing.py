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

from core.runs.store import Store


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
    from core.runs.snapshot import rowid_positions

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
    """One row per judge: the headline numbers side by side."""
    rows = []
    for name, r in reports.items():
        lo, hi = r["agreement_ci95"]
        rows.append({"judge": name, "pairs": r["n_pairs"], "agreement": r["agreement"], "ci95_low": lo,
                     "ci95_high": hi, "agreement_no_ties": r["agreement_no_ties"], "kappa": r["cohen_kappa"],
                     "position_consistency": r["position_consistency"], "judge_p_longer": r["judge_p_longer"],
                     "human_p_longer": r["human_p_longer"], "ece": r["ece"]})
    return pd.DataFrame(rows)


def findings(report: dict, *, baselines: dict[str, dict] | None = None) -> list[str]:
    """The report's findings as sentences a stakeholder can read without the charts."""
    out = [_agreement_sentence(report)]
    consistency = report.get("position_consistency")
    if consistency is not None and not _nan(consistency):
        pos = report["position"]
        first = pos.get("first_slot_share")
        tail = "" if first is None or _nan(first) else (
            f"; when it flipped, it sided with whichever answer was shown first {first:.0%} of the time")
        verdict = ""
        if first is not None and not _nan(first) and abs(first - 0.5) >= 0.2 and consistency < 0.8:
            verdict = f" This is a strong position bias toward the {'first' if first > 0.5 else 'second'} slot."
        elif consistency < 0.6:
            verdict = " Its verdicts depend on the order of presentation more often than not."
        out.append(f"Position: it gave the same verdict in both presentation orders on {consistency:.0%} of "
                   f"pairs{tail}.{verdict}")
    out.append(_verbosity_sentence(report))
    from core.judges.baselines import YARDSTICKS

    for name, base in (baselines or {}).items():
        if name != report.get("judge") and base.get("agreement") is not None:
            verb = "beats" if report["agreement"] > base["agreement_ci95"][1] else (
                "does not beat" if report["agreement"] >= base["agreement_ci95"][0] else "is worse than")
            kind = "yardstick" if name in YARDSTICKS else "judge"
            out.append(f"Against the '{name}' {kind} ({base['agreement']:.0%} agreement) this judge {verb} it.")
    if report.get("ece") is not None and not _nan(report["ece"]):
        out.append(f"Calibration: its stated confidence is off by {report['ece']:.0%} on average (ECE); "
                   "0% would mean its confidence can be taken at face value.")
    return [s for s in out if s]


def _agreement_sentence(r: dict) -> str:
    lo, hi = r["agreement_ci95"]
    return (f"Agreement with humans: {r['agreement']:.0%} of {r['n_pairs']} pairs (95% CI {lo:.0%}–{hi:.0%}), "
            f"{r['agreement_no_ties']:.0%} when ties are left out; Cohen's κ = {r['cohen_kappa']:.2f} "
            f"({_kappa_words(r['cohen_kappa'])}).")


def _verbosity_sentence(r: dict) -> str:
    judge, human = r.get("judge_p_longer"), r.get("human_p_longer")
    if judge is None or human is None or _nan(judge) or _nan(human):
        return ""
    v = r["verbosity"]
    flag = v.get("judge_more_length_biased")
    words = ("It is MORE length-biased than the people who labelled the same pairs, beyond the margin of error: "
             "training on its labels will teach the policy to write longer, not better."
             if flag else "Its length preference is within the margin of error of the humans'.")
    return f"Length: it preferred the longer answer {judge:.0%} of the time, humans {human:.0%}. {words}"


def _kappa_words(k: float) -> str:
    if _nan(k):
        return "undefined"
    for limit, words in ((0.0, "no better than chance"), (0.2, "slight"), (0.4, "fair"), (0.6, "moderate"),
                         (0.8, "substantial")):
        if k <= limit:
            return words
    return "almost perfect"


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def disagreements(store: Store, source: str, judge: str, *, limit: int = 5) -> list[dict]:
    """Pairs where the judge's verdict differs from the human majority, with their texts."""
    from core.spotcheck import agreement_flags

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
        table[f"{name[:-5]}_low"] = [b[0] for b in bounds]
        table[f"{name[:-5]}_high"] = [b[1] for b in bounds]
    return table.round(3)


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
