"""Constitution versions side by side, as the Constitution page and the report show them: a table per
part (held-out first: the claim; tuning beside it, marked as what the editor saw), sentences that
say "no difference beyond noise" whenever a paired interval includes 0, the correction owed to
comparing several versions on the same held-out pairs, and the pairs whose verdict changed.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core.human_labels.constitution_compare import compare_versions
from core.human_labels.splits import HELDOUT, PART_NAMES, TUNING
from core.store import Store
from core.views.constitution import judge_config
from core.wording import interval, missing, number, pct

__all__ = ["comparison", "comparison_figure", "pair_detail", "reading", "report_versions"]

PART_LABELS = {HELDOUT: "held-out (the measurement)", TUNING: "tuning (seen while editing)"}


def reading(ci) -> str:
    """'better' / 'worse' beyond noise, or 'no difference beyond noise' when the interval includes 0."""
    if ci is None or missing(ci[0]) or missing(ci[1]):
        return "not measured"
    if ci[0] > 0:
        return "better beyond noise"
    if ci[1] < 0:
        return "worse beyond noise"
    return "no difference beyond noise"


def comparison(store: Store, source: str, choice: str, name: str, *, baseline: int = 1, candidate: int | None = None,
               n_boot: int = 2000) -> dict:
    """What the page shows: ``table`` (one row per version and part), ``sentences``, ``multiple``
    (the correction sentence, or ''), ``changed`` (per part: the pair ids by kind of change between
    the baseline and ``candidate``), and the raw numbers (``data``)."""
    data = compare_versions(store, source, judge_config(choice), name, baseline=baseline, candidate=candidate,
                            n_boot=n_boot)
    return {"table": _table(data), "sentences": _sentences(data), "multiple": _multiple_sentence(data),
            "changed": data["changed"], "candidate": data["candidate"], "baseline": data["baseline"], "data": data}


def _table(data: dict) -> pd.DataFrame:
    rows = []
    for part in (HELDOUT, TUNING):
        for v in data["versions"]:
            entry = v["parts"].get(part)
            if entry is None:
                continue
            r, paired = entry["report"], entry.get("paired") or {}
            kappa_ci = (r.get("agreement_detail") or {}).get("cohen_kappa_ci95") or [None, None]
            diff_ci = paired.get("agreement_difference_ci")
            rows.append({
                "Part": PART_LABELS[part], "Version": v["ref"],
                "Judged pairs": f"{entry['n_judged']} of {data['n'][part]}",
                "Agreement": r["agreement"], "95% CI low": r["agreement_ci95"][0], "95% CI high": r["agreement_ci95"][1],
                "Cohen's κ": r["cohen_kappa"], "κ 95% CI low": kappa_ci[0], "κ 95% CI high": kappa_ci[1],
                "Judge picks longer": r["judge_p_longer"], "People pick longer": r["human_p_longer"],
                "Same verdict in both orders": r["position_consistency"],
                f"Δ agreement vs {data['baseline']}": paired.get("agreement_difference"),
                "Δ paired 95% CI low": None if diff_ci is None else diff_ci[0],
                "Δ paired 95% CI high": None if diff_ci is None else diff_ci[1],
                "Reading": "baseline" if v["ref"] == data["baseline"] else reading(diff_ci)})
    table = pd.DataFrame(rows)
    return table.round(3).round({"Cohen's κ": 2, "κ 95% CI low": 2, "κ 95% CI high": 2}) if len(table) else table


def _sentences(data: dict) -> list[str]:
    out = []
    for part in (HELDOUT, TUNING):
        for v in data["versions"]:
            entry = v["parts"].get(part)
            if entry is None or "paired" not in entry:
                continue
            out.append(_version_sentence(v["ref"], data["baseline"], part, entry, data["n"][part]))
    if any(v["parts"].get(TUNING) for v in data["versions"]):
        out.append("The tuning pairs are the ones the faults and examples came from while editing: a gain there that "
                   "the held-out pairs do not show is a fix fitted to the pairs you looked at, not a better judge.")
    return out


def _version_sentence(ref: str, baseline: str, part: str, entry: dict, n_part: int) -> str:
    p = entry["paired"]
    words = reading(p["agreement_difference_ci"])
    partial = "" if entry["complete"] else f" (judged {entry['n_judged']} of the {n_part} so far)"
    kappa = reading(p["kappa_difference_ci"])
    if p["same_verdict_share"] == 1:
        return (f"{ref} gave the same verdict as {baseline} on every one of the same {p['n_pairs']} {PART_NAMES[part]} "
                f"pairs{partial}: no difference beyond noise (agreement {pct(p['other_agreement'])} for both). The "
                "edit did not change what this judge decides.")
    return (f"{ref} against {baseline} on the same {p['n_pairs']} {PART_NAMES[part]} pairs{partial}: agreement "
            f"{pct(p['other_agreement'])} vs {pct(p['base_agreement'])}, a difference of "
            f"{100 * p['agreement_difference']:+.0f} points "
            f"({interval(*p['agreement_difference_ci'], spec='+.0f', scale=100, label='paired 95% CI')}): {words}; "
            f"Cohen's κ {number(p['other_kappa'])} vs {number(p['base_kappa'])} ({kappa}). "
            f"{_pairs(p['n_discordant_better'])} now {'agrees' if p['n_discordant_better'] == 1 else 'agree'} with "
            f"people and {p['n_discordant_worse']} no longer {'does' if p['n_discordant_worse'] == 1 else 'do'}.")


def _pairs(n: int) -> str:
    return f"{n} pair" if n == 1 else f"{n} pairs"


def _multiple_sentence(data: dict) -> str:
    m = data.get("multiple")
    if not m:
        return ""
    c = m["bonferroni"]
    ci, label, diff = c["agreement_difference_ci"], f"Bonferroni {c['confidence']:.1%} CI", c["agreement_difference"]
    held = "its lead holds after the correction" if ci[0] > 0 else (
        "worse beyond noise after the correction" if ci[1] < 0 else "no difference beyond noise after the correction")
    standing = (f"leads it by {100 * diff:+.0f} points" if diff > 0 else
                f"trails it by {100 * -diff:.0f} points" if diff < 0 else "ties it")
    after = (" To confirm a lead, label fresh pairs and measure it there." if ci[0] > 0 else
             " None of the versions beats the baseline on these pairs." if ci[1] < 0 or diff <= 0 else "")
    return (f"{m['n_versions']} versions have been compared with {m['baseline']} on the same {m['n_pairs']} held-out "
            "pairs. The more versions are compared on the same pairs, the more the best one's lead is luck. The best, "
            f"{m['best']}, {standing}; corrected for {m['n_versions']} comparisons "
            f"({interval(*ci, spec='+.0f', scale=100, label=label)}, Holm-adjusted McNemar p = "
            f"{m['holm_p'][m['best']]:.2g}): {held}.{after}")


def comparison_figure(table: pd.DataFrame) -> go.Figure:
    """Agreement per version with its 95% CI, held-out beside tuning."""
    fig = go.Figure()
    for part, colour in ((PART_LABELS[HELDOUT], "#1f77b4"), (PART_LABELS[TUNING], "#bbbbbb")):
        rows = table[table["Part"] == part] if len(table) else table
        if len(rows) == 0:
            continue
        fig.add_bar(x=rows["Version"], y=rows["Agreement"], name=part, marker_color=colour,
                    error_y=dict(type="data", symmetric=False, array=rows["95% CI high"] - rows["Agreement"],
                                 arrayminus=rows["Agreement"] - rows["95% CI low"]))
    fig.update_layout(title="Agreement with people per version (95% CI)", barmode="group", yaxis_range=[0, 1],
                      template="plotly_white", margin=dict(l=40, r=20, t=50, b=40), height=340)
    return fig


def pair_detail(store: Store, pair_id: str, keys: dict[str, str]) -> dict:
    """One pair to read: prompt, both responses, people's label and each version's verdict (``keys``:
    version ref -> judge key)."""
    from core.audit.consensus import human_consensus

    pair = store.get_pairs([pair_id]).iloc[0]
    labels = human_consensus(store.human_labels_frame(pair_ids=[pair_id]))
    verdicts = store.pair_judgments(pair_id).set_index("judge")["verdict"].to_dict()
    return {"prompt": pair["prompt"], "response_a": pair["response_a"], "response_b": pair["response_b"],
            "human": labels["human"].iloc[0] if len(labels) else None,
            "verdicts": {ref: verdicts.get(key, "not judged") for ref, key in keys.items()}}


def report_versions(store: Store, source: str, judge_key: str, *, n_boot: int = 2000) -> dict | None:
    """For the report: the constitution version judge ``judge_key`` reads (found by its principles
    text), every version of that constitution measured with the same judge on the held-out pairs of
    ``source``, the correction sentence, and the diff of the version used against the one it was
    edited from. None for a judge that reads no principles or whose text is no stored version."""
    import dataclasses
    import json

    from core.config import JudgeConfig
    from core.judges.constitutions import READS_PRINCIPLES, diff_versions, ensure_default, parse_ref, versions_of_text
    from core.views.constitution import edited_from

    stored = store.judge_definitions([judge_key])
    if stored.empty:
        return None
    definition = json.loads(stored["definition"].iloc[0])
    fields = {k: v for k, v in definition.get("fields", {}).items()
              if k in {f.name for f in dataclasses.fields(JudgeConfig)} and k not in ("calibration", "constitution")}
    if fields.get("backend") not in READS_PRINCIPLES or "principles" not in definition:
        return None
    ensure_default(store)
    used = versions_of_text(store, definition["principles"])
    if not used:
        return None
    name, version = parse_ref(used[-1])
    data = compare_versions(store, source, JudgeConfig(**fields), name, baseline=1, n_boot=n_boot)
    table = _table(data)
    held = table[table["Part"] == PART_LABELS[HELDOUT]].drop(columns=["Part"]) if len(table) else table
    base = edited_from(store, name, version)
    return {"used": f"{name}@{version}", "table": held, "n_heldout": data["n"][HELDOUT],
            "sentences": [s for s in _sentences(data) if PART_NAMES[HELDOUT] in s], "multiple": _multiple_sentence(data),
            "diff": diff_versions(store, name, base, version) if base != version else "",
            "edited_from": f"{name}@{base}"}
