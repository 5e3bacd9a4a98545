"""How long a run will take, from the stage timings of finished runs in the same store.

A stage's duration is read from the timestamps the run already wrote (no extra bookkeeping):
generation ends when the round's first pair is stored, judging with its last judgment (or the
judge's padding attack), the reward model with its evaluation metrics, the RLHF arm
(``reward.rlhf_arm``) with its metrics, PPO with its last update. Each stage's seconds are
divided by the work it did (responses x tokens, pairs, pairs x epochs, two reward models x arm
pairs x epochs, rollouts x tokens), and the new run's work is priced at the median rate of
finished runs that used the same policy and judge: a time measured with other models says
nothing. The arm trains two more reward models per round, on the human-labelled pairs: a run
that had none is priced at the reward model's own rate per pair and epoch, and the new run's
arm pairs are counted as the lines of its ``human_pairs`` file (its own spot-checks, fewer, left
out), as a past run's are, so the share of pairs the arm leaves out is in the rate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from core.config import RunConfig, config_from_dict
from core.store import RunStatus, Store

STAGES = ("generation", "judging", "reward model", "RLHF arm", "PPO")
ARM_STAGES = ("reward_arms", "reward_judge_arm", "reward_human_arm")  # metrics the RLHF arm writes


def stage_work(cfg: RunConfig, arm_pairs: float | None = None) -> dict[str, float]:
    """The work of one round per stage, in the units its rate is measured in. ``arm_pairs``: the
    RLHF arm's pairs per round (default: ``human_pair_count`` of the config's file)."""
    n_resp = cfg.prompts.n * cfg.generation.responses_per_prompt
    n_pairs = cfg.prompts.n * math.comb(cfg.generation.responses_per_prompt, 2)
    if arm_pairs is None:
        arm_pairs = human_pair_count(cfg) if cfg.reward.rlhf_arm else 0
    return {"generation": n_resp * cfg.generation.max_new_tokens, "judging": n_pairs,
            "reward model": n_pairs * cfg.reward.epochs,
            "RLHF arm": 2 * arm_pairs * cfg.reward.epochs if cfg.reward.rlhf_arm else 0.0,
            "PPO": cfg.ppo.updates * cfg.ppo.batch_size * cfg.ppo.response_length}


def human_pair_count(cfg: RunConfig) -> int:
    """Pairs in the config's ``human_pairs`` file (its non-empty lines; 0 without one or unreadable)."""
    if not cfg.human_pairs:
        return 0
    try:
        with open(cfg.human_pairs, encoding="utf-8", errors="replace") as f:
            return sum(1 for line in f if line.strip())
    except OSError:
        return 0


def models_key(cfg: RunConfig) -> tuple:
    """What a stage's speed depends on beyond its amount of work: the models, and the RL optimiser and
    reward (an RLOO update costs less than a PPO one; a judge reward more than a reward model's), and
    the training stages' ``precision`` settings as written (PPO's is always fp32). Not resolved: 'auto'
    would need the hardware (torch and /proc/cpuinfo) on every rerun of the Runs page."""
    return (cfg.policy_model, cfg.judge.backend, cfg.judge.model, cfg.judge.method, cfg.rl.algorithm, cfg.rl.reward,
            cfg.rl.lora_r, cfg.reward.precision, "fp32" if cfg.rl.algorithm == "ppo" else cfg.rl.precision)


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
        reward_end = m.loc[m["stage"].isin(["reward", "reward_eval", "reward_probe"]), "created_at"].max()
        arm_end = m.loc[m["stage"].isin(ARM_STAGES), "created_at"].max()
        ends = [pairs.loc[pairs["round"] == round_, "created_at"].min(),
                max(judged.loc[judged["round"] == round_, "created_at"].max(),
                    m.loc[m["stage"] == "judge_attack", "created_at"].max(), key=_or_zero),
                reward_end, reward_end if pd.isna(arm_end) else arm_end,  # no arm: it took no time
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
    priced = [_priced(timings, past, cfg, arm_pairs) for past, timings, arm_pairs in _matching_timings(store, cfg)]
    who = (f"policy '{cfg.policy_model}', {cfg.judge.backend} judge '{cfg.judge.model}' ({cfg.judge.method}) and "
           f"RL '{cfg.rl.algorithm}' against the {cfg.rl.reward.replace('_', ' ')}")
    if not priced:
        return Estimate(None, {}, 0, f"No estimate yet: no run with {who} has finished in this store.")
    frame = pd.DataFrame(priced)
    per_stage = {s: float(frame[s].median()) for s in STAGES}
    total, totals = sum(per_stage.values()), frame.sum(axis=1)
    parts = ", ".join(f"{s} {format_seconds(v)}" for s, v in per_stage.items() if v or s != "RLHF arm")
    spread = (f"; priced at each run's own speed: {format_seconds(totals.min())} to {format_seconds(totals.max())}"
              if len(priced) > 1 else "")
    text = (f"Estimated time: about {format_seconds(total)} ({parts}), from {len(priced)} finished "
            f"run{'s' if len(priced) != 1 else ''} with {who} in this store{spread}. Other work on this machine "
            "changes it.")
    return Estimate(total, per_stage, len(priced), text, float(totals.min()), float(totals.max()))


def _matching_timings(store: Store, cfg: RunConfig):
    """(config, stage timings, RLHF-arm pairs per round) of each succeeded, never-resumed run with
    the models of ``cfg``."""
    for run in store.list_runs().to_dict("records"):
        if run["status"] != RunStatus.SUCCEEDED.value:
            continue
        try:
            past = config_from_dict(store.get_run(run["run_id"])["config"])
        except ValueError:  # a run stored by an older version whose config no longer validates
            continue
        timings = stage_seconds(store, run["run_id"]) if models_key(past) == models_key(cfg) else None
        if timings is not None:
            yield past, timings, _arm_pairs(store, run["run_id"], past)


def _arm_pairs(store: Store, run_id: str, past: RunConfig) -> float:
    """A past run's RLHF-arm pairs per round in the unit a new run's are counted in (its human_pairs
    file's lines, so the share the arm leaves out is in the rate); the pairs it used where that file is gone."""
    if not past.reward.rlhf_arm:
        return 0.0
    if lines := human_pair_count(past):
        return float(lines)
    arms = store.metrics_frame(run_id, stage="reward_arms")
    used = arms.loc[arms["key"] == "arms/n_pairs", "value"]
    return float(used.mean()) if len(used) else 0.0


def _priced(timings: pd.DataFrame, past: RunConfig, cfg: RunConfig, arm_pairs: float = 0.0) -> dict[str, float]:
    """Seconds per stage for ``cfg`` at the rates (seconds per unit of work, all rounds) of a past run.
    A past run without the RLHF arm prices the arm's two reward models at its reward model's rate."""
    spent = timings.groupby("stage")["seconds"].sum()
    done, todo = stage_work(past, arm_pairs), stage_work(cfg)
    rounds = timings["round"].nunique()
    rate = {s: float(spent[s]) / max(done[s] * rounds, 1e-9) for s in STAGES}
    if not done["RLHF arm"]:  # no arm (or nothing known of its pairs): the reward model's own rate
        rate["RLHF arm"] = rate["reward model"]
    return {s: rate[s] * todo[s] * cfg.rounds for s in STAGES}


def format_seconds(seconds: float) -> str:
    """'0.4 s', '8 s', '4.5 min', '2.1 h'."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
