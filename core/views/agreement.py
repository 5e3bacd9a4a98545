"""The Agreement page: every judge side by side, per category, what each judge key stands for, who
labelled the source and how their votes become one label; the audit read from the store."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from core.audit.consensus import CONSENSUS_RULE
from core.audit.report import audit_source
from core.human_labels.spot_checks import active_estimate
from core.human_labels.team import annotator_summary
from core.human_labels.with_verdicts import read_judged, with_labels
from core.judges.baselines import YARDSTICKS
from core.judges.constitutions import versions_of_text
from core.judges.identity import display_names
from core.store import Store

__all__ = ["CONSENSUS_RULE", "active_estimate", "annotator_summary", "audit_with_votes", "breakdown_table",
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
    """One row per judge: the headline numbers side by side, under names a reader knows, rounded
    (agreement and shares as 0-1 to 3 places, kappa to 2; the judge as its readable name)."""
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
        text += f"{split} pair{'s' if split != 1 else ''} with a split vote count{'' if split != 1 else 's'} as a human tie."
    return text.strip()
