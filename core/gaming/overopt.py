"""The over-optimisation picture: proxy reward against KL, beside an audited win rate.

The proxy reward (``objective/scores``) and the KL to the reference (``objective/kl``) are
logged by TRL at every PPO update. The audited estimate comes from
``core.gaming.callback.OverOptimisationCallback``: every N updates it samples the policy
and the reference policy on held-out prompts and asks the run's judge which is better
(``overopt/judge_win_rate``); where people have labelled those pairs,
``human_win_rate`` gives theirs. Rising proxy reward with a flat or falling audited win
rate is reward over-optimisation (Gao et al. 2023, "Scaling laws for reward model
overoptimization").

Pairs are stored with response A = the policy's sample, B = the reference's, and an id
that carries the update (``eval_pair_id``), so human labels can be matched to their step.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.schema import Judgment, Preference

_PAIR_ID = re.compile(r"/s(\d+)/p(\d+)$")
PROXY_KEY, KL_KEY, JUDGE_KEY = "objective/scores", "objective/kl", "overopt/judge_win_rate"


def eval_pair_id(prefix: str, step: int, index: int) -> str:
    return f"{prefix}/s{int(step)}/p{int(index)}"


def eval_step(pair_id: str) -> int | None:
    """The PPO update an evaluation pair was drawn at, or None for any other pair id."""
    m = _PAIR_ID.search(str(pair_id))
    return int(m.group(1)) if m else None


def heldout_prompts(pool: Sequence[str], used: Sequence[str], n: int, *, seed: int = 0) -> list[str]:
    """A seeded sample of ``n`` distinct prompts from ``pool`` that are not in ``used``.

    Fewer than ``n`` when the pool runs out; never a prompt the policy trained on."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n!r}")
    taken = set(used)
    fresh = list(dict.fromkeys(p for p in pool if p not in taken))
    order = np.random.default_rng(seed).permutation(len(fresh))
    return [fresh[i] for i in order[:n]]


def win_rate_score(labels: Sequence) -> float:
    """(wins + ties / 2) / decided labels for response A, in [0, 1]; 0.5 is a draw.

    ``labels`` are Preference values or 'A'/'B'/'TIE' strings; INVALID or missing labels are
    left out; NaN when none is left."""
    vals = [Preference.parse(v) for v in labels if v is not None and not (isinstance(v, float) and np.isnan(v))]
    points = [1.0 if v is Preference.A else 0.5 if v is Preference.TIE else 0.0
              for v in vals if v is not Preference.INVALID]
    return float(np.mean(points)) if points else float("nan")


def judge_win_metrics(judgments: Sequence[Judgment]) -> dict[str, float]:
    """The policy's (response A's) judge win rate, tie rate and how many pairs were readable."""
    verdicts = [j.verdict for j in judgments]
    readable = [v for v in verdicts if v is not Preference.INVALID]
    return {"overopt/judge_win_rate": win_rate_score(verdicts),
            "overopt/judge_tie_rate": float(np.mean([v is Preference.TIE for v in readable])) if readable
            else float("nan"),
            "overopt/n_pairs": float(len(judgments)), "overopt/n_invalid": float(len(verdicts) - len(readable))}


def human_win_rate(labels: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """The policy's win rate against the reference by human labels, per PPO update.

    ``labels``: the store's human labels (pair_id, annotator, label); ``pairs``: the
    evaluation pairs (pair_id; A is the policy). Each pair scores the mean over its
    annotators (A 1, TIE 0.5, B 0); a step's rate is the mean over its labelled pairs.
    Columns: step, n_pairs, n_labels, human_win_rate.
    """
    columns = ["step", "n_pairs", "n_labels", "human_win_rate"]
    ids = set(pairs["pair_id"])
    mine = labels[labels["pair_id"].isin(ids)].copy()
    if mine.empty:
        return pd.DataFrame(columns=columns)
    mine["points"] = mine["label"].map(lambda v: win_rate_score([v]))
    mine = mine.dropna(subset=["points"])
    per_pair = mine.groupby("pair_id").agg(points=("points", "mean"), n_labels=("points", "size")).reset_index()
    per_pair["step"] = per_pair["pair_id"].map(eval_step)
    per_pair = per_pair.dropna(subset=["step"])
    out = per_pair.groupby("step").agg(n_pairs=("points", "size"), n_labels=("n_labels", "sum"),
                                       human_win_rate=("points", "mean")).reset_index()
    out["step"] = out["step"].astype(int)
    return out[columns]


def overoptimisation_frame(metrics: pd.DataFrame, human: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per PPO update: kl, proxy_reward, judge_win_rate and human_win_rate (NaN where not measured).

    ``metrics`` is the store's metrics frame of the PPO stage (step, key, value) for one
    round; ``human`` is the output of ``human_win_rate``."""
    keys = {KL_KEY: "kl", PROXY_KEY: "proxy_reward", JUDGE_KEY: "judge_win_rate"}
    sub = metrics[metrics["key"].isin(list(keys))]
    wide = sub.pivot_table(index="step", columns="key", values="value", aggfunc="last").rename(columns=keys)
    wide = wide.reindex(columns=list(keys.values())).reset_index()
    if human is not None and not human.empty:
        wide = wide.merge(human[["step", "human_win_rate"]], on="step", how="left")
    else:
        wide["human_win_rate"] = np.nan
    return wide.sort_values("step").reset_index(drop=True)
