"""The Agreement page: every judge side by side, per category, what each judge key stands for, who
labelled the source and how their votes become one label; the audit read from the store."""
from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd

from core.audit.consensus import CONSENSUS_RULE, POLICY_RULES, policy_rule
from core.audit.report import audit_source
from core.human_labels.spot_checks import active_estimate
from core.human_labels.team import annotator_summary, set_policy
from core.human_labels.with_verdicts import read_judged, with_labels
from core.judges.baselines import YARDSTICKS
from core.judges.constitutions import versions_of_text
from core.judges.identity import display_names
from core.store import Store
from core.wording import interval, missing, number, pct

__all__ = ["COLUMN_HELP", "CONSENSUS_RULE", "POLICY_RULES", "change_policy", "policy_choices", "policy_rule",
           "policy_sentence", "source_policy", "active_estimate", "annotator_summary", "audit_with_votes",
           "breakdown_table",
           "display_names", "focus_order", "judge_definitions_table", "read_judged", "summary_sentence",
           "summary_table"]


def audit_with_votes(judged: dict, votes: dict, *, n_boot: int = 1000) -> dict[str, dict]:
    """The audit per judge of a source read as ``read_judged`` and ``Store.source_vote_codes``: the
    dashboard caches the two reads apart, since a new label changes only the votes."""
    return audit_source(with_labels(judged, votes), n_boot=n_boot)


def focus_order(reports: dict[str, dict]) -> list[str]:
    """The judges of ``reports``, real judges before the yardsticks: the first is the one to read about."""
    return sorted(reports, key=lambda name: name in YARDSTICKS)


def summary_table(reports: dict[str, dict]) -> pd.DataFrame:
    """One row per judge: the headline numbers side by side, under names a reader knows, agreement and
    κ each with its 95% CI in one text column ('43% (38%–48%)'), so the table fits a 1280 px screen;
    the judge as its readable name."""
    shown = display_names(list(reports))
    rows = []
    for name, r in reports.items():
        detail = r.get("agreement_detail") or {}
        rows.append({"Judge": shown[name], "Pairs": r["n_pairs"],
                     "Agreement (95% CI)": _with_ci(r["agreement"], r["agreement_ci95"]),
                     "No ties": pct(r["agreement_no_ties"]),
                     "Cohen's κ (95% CI)": _with_ci(r["cohen_kappa"], detail.get("cohen_kappa_ci95"), spec=".2f"),
                     "Both orders": pct(r["position_consistency"]),
                     "Longer: judge / people": f"{pct(r['judge_p_longer'])} / {pct(r['human_p_longer'])}",
                     "ECE": number(r["ece"])})
    return pd.DataFrame(rows)


COLUMN_HELP = {  # what each short column header of the audit tables means (the page shows it on hover)
    "Judge": "The judge's readable name; the definition digest is added only where two judges share a name.",
    "Pairs": "Pairs with both a human label and this judge's verdict.",
    "Agreement (95% CI)": "Share of pairs where the judge's verdict is the people's label, ties counted as a label "
                          "(MT-Bench); seeded bootstrap 95% CI.",
    "No ties": "Agreement on the pairs where neither people nor the judge said TIE (its 95% CI is in the findings "
               "above).",
    "Cohen's κ (95% CI)": "Agreement beyond what guessing with the same label frequencies gives: 0 is chance, "
                          "below 0 worse than chance.",
    "Both orders": "Share of pairs where the judge gave the same verdict with A shown first and with B shown first.",
    "Longer: judge / people": "How often the judge, and the people, preferred the longer answer.",
    "ECE": "Calibration error: how far the judge's stated confidence is from how often it agrees with people.",
    "Without ties": "Agreement on the pairs where neither people nor the judge said TIE.",
    "Cohen's κ": "Agreement beyond chance: 0 is chance, below 0 worse than chance.",
}


def breakdown_table(rows: list[dict] | None) -> pd.DataFrame:
    """A per-category (or per-principle) breakdown, each value with its 95% CI in one text column."""
    if not rows:
        return pd.DataFrame()
    out = []
    for row in rows:
        line = {"Group": row.get("group"), "Pairs": row.get("n_pairs")}
        if "agreement" in row:
            line["Agreement (95% CI)"] = _with_ci(row["agreement"], row.get("agreement_ci95"))
        if "agreement_no_ties" in row:
            line["Without ties"] = pct(row["agreement_no_ties"])
        if "cohen_kappa" in row:
            line["Cohen's κ"] = _with_ci(row["cohen_kappa"], row.get("cohen_kappa_ci95"), spec=".2f")
        if "judge_p_longer" in row:
            line["Longer: judge / people"] = f"{pct(row['judge_p_longer'])} / {pct(row.get('human_p_longer'))}"
        out.append(line)
    return pd.DataFrame(out)


def _with_ci(value, ci, *, spec: str = ".0%") -> str:
    """'43% (38%–48%)' or '0.12 (-0.02 to 0.25)'; the value alone where its CI is undefined."""
    text = number(value, spec)
    if not ci or missing(ci[0]) or missing(ci[1]):
        return text
    return f"{text} ({interval(ci[0], ci[1], spec=spec, label='', joiner=' to ' if spec == '.2f' else None)})"


def judge_definitions_table(store: Store, judges: list[str]) -> pd.DataFrame:
    """What each judge key stands for, readable: the name shown, backend, model, method, tie margin,
    the constitution versions whose text it reads (``core/judges/constitutions.py``), the principles'
    first line, and the definition digest (``core/judges/identity.py``). Judges
    stored before definitions were recorded show only their key."""
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
                     "Constitution": ", ".join(versions_of_text(store, principles)) if principles else "",
                     "Principles": principles.splitlines()[0][:80] if principles else "",
                     "Definition": row.digest[:12] if row is not None else "not recorded", "Stored as": key})
    return pd.DataFrame(rows)


def summary_sentence(summary: dict) -> str:
    """The human labels in words: how many, by whom, how they agree, and how many pairs a split made a tie."""
    if not summary["n_labels"]:
        return "No human labels on this source yet."
    people = summary["annotators"]
    who = ", ".join(f"{r['Annotator']} {r['Labels']}" for r in people.to_dict("records"))
    text = (f"{summary['n_labels']} human labels on {summary['n_pairs']} pairs ({who}). ")
    alpha = summary["alpha"]
    if np.isnan(alpha):
        text += "No pair has two usable votes yet, so agreement between people cannot be measured. "
    else:
        text += f"Between people, Krippendorff's α = {alpha:.2f} (1 perfect, 0 chance). "
    split = summary["consensus"].get("split, counted as a tie", 0)
    if split:
        text += f"{split} pair{'s' if split != 1 else ''} with a split vote count{'' if split != 1 else 's'} as a human tie. "
    aside = summary.get("not_counted", 0)
    if aside:
        agree = summary.get("not_counted_agree", float("nan"))
        text += (f"{aside} spot-check vote{'s are' if aside != 1 else ' is'} measured against the pairs' human labels, "
                 f"not counted in them" + ("" if agree != agree else f", and agree{'s' if aside == 1 else ''} with them "
                                                                       f"on {agree:.0%}") + ".")
    return text.strip()


def policy_sentence(policy: dict) -> str:
    """How this source's votes become one label, and who chose that: shown wherever the labels are read."""
    rule = policy_rule(policy.get("policy"))
    if not policy.get("set_by"):
        return f"How labels combine here: {rule} This is the default; nobody has changed it for this source."
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(policy["set_at"]))
    return f"How labels combine here: {rule} Set by {policy['set_by']} on {when}."


def source_policy(store: Store, source: str) -> dict:
    """The source's consensus policy and who set it (``Store.consensus_policy``)."""
    return store.consensus_policy(source)


def policy_choices(summary: dict) -> list[str]:
    """The policies a team can pick for a source: the two rules, then one reviewer per person who labelled."""
    people = list(summary["annotators"]["Annotator"]) if len(summary.get("annotators", [])) else []
    return ["imported", "majority", *[f"reviewer:{who}" for who in people]]


def change_policy(store: Store, source: str, policy: str, *, set_by: str) -> str:
    """Set the source's consensus policy (who set it is shown with every reading of the source)."""
    return set_policy(store, source, policy, set_by=set_by)
