"""What the judge's labels cost, as the Agreement page, the report and the command line show it:
a table per judge, a sentence beside human labels, and two lines of text. The numbers are
``core.audit.cost``'s."""
from __future__ import annotations

import math

import pandas as pd

from core.audit.cost import RLAIF_PAPER_HUMAN_LABEL_COST, costs_from_totals
from core.judges.identity import display_names, readable
from core.store import Store

__all__ = ["COST_COLUMN_HELP", "RLAIF_PAPER_HUMAN_LABEL_COST", "cost_sentence", "cost_table", "costs_from_totals",
           "format_cost", "source_costs"]


def source_costs(store: Store, source: str, *, price_per_1k_input_tokens: float = 0.0,
                 price_per_1k_output_tokens: float = 0.0,
                 human_label_cost: float = RLAIF_PAPER_HUMAN_LABEL_COST,
                 price_per_compute_hour: float = 0.0) -> dict[str, dict]:
    """``label_cost`` per judge of one pair source (``dataset:<name>`` or ``run:<id>``), by judge name.

    The sums come from SQL (``Store.judgment_cost_totals``); every judge is priced at the same
    token and compute-hour prices, so the judges and the human cost compare.
    """
    return costs_from_totals(store.judgment_cost_totals(source), price_per_1k_input_tokens=price_per_1k_input_tokens,
                             price_per_1k_output_tokens=price_per_1k_output_tokens, human_label_cost=human_label_cost,
                             price_per_compute_hour=price_per_compute_hour)


def cost_table(costs: dict[str, dict]) -> pd.DataFrame:
    """One row per judge of ``source_costs``, then one for human labels: labels, compute time, tokens
    (whole numbers) and money per 1,000 labels, and how many times dearer human labels are (empty
    for a judge that costs no money). Few columns, so the table fits a laptop screen."""
    shown = display_names(list(costs))
    rows = [{"Judge": shown[judge], "Labels (usable)": f"{c['n_labels']:,} ({c['n_usable']:,})",
             "Compute / 1k": _duration_words(c["seconds_per_1k_labels"]),
             "Tokens in / out / 1k": f"{_whole(c['tokens_in_per_1k_labels'])} / "
                                     f"{_whole(c['tokens_out_per_1k_labels'])}",
             "$ / 1k labels": c["money_per_1k_labels"], "$ / 1k usable": c["money_per_1k_usable_labels"],
             "Humans × dearer": c["human_to_judge_cost_ratio"]} for judge, c in costs.items()]
    if costs:
        human = next(iter(costs.values()))["human_money_per_1k_labels"]
        rows.append({"Judge": "human labels", "Labels (usable)": "", "Compute / 1k": "not measured",
                     "Tokens in / out / 1k": "", "$ / 1k labels": human, "$ / 1k usable": human,
                     "Humans × dearer": math.nan})
    return pd.DataFrame(rows).replace([math.inf], math.nan).round(2)


COST_COLUMN_HELP = {  # what each short column header of ``cost_table`` means (the page shows it on hover)
    "Labels (usable)": "Judged pairs, and how many of them were not INVALID.",
    "Compute / 1k": "Compute time per 1,000 labels: for a local judge its share of the batched passes, for an API "
                    "judge the request latencies (which overlap).",
    "Tokens in / out / 1k": "Prompt and generated tokens per 1,000 labels.",
    "$ / 1k labels": "Money per 1,000 labels at the token prices and the price per compute hour above.",
    "$ / 1k usable": "Money per 1,000 labels that were not INVALID (an INVALID label is paid for too).",
    "Humans × dearer": "How many times as much 1,000 human labels cost; empty for a judge that costs no money.",
}


def _whole(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f}"


def cost_sentence(judge: str, cost: dict) -> str:
    """The judge's cost per 1,000 labels beside 1,000 human labels, in plain words."""
    judge = readable(judge)
    if not cost["n_labels"]:
        return f"{judge} has no labels here yet, so there is no cost to show."
    p_in, p_out = cost["price_per_1k_input_tokens"], cost["price_per_1k_output_tokens"]
    p_hour = cost.get("price_per_compute_hour", 0.0)
    tokens = cost["tokens_in_per_1k_labels"] + cost["tokens_out_per_1k_labels"]
    priced = ([f"{_money(p_in)} / {_money(p_out)} per 1,000 tokens in / out"] if p_in or p_out else []) + (
        [f"{_money(p_hour)} per compute hour"] if p_hour else [])
    computed = cost["seconds_per_1k_labels"] >= 1  # a yardstick's microseconds are no compute worth pricing
    if priced:
        money = f"cost {_money(cost['money_per_1k_labels'])} at {' and '.join(priced)}"
    elif tokens > 0:  # tokens were spent, but at no price given: "free" would be a claim nobody measured
        money = f"used {tokens:,.0f} tokens, whose money cost is not counted because no token prices are set"
    elif computed:  # a local judge: its cost is the machine's time, which $0 would leave out
        money = ("used no paid tokens; its compute is not priced, so its money cost is not counted (set a price "
                 "per compute hour to count it)")
    else:
        money = "cost nothing in tokens, as it used none"
    invalid = cost["n_labels"] - cost["n_usable"]
    if invalid and priced:  # an INVALID label was paid for but teaches nothing
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
            f"${cost['price_per_1k_output_tokens']:g} per 1k tokens in/out"
            f" and ${cost.get('price_per_compute_hour', 0.0):g} per compute hour\n"
            f"  human labels        ${cost['human_money_per_1k_labels']:.2f} per 1,000{dearer} "
            f"(RLAIF paper: ${cost['reference_ai_money_per_1k_labels']:.0f} AI vs "
            f"${1000 * RLAIF_PAPER_HUMAN_LABEL_COST:.0f} human)")


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
