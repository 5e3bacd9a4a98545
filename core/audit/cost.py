"""What the judge's labels cost, per 1,000 labels, beside what human labels cost.

Cost is why people pick RLAIF: Lee et al. 2023 ("RLAIF vs. RLHF: Scaling Reinforcement
Learning from Human Feedback with AI Feedback", appendix on cost) estimate $0.06 per AI
label against $0.67 per human label. A *label* is one judged pair (both orders shown), so
it is one row of the judgments frame; every row records its ``tokens_in``, ``tokens_out``
and ``seconds`` (summed over the two orders). Money is tokens times the configured prices
per 1,000 tokens; compute is the recorded seconds, which for an API judge are request
latencies (several run at once, so they exceed wall time) and for a local judge its share
of the batched passes. An INVALID label was paid for but is of no use, so the cost per
usable label is given too.
"""
from __future__ import annotations

import math

import pandas as pd

from core.config import JudgeConfig

RLAIF_PAPER_AI_LABEL_COST = 0.06
RLAIF_PAPER_HUMAN_LABEL_COST = 0.67
COST_COLUMNS = ("tokens_in", "tokens_out", "seconds")


def label_cost(judgments: pd.DataFrame, *, price_per_1k_input_tokens: float = 0.0,
               price_per_1k_output_tokens: float = 0.0, human_label_cost: float = RLAIF_PAPER_HUMAN_LABEL_COST,
               reference_ai_label_cost: float = RLAIF_PAPER_AI_LABEL_COST) -> dict:
    """Compute seconds, tokens and money per 1,000 labels of a judgments frame.

    ``judgments`` has one row per label with ``tokens_in``, ``tokens_out`` and ``seconds``
    (a ``verdict`` column, when present, tells usable labels from INVALID ones). Prices are
    money per 1,000 tokens; ``human_label_cost`` and ``reference_ai_label_cost`` are money
    per label. Returns a dict: ``n_labels``, ``n_usable``, ``seconds_per_1k_labels``,
    ``tokens_in_per_1k_labels``, ``tokens_out_per_1k_labels``, ``money_per_1k_labels``,
    ``money_per_1k_usable_labels``, ``human_money_per_1k_labels``,
    ``reference_ai_money_per_1k_labels``, ``human_to_judge_cost_ratio`` (how many times
    dearer human labels are; inf for a judge that costs no money) and the prices used.
    Per-label values are NaN for an empty frame. Raises ValueError naming a missing column
    or a negative price.
    """
    missing = [c for c in COST_COLUMNS if c not in judgments.columns]
    if missing:
        raise ValueError(f"judgments frame lacks cost column(s) {missing}; it has {list(judgments.columns)}")
    prices = {"price_per_1k_input_tokens": price_per_1k_input_tokens,
              "price_per_1k_output_tokens": price_per_1k_output_tokens,
              "human_label_cost": human_label_cost, "reference_ai_label_cost": reference_ai_label_cost}
    for name, value in prices.items():
        if not (isinstance(value, (int, float)) and value >= 0 and math.isfinite(value)):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    n = len(judgments)
    usable = n if "verdict" not in judgments.columns else int((judgments["verdict"] != "INVALID").sum())
    per_1k = (lambda total: 1000.0 * total / n) if n else (lambda total: math.nan)
    tokens_in = float(judgments["tokens_in"].sum())
    tokens_out = float(judgments["tokens_out"].sum())
    money = tokens_in / 1000 * price_per_1k_input_tokens + tokens_out / 1000 * price_per_1k_output_tokens
    money_per_1k = per_1k(money)
    human_per_1k = 1000.0 * human_label_cost
    return {
        "n_labels": n,
        "n_usable": usable,
        "seconds_per_1k_labels": per_1k(float(judgments["seconds"].sum())),
        "tokens_in_per_1k_labels": per_1k(tokens_in),
        "tokens_out_per_1k_labels": per_1k(tokens_out),
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


def format_cost(cost: dict) -> str:
    """Two lines for the text report: the judge's cost per 1,000 labels, and human labels beside it."""
    if not cost["n_labels"]:
        return "  cost                no labels"
    ratio = cost["human_to_judge_cost_ratio"]
    dearer = "" if not math.isfinite(ratio) else f"; humans {ratio:.0f}x dearer"
    return (f"  cost / 1,000 labels {_duration(cost['seconds_per_1k_labels'])} compute, "
            f"{cost['tokens_in_per_1k_labels'] / 1000:.0f}k tokens in, "
            f"{cost['tokens_out_per_1k_labels'] / 1000:.1f}k out, "
            f"${cost['money_per_1k_labels']:.2f} at ${cost['price_per_1k_input_tokens']:g}/"
            f"${cost['price_per_1k_output_tokens']:g} per 1k tokens in/out\n"
            f"  human labels        ${cost['human_money_per_1k_labels']:.2f} per 1,000{dearer} "
            f"(RLAIF paper: ${cost['reference_ai_money_per_1k_labels']:.0f} AI vs "
            f"${1000 * RLAIF_PAPER_HUMAN_LABEL_COST:.0f} human)")


def _ratio(numerator: float, denominator: float) -> float:
    if math.isnan(denominator) or numerator == denominator == 0:
        return math.nan
    return math.inf if denominator == 0 else numerator / denominator


def _duration(seconds: float) -> str:
    if math.isnan(seconds):
        return "n/a"
    return f"{seconds:.0f} s" if seconds < 3600 else f"{seconds / 3600:.1f} h"
