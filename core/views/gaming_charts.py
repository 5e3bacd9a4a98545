"""The verbosity panel's figures: frames of ``core.views.gaming_panel`` -> plotly Figures, no streamlit.

Each figure draws one line per round, so a run of several rounds shows them side by side.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

_LAYOUT = dict(template="plotly_white", margin=dict(l=40, r=20, t=70, b=40), height=340)


def _lines(fig: go.Figure, frame: pd.DataFrame, x: str, columns: dict[str, str], *, col: int,
           mode: str = "lines+markers") -> None:
    """One trace per (column, round): y = frame[column] against frame[x], rows without a value left out."""
    for round_, rows in frame.groupby("round"):
        for column, label in columns.items():
            shown = rows.dropna(subset=[column]).sort_values("step")
            fig.add_scatter(x=shown[x], y=shown[column], mode=mode, name=f"{label} r{round_}",
                            customdata=shown["step"], hovertemplate=f"{label}<br>step %{{customdata}}<br>"
                            f"{x} %{{x}}<br>%{{y:.3g}}<extra>r{round_}</extra>", row=1, col=col)


def length_figure(steps: pd.DataFrame) -> go.Figure:
    """Mean and median response length, and the reward beside the length-controlled reward, per PPO update."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=["Response length (tokens)",
                                                        "Reward, and what it would be at the starting length"])
    _lines(fig, steps, "step", {"mean_tokens": "mean length", "median_tokens": "median length"}, col=1)
    _lines(fig, steps, "step", {"reward": "reward (proxy)", "length_controlled_reward": "length-controlled reward"},
           col=2)
    fig.update_xaxes(title_text="PPO update")
    fig.update_layout(title="Length and length-controlled reward", **_LAYOUT)
    return fig


def correlation_figure(steps: pd.DataFrame, *, corr_threshold: float, share_threshold: float) -> go.Figure:
    """Within-batch reward-length correlation and the share of the reward gain length explains,
    each with the threshold its flag fires above."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=["Reward-length correlation (within each batch)",
                                                        "Share of the reward gain explained by length"])
    _lines(fig, steps, "step", {"reward_length_pearson": "Pearson", "reward_length_spearman": "Spearman"}, col=1)
    _lines(fig, steps, "step", {"length_explained_share": "share explained"}, col=2)
    fig.add_hline(y=corr_threshold, line_dash="dot", line_color="firebrick", row=1, col=1,
                  annotation_text=f"flag: Spearman above {corr_threshold:g}")
    fig.add_hline(y=share_threshold, line_dash="dot", line_color="firebrick", row=1, col=2,
                  annotation_text=f"flag above {share_threshold:.0%}")
    if not steps.empty and steps[["reward_length_pearson", "reward_length_spearman"]].isna().all().all():
        fig.add_annotation(text="undefined so far: every batch's lengths (or rewards) are all equal",
                           x=0.5, y=0, xref="x domain", yref="y", showarrow=False, row=1, col=1)
    fig.update_yaxes(range=[-1.05, 1.05], row=1, col=1)
    fig.update_yaxes(range=[-0.05, 1.05], tickformat=".0%", row=1, col=2)
    fig.update_xaxes(title_text="PPO update")
    fig.update_layout(title="Is the reward paid for length?", **_LAYOUT)
    return fig


def overopt_figure(overopt: pd.DataFrame) -> go.Figure:
    """Proxy reward against KL to the reference, beside the audited win rates against the
    reference policy (judge; people where spot-checked) on the same KL axis."""
    fig = make_subplots(rows=1, cols=2, shared_xaxes=True,
                        subplot_titles=["Proxy reward (reward model)", "Win rate against the reference policy"])
    for round_, rows in overopt.dropna(subset=["kl", "proxy_reward"]).groupby("round"):
        # one point per update coloured by the update: joined in update order, the KL axis zig-zags
        fig.add_scatter(x=rows["kl"], y=rows["proxy_reward"], mode="markers", name=f"proxy reward r{round_}",
                        marker=dict(color=rows["step"], coloraxis="coloraxis", size=9,
                                    symbol=("circle", "square", "diamond", "triangle-up")[int(round_) % 4]),
                        customdata=rows["step"],
                        hovertemplate="proxy reward<br>update %{customdata}<br>KL %{x:.4g}<br>%{y:.3g}"
                        f"<extra>r{round_}</extra>", row=1, col=1)
    _lines(fig, overopt, "kl", {"judge_win_rate": "judge"}, col=2)
    _lines(fig, overopt, "kl", {"human_win_rate": "people (spot-checked)"}, col=2, mode="markers")
    fig.add_hline(y=0.5, line_dash="dot", line_color="grey", row=1, col=2, annotation_text="as good as the reference")
    fig.update_yaxes(range=[-0.05, 1.05], tickformat=".0%", row=1, col=2)
    fig.update_xaxes(title_text="KL to the reference")
    fig.update_layout(title="Over-optimisation: proxy reward vs audited win rate", **_LAYOUT,
                      coloraxis=dict(colorscale="Viridis",
                                     colorbar=dict(title="PPO update", len=0.6, y=0, yanchor="bottom")),
                      legend=dict(orientation="h", y=-0.3))
    return fig
