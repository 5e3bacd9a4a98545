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
from typing import TYPE_CHECKING

import pandas as pd

from core.audit.frames import COST_COLUMNS
from core.config import JudgeConfig

if TYPE_CHECKING:
    from core.store import Store

RLAIF_PAPER_AI_LABEL_COST = 0.06
RLAIF_PAPER_HUMAN_LABEL_COST = 0.67


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
    n = len(judgments)
    usable = n if "verdict" not in judgments.columns else int((judgments["verdict"] != "INVALID").sum())
    return cost_from_totals(n, usable, float(judgments["tokens_in"].sum()), float(judgments["tokens_out"].sum()),
                            float(judgments["seconds"].sum()), price_per_1k_input_tokens=price_per_1k_input_tokens,
                            price_per_1k_output_tokens=price_per_1k_output_tokens, human_label_cost=human_label_cost,
                            reference_ai_label_cost=reference_ai_label_cost)


def cost_from_totals(n_labels: int, n_usable: int, tokens_in: float, tokens_out: float, seconds: float, *,
                     price_per_1k_input_tokens: float = 0.0, price_per_1k_output_tokens: float = 0.0,
                     human_label_cost: float = RLAIF_PAPER_HUMAN_LABEL_COST,
                     reference_ai_label_cost: float = RLAIF_PAPER_AI_LABEL_COST) -> dict:
    """``label_cost`` from the sums of a judge's labels (``Store.judgment_cost_totals``)."""
    prices = {"price_per_1k_input_tokens": price_per_1k_input_tokens,
              "price_per_1k_output_tokens": price_per_1k_output_tokens,
              "human_label_cost": human_label_cost, "reference_ai_label_cost": reference_ai_label_cost}
    for name, value in prices.items():
        if not (isinstance(value, (int, float)) and value >= 0 and math.isfinite(value)):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    n, usable = int(n_labels), int(n_usable)
    per_1k = (lambda total: 1000.0 * total / n) if n else (lambda total: math.nan)
    money = tokens_in / 1000 * price_per_1k_input_tokens + tokens_out / 1000 * price_per_1k_output_tokens
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


def source_costs(store: Store, source: str, *, price_per_1k_input_tokens: float = 0.0,
                 price_per_1k_output_tokens: float = 0.0,
                 human_label_cost: float = RLAIF_PAPER_HUMAN_LABEL_COST) -> dict[str, dict]:
    """``label_cost`` per judge of one pair source (``dataset:<name>`` or ``run:<id>``), by judge name.

    The sums come from SQL (``Store.judgment_cost_totals``); every judge is priced at the same
    token prices, so the judges and the human cost compare.
    """
    return costs_from_totals(store.judgment_cost_totals(source), price_per_1k_input_tokens=price_per_1k_input_tokens,
                             price_per_1k_output_tokens=price_per_1k_output_tokens, human_label_cost=human_label_cost)


def costs_from_totals(totals: pd.DataFrame, **prices) -> dict[str, dict]:
    """``source_costs`` from ``Store.judgment_cost_totals``'s frame (which the dashboard caches)."""
    return {str(row.judge): cost_from_totals(row.n_labels, row.n_usable, row.tokens_in, row.tokens_out, row.seconds,
                                             **prices) for row in totals.itertuples(index=False)}


def cost_table(costs: dict[str, dict]) -> pd.DataFrame:
    """One row per judge of ``source_costs``: compute, tokens and money per 1,000 labels, beside humans
    (``humans x dearer`` is left empty for a judge that costs no money)."""
    from core.judges.identity import display_names

    shown = display_names(list(costs))
    rows = [{"judge": shown[judge], "labels": c["n_labels"], "usable labels": c["n_usable"],
             "compute s / 1k labels": c["seconds_per_1k_labels"],
             "tokens in / 1k labels": c["tokens_in_per_1k_labels"],
             "tokens out / 1k labels": c["tokens_out_per_1k_labels"],
             "$ / 1k labels": c["money_per_1k_labels"], "$ / 1k usable labels": c["money_per_1k_usable_labels"],
             "human $ / 1k labels": c["human_money_per_1k_labels"],
             "humans x dearer": c["human_to_judge_cost_ratio"]} for judge, c in costs.items()]
    return pd.DataFrame(rows).replace([math.inf], math.nan).round(4)


def cost_sentence(judge: str, cost: dict) -> str:
    """The judge's cost per 1,000 labels beside 1,000 human labels, in plain words."""
    from core.judges.identity import readable

    judge = readable(judge)
    if not cost["n_labels"]:
        return f"{judge} has no labels here yet, so there is no cost to show."
    p_in, p_out = cost["price_per_1k_input_tokens"], cost["price_per_1k_output_tokens"]
    tokens = cost["tokens_in_per_1k_labels"] + cost["tokens_out_per_1k_labels"]
    if p_in or p_out:
        money = (f"cost {_money(cost['money_per_1k_labels'])} at {_money(p_in)} / {_money(p_out)} per 1,000 tokens "
                 "in / out")
    elif tokens > 0:  # tokens were spent, but at no price given: "free" would be a claim nobody measured
        money = f"used {tokens:,.0f} tokens, whose money cost is not counted because no token prices are set"
    else:
        money = "cost nothing in tokens, as it used none"
    invalid = cost["n_labels"] - cost["n_usable"]
    if invalid and (p_in or p_out):  # an INVALID label was paid for but teaches nothing
        money += (f" ({invalid} of its {cost['n_labels']} labels {'was' if invalid == 1 else 'were'} INVALID, "
                  f"so 1,000 usable labels cost {_money(cost['money_per_1k_usable_labels'])})")
    ratio = cost["human_to_judge_cost_ratio"]
    times = "" if not math.isfinite(ratio) else (
        f", {ratio:,.{0 if ratio >= 10 else 1}f} times as much" if ratio >= 1
        else f", {ratio:.2f} times as much: this judge costs more")
    return (f"1,000 labels from {judge} took {_duration_words(cost['seconds_per_1k_labels'])} of compute and "
            f"{money}; 1,000 human labels at {_money(cost['human_label_cost'])} each cost "
            f"{_money(cost['human_money_per_1k_labels'])}{times}.")


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


def _duration_words(seconds: float) -> str:
    if math.isnan(seconds):
        return "an unknown time"
    if seconds < 90:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _money(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"${value:,.2f}" if value == 0 or value >= 0.01 else f"${value:.2g}"
