"""How long a run will take, from the stage timings of finished runs in the same store.

A stage's duration is read from the timestamps the run already wrote (no extra bookkeeping):
generation ends when the round's first pair is stored, judging with its last judgment (or the
judge's padding attack), the reward model with its evaluation metrics, PPO with its last
update. Each stage's seconds are divided by the work it did (responses x tokens, pairs, pairs x
epochs, rollouts x tokens), and the new run's work is priced at the median rate of finished
runs that used the same policy and judge: a time measured with other models says nothing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from core.config import RunConfig, config_from_dict
from core.store import RunStatus, Store

STAGES = ("generation", "judging", "reward model", "PPO")


def stage_work(cfg: RunConfig) -> dict[str, float]:
    """The work of one round per stage, in the units its rate is measured in."""
    n_resp = cfg.prompts.n * cfg.generation.responses_per_prompt
    n_pairs = cfg.prompts.n * math.comb(cfg.generation.responses_per_prompt, 2)
    return {"generation": n_resp * cfg.generation.max_new_tokens, "judging": n_pairs,
            "reward model": n_pairs * cfg.reward.epochs,
            "PPO": cfg.ppo.updates * cfg.ppo.batch_size * cfg.ppo.response_length}


def models_key(cfg: RunConfig) -> tuple:
    """What a stage's speed depends on beyond its amount of work: the models, and the RL optimiser and
    reward (an RLOO update costs less than a PPO one; a judge reward more than a reward model's)."""
    return (cfg.policy_model, cfg.judge.backend, cfg.judge.model, cfg.judge.method, cfg.rl.algorithm, cfg.rl.reward,
            cfg.rl.lora_r)


def stage_seconds(store: Store, run_id: str) -> pd.DataFrame | None:
    """Seconds per (round, stage) of a run that succeeded without a resume; None otherwise
    (a resumed run's timestamps include the time it lay dead)."""
    run = store.get_run(run_id)
    metrics = store.metrics_frame(run_id)
    if run["status"] != RunStatus.SUCCEEDED.value or (metrics["stage"] == "resume").any():
        return None
    pairs = store.pairs_frame(run_id=run_id)[["pair_id", "round", "created_at"]]
    judged = store.judgments_frame(run_id=run_id)[["pair_id", "created_at"]].merge(
        pairs[["pair_id", "round"]], on="pair_id")
    rows, start = [], float(run["created_at"])
    for round_ in sorted(pairs["round"].unique()):
        m = metrics[metrics["round"] == round_]
        ends = [pairs.loc[pairs["round"] == round_, "created_at"].min(),
                max(judged.loc[judged["round"] == round_, "created_at"].max(),
                    m.loc[m["stage"] == "judge_attack", "created_at"].max(), key=_or_zero),
                m.loc[m["stage"].isin(["reward", "reward_eval", "reward_probe"]), "created_at"].max(),
                m.loc[m["stage"] == "ppo", "created_at"].max()]
        if round_ == pairs["round"].max():
            ends[-1] = float(run["updated_at"])  # saving the last policy belongs to the run too
        if any(pd.isna(e) for e in ends):
            return None
        for stage, end in zip(STAGES, ends):
            rows.append({"round": int(round_), "stage": stage, "seconds": float(end) - start})
            start = float(end)
    return pd.DataFrame(rows) if rows else None


def _or_zero(x) -> float:
    return 0.0 if pd.isna(x) else float(x)


@dataclass(frozen=True)
class Estimate:
    seconds: float | None
    per_stage: dict[str, float]
    n_runs: int
    text: str
    low: float | None = None  # the fastest and slowest of the finished runs, each priced for this config
    high: float | None = None


def estimate_run(store: Store, cfg: RunConfig) -> Estimate:
    """The run's expected wall time: each finished run with the same policy and judge in ``store``
    prices this config at its own per-stage rates; the estimate is their median, per stage, and
    their range says how much the runs disagreed. ``seconds`` is None (``text`` says why) without one."""
    priced = [_priced(timings, past, cfg) for past, timings in _matching_timings(store, cfg)]
    who = (f"policy '{cfg.policy_model}', {cfg.judge.backend} judge '{cfg.judge.model}' ({cfg.judge.method}) and "
           f"RL '{cfg.rl.algorithm}' against the {cfg.rl.reward.replace('_', ' ')}")
    if not priced:
        return Estimate(None, {}, 0, f"No estimate yet: no run with {who} has finished in this store.")
    frame = pd.DataFrame(priced)
    per_stage = {s: float(frame[s].median()) for s in STAGES}
    total, totals = sum(per_stage.values()), frame.sum(axis=1)
    parts = ", ".join(f"{s} {format_seconds(v)}" for s, v in per_stage.items())
    spread = (f"; priced at each run's own speed: {format_seconds(totals.min())} to {format_seconds(totals.max())}"
              if len(priced) > 1 else "")
    text = (f"Estimated time: about {format_seconds(total)} ({parts}), from {len(priced)} finished "
            f"run{'s' if len(priced) != 1 else ''} with {who} in this store{spread}. Other work on this machine "
            "changes it.")
    return Estimate(total, per_stage, len(priced), text, float(totals.min()), float(totals.max()))


def _matching_timings(store: Store, cfg: RunConfig):
    """(config, stage timings) of each succeeded, never-resumed run with the models of ``cfg``."""
    for run in store.list_runs().to_dict("records"):
        if run["status"] != RunStatus.SUCCEEDED.value:
            continue
        try:
            past = config_from_dict(store.get_run(run["run_id"])["config"])
        except ValueError:  # a run stored by an older version whose config no longer validates
            continue
        timings = stage_seconds(store, run["run_id"]) if models_key(past) == models_key(cfg) else None
        if timings is not None:
            yield past, timings


def _priced(timings: pd.DataFrame, past: RunConfig, cfg: RunConfig) -> dict[str, float]:
    """Seconds per stage for ``cfg`` at the rates (seconds per unit of work, all rounds) of a past run."""
    spent = timings.groupby("stage")["seconds"].sum()
    done, todo = stage_work(past), stage_work(cfg)
    rounds = timings["round"].nunique()
    return {s: float(spent[s]) / max(done[s] * rounds, 1e-9) * todo[s] * cfg.rounds for s in STAGES}


def format_seconds(seconds: float) -> str:
    """'0.4 s', '8 s', '4.5 min', '2.1 h'."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
