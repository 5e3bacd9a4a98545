"""DataFrames and audit reports -> plotly Figures. No streamlit here: the dashboard and the
HTML report draw the same figures."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

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
    fig.update_layout(title="Agreement with humans (95% CI)", barmode="group", yaxis_range=[-0.2, 1], **_LAYOUT)
    return fig


def confusion_figure(report: dict) -> go.Figure:
    cm = report["confusion_matrix"]
    cols = ["A", "B", "TIE", "INVALID"]
    z = [[cm[h][j] for j in cols] for h in LABELS]
    fig = go.Figure(go.Heatmap(z=z, x=[f"judge {c}" for c in cols], y=[f"human {h}" for h in LABELS],
                               colorscale="Blues", text=z, texttemplate="%{text}", showscale=False))
    judge = report.get("judge")
    fig.update_layout(title=f"Confusion: {_names([judge])[judge] if judge else 'judge'} vs humans", **_LAYOUT)
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
    fig.update_layout(title="Position consistency", barmode="group", yaxis_range=[0, 1], **_LAYOUT)
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
    fig.update_layout(title="P(prefer the longer response)", barmode="group", yaxis_range=[0, 1], **_LAYOUT)
    return fig


def length_bucket_figure(reports: dict[str, dict]) -> go.Figure:
    fig = go.Figure()
    colours, shown = judge_colours(reports), _names(reports)
    for name, r in reports.items():
        rows = r.get("agreement_by_length") or []
        fig.add_scatter(x=[str(x["length_diff"]) for x in rows], y=[_num(x["agreement"]) for x in rows],
                        mode="lines+markers", name=shown[name], line=dict(color=colours[name]))
    fig.update_layout(title="Agreement by length difference (chars, |A − B|)", yaxis_range=[0, 1], **_LAYOUT)
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
PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star", "cross", "pentagon")
METRIC_TITLES = {
    "objective/scores": "reward-model score", "objective/rlhf_reward": "score − KL penalty",
    "objective/kl": "KL to the reference (nats per response)",
    "objective/entropy": "entropy (nats per response)",
    "response/mean_tokens": "mean length (tokens)", "response/mean_chars": "mean length (characters)",
    "loss": "loss", "accuracy": "accuracy (train batch)", "margin": "reward margin (chosen − rejected)",
}


def ema(values, weight: float) -> np.ndarray:
    """Exponential moving average as TensorBoard smooths: ``s_t = weight * s_{t-1} + (1 - weight) * x_t``,
    divided by ``1 - weight**n`` (n points seen) so the start is not pulled towards 0. ``weight`` in
    [0, 1): 0 returns the values. NaN points stay NaN and do not move the average."""
    if not 0 <= weight < 1:
        raise ValueError(f"weight must be in [0, 1), got {weight!r}")
    x = np.asarray(values, dtype=float)
    out = np.full_like(x, np.nan)
    acc, n = 0.0, 0
    for i, v in enumerate(x):
        if np.isnan(v):
            continue
        acc, n = weight * acc + (1 - weight) * v, n + 1
        out[i] = acc / (1 - weight ** n)
    return out


def curve_groups(runs: dict[str, "pd.DataFrame"]) -> dict[tuple[str, int], str]:
    """``{(run label, round): group name}`` in drawing order: 'round 0' for one run, 'label · r0' for several."""
    groups = {}
    for label, metrics in runs.items():
        for round_ in sorted(metrics["round"].unique()):
            groups[(label, int(round_))] = f"round {round_}" if len(runs) == 1 else f"{label} · r{round_}"
    return groups


def group_colours(runs: dict[str, "pd.DataFrame"]) -> dict[str, str]:
    """The colour of each curve group, shared by every figure drawn from the same ``runs``."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(curve_groups(runs).values())}


def training_figure(runs, keys: list[str], title: str, *, x_title: str = "PPO update",
                    smoothing: float = 0.0) -> go.Figure:
    """One subplot per metric key, one curve per run/round group in one colour across subplots, with a
    legend. ``runs``: a metrics frame (round, step, key, value) or ``{run label: frame}`` to overlay.
    ``smoothing`` > 0 draws the EMA (``ema``) over the raw points, which stay faint behind it."""
    runs = runs if isinstance(runs, dict) else {"run": runs}
    present = [k for k in keys if any((m["key"] == k).any() for m in runs.values())]
    fig = make_subplots(rows=1, cols=max(1, len(present)),
                        subplot_titles=[METRIC_TITLES.get(k, k) for k in present] or ["no data yet"])
    colours, groups, shown = group_colours(runs), curve_groups(runs), set()
    for col, key in enumerate(present, start=1):
        for (label, round_), group in groups.items():
            m = runs[label]
            rows = m[(m["key"] == key) & (m["round"] == round_)].sort_values("step")
            if rows.empty:
                continue
            style = dict(legendgroup=group, name=group, line=dict(color=colours[group]),
                         marker=dict(color=colours[group]), row=1, col=col)
            if smoothing:
                fig.add_scatter(x=rows["step"], y=rows["value"], mode="markers+lines", opacity=0.25,
                                showlegend=False, hovertemplate=f"{group} raw<br>%{{x}}: %{{y:.4g}}<extra></extra>",
                                **style)
                fig.add_scatter(x=rows["step"], y=ema(rows["value"], smoothing), mode="lines",
                                showlegend=group not in shown, **style)
            else:
                fig.add_scatter(x=rows["step"], y=rows["value"], mode="lines+markers", showlegend=group not in shown,
                                **style)
            shown.add(group)
    fig.update_xaxes(title_text=x_title)
    fig.update_layout(title=title, legend_title_text="run · round" if len(runs) > 1 else "round",
                      **{**_LAYOUT, "height": 320})
    return fig


def reward_kl_figure(runs) -> go.Figure:
    """Proxy reward against KL to the reference, one point per PPO update coloured by the update
    (a cloud, not a line drawn in update order); one marker symbol per run/round group."""
    runs = runs if isinstance(runs, dict) else {"run": runs}
    fig = go.Figure()
    for i, ((label, round_), group) in enumerate(curve_groups(runs).items()):
        m = runs[label]
        wide = (m[(m["round"] == round_) & m["key"].isin(["objective/kl", "objective/scores"])]
                .pivot_table(index="step", columns="key", values="value").dropna())
        if wide.empty or len(wide.columns) < 2:
            continue
        fig.add_scatter(x=wide["objective/kl"], y=wide["objective/scores"], mode="markers", name=group,
                        marker=dict(color=wide.index, coloraxis="coloraxis", size=10, symbol=SYMBOLS[i % len(SYMBOLS)],
                                    line=dict(width=1, color="#333")),
                        customdata=wide.index, hovertemplate=f"{group}<br>update %{{customdata}}<br>KL %{{x:.4g}}"
                        "<br>score %{y:.4g}<extra></extra>")
    fig.update_layout(title="Proxy reward against KL to the reference (colour: PPO update)",
                      xaxis_title="KL to the reference (TRL's estimate)", yaxis_title="reward-model score",
                      coloraxis=dict(colorscale="Viridis", colorbar=dict(title="PPO update")),
                      legend=dict(orientation="h", y=-0.25), **{**_LAYOUT, "height": 360})
    return fig


def _num(x) -> float:
    return float("nan") if x is None else float(x)


def cost_figure(costs: dict[str, dict]) -> go.Figure:
    """Money per 1,000 labels: each judge (``core.audit.cost.source_costs``) beside human labels."""
    fig = go.Figure()
    fig.update_layout(title="Cost per 1,000 labels", yaxis_title="money per 1,000 labels", **_LAYOUT)
    if not costs:
        return fig
    first = next(iter(costs.values()))
    names = [*_names(costs).values(), "human labels"]
    values = [_num(c["money_per_1k_labels"]) for c in costs.values()] + [first["human_money_per_1k_labels"]]
    fig.add_bar(x=names, y=values, text=[f"${v:,.2f}" for v in values], textposition="outside",
                marker_color=["#4c78a8"] * len(costs) + ["#f58518"], showlegend=False)
    paper = first["reference_ai_money_per_1k_labels"]
    fig.add_hline(y=paper, line_dash="dot", annotation_text=f"RLAIF paper's AI labels: ${paper:,.0f}")
    fig.update_yaxes(range=[0, 1.2 * max([v for v in values if v == v] + [paper, 1.0])])
    return fig
