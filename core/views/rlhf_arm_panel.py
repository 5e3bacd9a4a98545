"""What the monitor shows of the RLHF arm: both reward models side by side, with 95% CIs, and
a sentence that says when their difference is within noise.

Read from the metrics of stage 'reward_arms' (``core.human_labels.rlhf_arm``). CIs are Wilson intervals
over the held-out pairs (a tie in reward counts half a pair, as in the accuracy itself).
"""
from __future__ import annotations

import math

import pandas as pd

from core.audit.bootstrap import wilson_interval, wilson_separation
from core.human_labels.rlhf_arm import ARMS, STAGE
from core.store import Store
from core.wording import interval

ARM_NAMES = {"judge": "RLAIF: trained on the judge's labels", "human": "RLHF: trained on human labels"}
COLUMNS = ["round", "reward model", "held-out pairs", "vs human labels", "human ci95 low", "human ci95 high",
           "vs judge labels", "judge ci95 low", "judge ci95 high", "held-out pairs ranked differently",
           "train accuracy", "training pairs", "training labels that differ"]


def arms_table(store: Store, run_id: str) -> pd.DataFrame:
    """One row per round and arm: held-out accuracy against human labels and against the judge's,
    each with its 95% CI, over the same held-out pairs. Empty when the arm never ran."""
    metrics = store.metrics_frame(run_id, stage=STAGE)
    rows = []
    for round_, group in metrics.groupby("round"):
        values = dict(zip(group["key"], group["value"]))
        n = int(values.get("arms/n_heldout", 0))
        for arm in ARMS:
            row = {"round": int(round_), "reward model": ARM_NAMES[arm], "held-out pairs": n,
                   "held-out pairs ranked differently": values.get("arms/n_heldout_rank_differ", math.nan),
                   "train accuracy": values.get(f"{arm}_arm/train_accuracy", math.nan),
                   "training pairs": int(values.get("arms/n_train", 0)),
                   "training labels that differ": int(values.get("arms/n_train_labels_differ", 0))}
            for against in ("human", "judge"):
                accuracy = values.get(f"{arm}_arm/heldout_{against}_accuracy", math.nan)
                low, high = _interval(accuracy, n)
                row |= {f"vs {against} labels": accuracy, f"{against} ci95 low": low, f"{against} ci95 high": high}
            rows.append(row)
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["held-out pairs ranked differently"] = table["held-out pairs ranked differently"].astype("Int64")
    return table


def arms_reading(table: pd.DataFrame) -> list[str]:
    """One paragraph per round: both arms on held-out human labels; whether the CIs overlap and,
    when they do, the smallest difference that held-out set could show (``wilson_separation``);
    and whether the two reward models' verdicts are identical (equal accuracies by construction)."""
    out = []
    for round_, rows in table.groupby("round"):
        judge, human = (rows[rows["reward model"] == ARM_NAMES[a]].iloc[0] for a in ARMS)
        n = int(judge["held-out pairs"])
        if n == 0 or math.isnan(human["vs human labels"]):
            out.append(f"Round {round_}: no held-out pair with both a human label and a judge winner "
                       f"({int(judge['training pairs'])} pairs in all), so the arms were not compared.")
            continue
        text = (f"Round {round_}, on the same {n} held-out pairs: the reward model trained on human labels agrees "
                f"with people on {_pct(human, 'human')}, the one trained on the judge's labels on "
                f"{_pct(judge, 'human')}. ")
        if human["human ci95 low"] > judge["human ci95 high"]:
            text += "The CIs do not overlap: the human-label reward model is the more accurate one here."
        elif judge["human ci95 low"] > human["human ci95 high"]:
            text += "The CIs do not overlap: the judge-label reward model is the more accurate one here."
        else:
            text += (f"The CIs overlap: no difference beyond noise at {n} held-out pairs. "
                     + _too_small(n, (human["vs human labels"] + judge["vs human labels"]) / 2))
        text += _same_verdicts(judge["held-out pairs ranked differently"], n)
        differ = int(judge["training labels that differ"])
        text += (f" Both trained on the same {int(judge['training pairs'])} pairs, whose labels differ on {differ} "
                 f"(where judge and people disagree).")
        out.append(text)
    return out


def _too_small(n: int, accuracy: float) -> str:
    """What this held-out set can tell apart: the smallest difference at which two 95% Wilson
    intervals at ``n`` stop overlapping, around the observed accuracy."""
    k = wilson_separation(n, rate=accuracy)
    if k is None:
        return (f"{n} held-out pairs are too few to tell the arms apart at all: even {n} of {n} right against "
                f"0 of {n} would leave two 95% Wilson intervals overlapping.")
    return (f"The held-out set is too small to tell apart arms that differ by less than {k} of {n} pairs "
            f"({100 * k / n:.0f} percentage points): the smallest difference at which two 95% Wilson intervals at n = {n}, around "
            f"the observed {accuracy:.0%}, stop overlapping.")


def _same_verdicts(ranked_differently, n: int) -> str:
    """Whether the two reward models prefer different responses on any held-out pair."""
    if pd.isna(ranked_differently):  # a run recorded before this count was kept
        return ""
    if int(ranked_differently) == 0:
        return (f" The two reward models prefer the same response on all {n} held-out pairs: their verdicts are "
                "identical, so their accuracies are equal by construction, not evidence that the labels make no "
                "difference.")
    return f" They prefer different responses on {int(ranked_differently)} of the {n} held-out pairs."


def _interval(accuracy: float, n: int) -> tuple[float, float]:
    if n == 0 or math.isnan(accuracy):
        return math.nan, math.nan
    low, high = wilson_interval(accuracy * n, n)
    return low, high


def _pct(row: pd.Series, against: str) -> str:
    """'69% (9 of 13, 95% CI 42%–87%)'; a pair whose two rewards tie counts half."""
    accuracy, n = row[f"vs {against} labels"], int(row["held-out pairs"])
    right = round(2 * accuracy * n) / 2
    return (f"{accuracy:.0%} ({right:g} of {n}, "
            f"{interval(row[f'{against} ci95 low'], row[f'{against} ci95 high'])})")
