"""The RLHF-arm table -> a plotly Figure (no streamlit here)."""
from __future__ import annotations

import plotly.graph_objects as go

_LAYOUT = dict(template="plotly_white", margin=dict(l=40, r=20, t=50, b=40), height=340)


def arms_figure(table) -> go.Figure:
    """Held-out accuracy of both reward models of the latest round, against human labels and
    against the judge's, with 95% CIs as error bars."""
    fig = go.Figure()
    if not table.empty:
        last = table[table["round"] == table["round"].max()]
        for _, row in last.iterrows():
            values = [row["vs human labels"], row["vs judge labels"]]
            lows = [row["human ci95 low"], row["judge ci95 low"]]
            highs = [row["human ci95 high"], row["judge ci95 high"]]
            fig.add_bar(x=["held-out human labels", "held-out judge labels"], y=values, name=row["reward model"],
                        error_y=dict(type="data", symmetric=False, array=[h - v for v, h in zip(values, highs)],
                                     arrayminus=[v - lo for v, lo in zip(values, lows)]))
        title = f"Reward model accuracy, round {int(last['round'].iloc[0])} ({int(last['held-out pairs'].iloc[0])} held-out pairs, 95% CI)"
    else:
        title = "Reward model accuracy (no RLHF arm yet)"
    fig.update_layout(title=title, barmode="group", yaxis_range=[0, 1], **_LAYOUT)
    return fig
