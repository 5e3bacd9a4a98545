"""What the judge's labels cost, per 1,000 labels, beside what human labels cost.

Cost is why people pick RLAIF: Lee et al. 2023 ("RLAIF vs. RLHF: Scaling Reinforcement
Learning from Human Feedback with AI Feedback", appendix on cost) estimate $0.06 per AI
label against $0.67 per human label. A *label* is one judged pair (both orders shown), so
it is one row of the judgments frame; every row records its ``tokens_in``, ``tokens_out``
and ``seconds`` (summed over the two orders). Money is tokens times the configured prices
per 1,000 tokens, plus compute hours times a price per compute hour (what an hour of the
machine a local judge runs on costs: without it a local judge's money cost would read as $0
by omission); compute is the recorded seconds, which for an API judge are request
latencies (several run at once, so they exceed wall time) and for a local judge its share
of the batched passes. An INVALID label was paid for but is of no use, so the cost per
usable label is given too.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from core.schema import COST_FIELDS

if TYPE_CHECKING:  # only its price fields are read
    from core.config import JudgeConfig

RLAIF_PAPER_AI_LABEL_COST = 0.06
RLAIF_PAPER_HUMAN_LABEL_COST = 0.67


def label_cost(judgments: pd.DataFrame, *, price_per_1k_input_tokens: float = 0.0,
               price_per_1k_output_tokens: float = 0.0, human_label_cost: float = RLAIF_PAPER_HUMAN_LABEL_COST,
               reference_ai_label_cost: float = RLAIF_PAPER_AI_LABEL_COST,
               price_per_compute_hour: float = 0.0) -> dict:
    """Compute seconds, tokens and money per 1,000 labels of a judgments frame.

    ``judgments`` has one row per label with ``tokens_in``, ``tokens_out`` and ``seconds``
    (a ``verdict`` column, when present, tells usable labels from INVALID ones). Prices are
    money per 1,000 tokens and per compute hour; ``human_label_cost`` and
    ``reference_ai_label_cost`` are money per label. Returns a dict: ``n_labels``, ``n_usable``,
    ``seconds_per_1k_labels``,
    ``tokens_in_per_1k_labels``, ``tokens_out_per_1k_labels``, ``money_per_1k_labels``,
    ``money_per_1k_usable_labels``, ``human_money_per_1k_labels``,
    ``reference_ai_money_per_1k_labels``, ``human_to_judge_cost_ratio`` (how many times
    dearer human labels are; inf for a judge that costs no money) and the prices used.
    Per-label values are NaN for an empty frame. Raises ValueError naming a missing column
    or a negative price.
    """
    missing = [c for c in COST_FIELDS if c not in judgments.columns]
    if missing:
        raise ValueError(f"judgments frame lacks cost column(s) {missing}; it has {list(judgments.columns)}")
    n = len(judgments)
    usable = n if "verdict" not in judgments.columns else int((judgments["verdict"] != "INVALID").sum())
    return cost_from_totals(n, usable, float(judgments["tokens_in"].sum()), float(judgments["tokens_out"].sum()),
                            float(judgments["seconds"].sum()), price_per_1k_input_tokens=price_per_1k_input_tokens,
                            price_per_1k_output_tokens=price_per_1k_output_tokens, human_label_cost=human_label_cost,
                            reference_ai_label_cost=reference_ai_label_cost,
                            price_per_compute_hour=price_per_compute_hour)


def cost_from_totals(n_labels: int, n_usable: int, tokens_in: float, tokens_out: float, seconds: float, *,
                     price_per_1k_input_tokens: float = 0.0, price_per_1k_output_tokens: float = 0.0,
                     human_label_cost: float = RLAIF_PAPER_HUMAN_LABEL_COST,
                     reference_ai_label_cost: float = RLAIF_PAPER_AI_LABEL_COST,
                     price_per_compute_hour: float = 0.0) -> dict:
    """``label_cost`` from the sums of a judge's labels (``Store.judgment_cost_totals``)."""
    prices = {"price_per_1k_input_tokens": price_per_1k_input_tokens,
              "price_per_1k_output_tokens": price_per_1k_output_tokens,
              "price_per_compute_hour": price_per_compute_hour,
              "human_label_cost": human_label_cost, "reference_ai_label_cost": reference_ai_label_cost}
    for name, value in prices.items():
        if not (isinstance(value, (int, float)) and value >= 0 and math.isfinite(value)):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    n, usable = int(n_labels), int(n_usable)
    per_1k = (lambda total: 1000.0 * total / n) if n else (lambda total: math.nan)
    money = (tokens_in / 1000 * price_per_1k_input_tokens + tokens_out / 1000 * price_per_1k_output_tokens
             + float(seconds) / 3600 * price_per_compute_hour)
    money_per_1k = per_1k(money)
    human_per_1k = 1000.0 * human_label_cost
    return {
        "n_labels": n,
        "n_usable": usable,
        "seconds_per_1k_labels": per_1k(float(seconds)),
        "tokens_in_per_1k_labels": per_1k(float(tokens_in)),
        "tokens_out_per_1k_labels": per_1k(float(tokens_out)),
        "money_per_1k_labels": money_per_1k,
        "money_per_1k_usable_labels": 1000.0 * money / usable if usable else math.nan,
        "human_money_per_1k_labels": human_per_1k,
        "reference_ai_money_per_1k_labels": 1000.0 * reference_ai_label_cost,
        "human_to_judge_cost_ratio": _ratio(human_per_1k, money_per_1k),
        **prices,
    }


def judge_label_cost(judgments: pd.DataFrame, judge: JudgeConfig) -> dict:
    """``label_cost`` at the token prices and human-label cost of a judge's config."""
    return label_cost(judgments, price_per_1k_input_tokens=judge.price_per_1k_input_tokens,
                      price_per_1k_output_tokens=judge.price_per_1k_output_tokens,
                      human_label_cost=judge.human_label_cost)


def costs_from_totals(totals: pd.DataFrame, **prices) -> dict[str, dict]:
    """``source_costs`` from ``Store.judgment_cost_totals``'s frame (which the dashboard caches)."""
    return {str(row.judge): cost_from_totals(row.n_labels, row.n_usable, row.tokens_in, row.tokens_out, row.seconds,
                                             **prices) for row in totals.itertuples(index=False)}


def _ratio(numerator: float, denominator: float) -> float:
    if math.isnan(denominator) or numerator == denominator == 0:
        return math.nan
    return math.inf if denominator == 0 else numerator / denominator


