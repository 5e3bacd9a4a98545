"""The training monitor's figures: metric curves per run and round with EMA smoothing, and reward
against KL. One colour per run and round; up to four runs overlaid."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

_LAYOUT = dict(template="plotly_white", margin=dict(l=40, r=20, t=50, b=40), height=340)


PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d")


SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star", "cross", "pentagon")


METRIC_TITLES = {
    "objective/scores": "reward (RM score, or judge P(win))", "objective/rlhf_reward": "reward − KL penalty",
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


def training_figure(runs, keys: list[str], title: str, *, x_title: str = "RL update",
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
    """Proxy reward against KL to the reference, one point per RL update coloured by the update
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
    fig.update_layout(title="Proxy reward against KL to the reference (colour: RL update)",
                      xaxis_title="KL to the reference (TRL's estimate)", yaxis_title="reward (RM score, or judge P(win))",
                      coloraxis=dict(colorscale="Viridis", colorbar=dict(title="RL update")),
                      legend=dict(orientation="h", y=-0.25), **{**_LAYOUT, "height": 360})
    return fig
