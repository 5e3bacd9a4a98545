"""What the training monitor shows: curves per stage from the store, and a plain-words reading."""
from __future__ import annotations

import pandas as pd

from core.runs.store import RunStatus, Store

PPO_REWARD_KEYS = ["objective/scores", "objective/rlhf_reward"]
PPO_KL_KEYS = ["objective/kl", "objective/entropy"]
PPO_LENGTH_KEYS = ["response/mean_tokens", "response/mean_chars"]
RM_KEYS = ["loss", "accuracy", "margin"]


def training_metrics(store: Store, run_id: str) -> dict[str, pd.DataFrame]:
    metrics = store.metrics_frame(run_id)
    return {stage: metrics[metrics["stage"] == stage] for stage in ("reward", "reward_eval", "ppo")}


def is_live(store: Store, run_id: str) -> bool:
    return not RunStatus(store.get_run(run_id)["status"]).is_finished()


def length_reading(ppo: pd.DataFrame) -> str | None:
    """One sentence on how response length and reward moved during PPO (None before two steps)."""
    tokens = ppo[ppo["key"] == "response/mean_tokens"].sort_values(["round", "step"])
    scores = ppo[ppo["key"] == "objective/scores"].sort_values(["round", "step"])
    if len(tokens) < 2 or len(scores) < 2:
        return None
    t0, t1 = tokens["value"].iloc[0], tokens["value"].iloc[-1]
    s0, s1 = scores["value"].iloc[0], scores["value"].iloc[-1]
    change = (t1 - t0) / t0 if t0 else float("nan")
    text = (f"Mean response length went from {t0:.0f} to {t1:.0f} tokens ({change:+.0%}) while the reward "
            f"model's score went from {s0:.2f} to {s1:.2f}.")
    if change > 0.2 and s1 > s0:
        text += " The policy is getting longer as the reward rises: check whether it is also getting better."
    return text


def rm_summary(store: Store, run_id: str) -> pd.DataFrame:
    """Held-out accuracy of each round's reward model: against the judge and against humans."""
    ev = store.metrics_frame(run_id, stage="reward_eval")
    if ev.empty:
        return ev
    return ev.pivot_table(index="round", columns="key", values="value").reset_index()


MAX_COMPARED = 4  # runs overlaid on one chart: more than four colours per subplot stop being readable


def run_label(run: dict) -> str:
    """A short legend name: the run's name and the last characters of its id (names repeat)."""
    return f"{run['name']} [{run['run_id'][-6:]}]"


def compare_metrics(store: Store, run_ids: list[str], stage: str) -> dict[str, pd.DataFrame]:
    """``{legend label: metrics of stage}`` for each run, in the order given (the first is the run in focus)."""
    if len(run_ids) > MAX_COMPARED:
        raise ValueError(f"at most {MAX_COMPARED} runs can be overlaid, got {len(run_ids)}")
    return {run_label(store.get_run(r)): store.metrics_frame(r, stage=stage) for r in run_ids}


def kl_note(ppo: dict[str, pd.DataFrame] | pd.DataFrame) -> str | None:
    """What a negative KL means, when some PPO update logged one (None otherwise)."""
    frames = ppo.values() if isinstance(ppo, dict) else [ppo]
    kl = pd.concat([m.loc[m["key"] == "objective/kl", "value"] for m in frames])
    negative = kl[kl < 0]
    if negative.empty:
        return None
    return (f"KL below zero at {len(negative)} of {len(kl)} updates (lowest {negative.min():.3g}). The true KL "
            "to the reference is never negative; TRL logs an estimate from the sampled responses: the mean over "
            "the batch of the summed log π(token) − log π_ref(token). On one batch that estimate can fall below "
            "zero when the policy has barely moved from the reference. Read it as 'no measurable drift', not as "
            "a policy closer than identical; a large negative value would point to a bug, not to drift.")
