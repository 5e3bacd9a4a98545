"""The price inputs of the cost sections: token prices, a price per compute hour and the cost of a human label."""
from __future__ import annotations

import streamlit as st

from core.views.costs import RLAIF_PAPER_HUMAN_LABEL_COST


def price_inputs(prefix: str = "cost_") -> dict[str, float]:
    """Four number inputs side by side; returns the keyword arguments of ``source_costs``."""
    left, middle, hour, right = st.columns(4)
    return {
        "price_per_1k_input_tokens": left.number_input(
            "Price per 1,000 input tokens ($)", min_value=0.0, value=0.0, step=0.0001, format="%.5f",
            key=f"{prefix}price_in", help="What the judge's API charges; 0 for a local judge."),
        "price_per_1k_output_tokens": middle.number_input(
            "Price per 1,000 output tokens ($)", min_value=0.0, value=0.0, step=0.0001, format="%.5f",
            key=f"{prefix}price_out"),
        "price_per_compute_hour": hour.number_input(
            "Price per compute hour ($)", min_value=0.0, value=0.0, step=0.1, format="%.2f",
            key=f"{prefix}price_hour", help="What an hour of the machine a local judge runs on costs (its compute "
            "time is shown beside the money). At 0 its compute is not priced: the table and chart say so."),
        "human_label_cost": right.number_input(
            "Cost of one human label ($)", min_value=0.0, value=RLAIF_PAPER_HUMAN_LABEL_COST, step=0.01,
            key=f"{prefix}human_label", help="The RLAIF paper estimated $0.67 per human label, $0.06 per AI label."),
    }
