"""DataFrames and audit reports -> plotly Figures. No streamlit here: the dashboard and the
HTML report draw the same figures."""
from __future__ import annotations

import plotly.graph_objects as go

LABELS = ["A", "B", "TIE"]
_LAYOUT = dict(template="plotly_white", margin=dict(l=40, r=20, t=50, b=40), height=340)


_YARDSTICK_COLOURS = {"longest": "#7f7f7f", "shortest": "#bcbd22", "random": "#c7c7c7"}
_JUDGE_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]


def judge_colours(names) -> dict[str, str]:
    """One colour per judge, the same on every chart of a page and of the report: the yardsticks
    greys, the other judges from a palette in sorted order (so adding a judge recolours none)."""
    others = sorted(n for n in names if n not in _YARDSTICK_COLOURS)
    colours = {n: _JUDGE_PALETTE[i % len(_JUDGE_PALETTE)] for i, n in enumerate(others)}
    return {n: _YARDSTICK_COLOURS.get(n) or colours[n] for n in names}


def _names(keys) -> dict[str, str]:
    from core.judges.identity import display_names

    return display_names(list(keys))


def _err(values, lows, highs) -> dict:
    return dict(type="data", symmetric=False, array=[h - v for v, h in zip(values, highs)],
                arrayminus=[v - lo for v, lo in zip(values, lows)])


def agreement_figure(reports: dict[str, dict]) -> go.Figure:
    """Agreement (ties counted) and Cohen's kappa per judge, with 95% CIs."""
    names = list(reports)
    fig = go.Figure()
    for key, ci_key, label in (("agreement", "agreement_ci95", "agreement"),
                               ("cohen_kappa", "cohen_kappa_ci95", "Cohen's κ")):
        vals = [_num(reports[n]["agreement_detail"][key]) for n in names]
        cis = [reports[n]["agreement_detail"][ci_key] for n in names]
        fig.add_bar(x=[_names(names)[n] for n in names], y=vals, name=label,
                    error_y=_err(vals, [_num(c[0]) for c in cis], [_num(c[1]) for c in cis]))
    fig.update_layout(title="Agreement with humans (95% CI)", barmode="group", yaxis_range=[-0.2, 1],
                      xaxis_title="judge", yaxis_title="agreement (share) and Cohen's κ", **_LAYOUT)
    return fig


def confusion_figure(report: dict) -> go.Figure:
    cm = report["confusion_matrix"]
    cols = ["A", "B", "TIE", "INVALID"]
    z = [[cm[h][j] for j in cols] for h in LABELS]
    fig = go.Figure(go.Heatmap(z=z, x=[f"judge {c}" for c in cols], y=[f"human {h}" for h in LABELS],
                               colorscale="Blues", text=z, texttemplate="%{text}", showscale=False))
    judge = report.get("judge")
    fig.update_layout(title=f"Confusion: {_names([judge])[judge] if judge else 'judge'} vs humans",
                      xaxis_title="judge's verdict", yaxis_title="people's label (pairs in each cell)", **_LAYOUT)
    fig.update_yaxes(autorange="reversed")
    return fig


def position_figure(reports: dict[str, dict]) -> go.Figure:
    names = [n for n in reports if reports[n].get("position_consistency") is not None]
    fig = go.Figure()
    labels = [_names(reports)[n] for n in names]
    fig.add_bar(x=labels, y=[reports[n]["position_consistency"] for n in names], name="same verdict in both orders")
    fig.add_bar(x=labels, y=[_num(reports[n]["position"].get("first_slot_share")) for n in names],
                name="of the flips: sided with the first slot")
    fig.add_hline(y=0.5, line_dash="dot", annotation_text="0.5")
    fig.update_layout(title="Position consistency", barmode="group", yaxis_range=[0, 1], xaxis_title="judge",
                      yaxis_title="share of pairs", **_LAYOUT)
    return fig


def p_longer_figure(reports: dict[str, dict]) -> go.Figure:
    """P(prefers the longer response), judge beside the humans on the same pairs."""
    names = list(reports)
    fig = go.Figure()
    for who in ("judge", "human"):
        vals = [_num(reports[n]["verbosity"][f"{who}_p_longer"]) for n in names]
        cis = [reports[n]["verbosity"][f"{who}_p_longer_ci95"] for n in names]
        fig.add_bar(x=[_names(names)[n] for n in names], y=vals, name=who, error_y=_err(vals, [_num(c[0]) for c in cis], [_num(c[1]) for c in cis]))
    fig.add_hline(y=0.5, line_dash="dot")
    fig.update_layout(title="P(prefer the longer response)", barmode="group", yaxis_range=[0, 1],
                      xaxis_title="judge (and the people, on the same pairs)",
                      yaxis_title="share of pairs won by the longer answer", **_LAYOUT)
    return fig


def length_bucket_figure(reports: dict[str, dict]) -> go.Figure:
    fig = go.Figure()
    colours, shown = judge_colours(reports), _names(reports)
    for name, r in reports.items():
        rows = r.get("agreement_by_length") or []
        fig.add_scatter(x=[str(x["length_diff"]) for x in rows], y=[_num(x["agreement"]) for x in rows],
                        mode="lines+markers", name=shown[name], line=dict(color=colours[name]))
    fig.update_layout(title="Agreement by length difference", yaxis_range=[0, 1],
                      xaxis_title="|length of A − length of B| (characters)", yaxis_title="agreement with humans",
                      **_LAYOUT)
    return fig


def calibration_figure(reports: dict[str, dict]) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(x=[0.5, 1], y=[0.5, 1], mode="lines", name="perfect", line=dict(dash="dot", color="grey"))
    colours, shown = judge_colours(reports), _names(reports)
    for name, r in reports.items():
        cal = r.get("calibration") or {}
        rows = cal.get("reliability") or []
        fig.add_scatter(x=[x["confidence"] for x in rows], y=[x["agreement"] for x in rows], mode="lines+markers",
                        name=f"{shown[name]} (ECE {_num(cal.get('ece')):.2f})", text=[f"n={x['n']}" for x in rows],
                        line=dict(color=colours[name]))
    fig.update_layout(title="Calibration: confidence vs agreement", xaxis_title="judge confidence",
                      yaxis_title="agreement with humans", **_LAYOUT)
    return fig


# One colour per run/round group, the same in every subplot of a page's training charts.


def _num(x) -> float:
    return float("nan") if x is None else float(x)


def cost_figure(costs: dict[str, dict]) -> go.Figure:
    """Per 1,000 labels, side by side: money for each judge (``core.audit.cost.source_costs``) beside
    human labels, and the compute time each judge took. A judge whose compute is not priced reads
    'compute not priced' on its bar, not a bare $0.00."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.14,
                        subplot_titles=("Money per 1,000 labels", "Compute per 1,000 labels"))
    fig.update_layout(title="Cost per 1,000 labels", showlegend=False, **_LAYOUT)
    fig.update_layout(margin=dict(l=60, r=20, t=80, b=60))
    fig.update_xaxes(title_text="who labels", row=1, col=1)
    fig.update_yaxes(title_text="money ($) per 1,000 labels", row=1, col=1)
    fig.update_xaxes(title_text="judge", row=1, col=2)
    fig.update_yaxes(title_text="compute minutes per 1,000 labels", row=1, col=2)
    if not costs:
        return fig
    first = next(iter(costs.values()))
    names = [*_names(costs).values(), "human labels"]
    values = [_num(c["money_per_1k_labels"]) for c in costs.values()] + [first["human_money_per_1k_labels"]]
    texts = [_money_text(c) for c in costs.values()] + [f"${values[-1]:,.2f}"]
    fig.add_bar(x=names, y=values, text=texts, textposition="outside",
                marker_color=["#4c78a8"] * len(costs) + ["#f58518"], row=1, col=1)
    paper = first["reference_ai_money_per_1k_labels"]
    fig.add_hline(y=paper, line_dash="dot", annotation_text=f"RLAIF paper's AI labels: ${paper:,.0f}", row=1, col=1)
    fig.update_yaxes(range=[0, 1.2 * max([v for v in values if v == v] + [paper, 1.0])], row=1, col=1)
    minutes = [_num(c["seconds_per_1k_labels"]) / 60 for c in costs.values()]
    fig.add_bar(x=names[:-1], y=minutes, text=[f"{m:,.1f} min" if m == m else "n/a" for m in minutes],
                textposition="outside", marker_color="#72b7b2", row=1, col=2)
    fig.update_yaxes(range=[0, 1.2 * max([m for m in minutes if m == m] + [1.0])], row=1, col=2)
    return fig


def _money_text(cost: dict) -> str:
    """The bar's label: its money, or that its compute was not priced (a local judge at $0 by omission)."""
    unpriced = (not cost.get("price_per_compute_hour") and cost["money_per_1k_labels"] == 0
                and _num(cost["seconds_per_1k_labels"]) >= 1)
    return "compute not priced" if unpriced else f"${_num(cost['money_per_1k_labels']):,.2f}"
