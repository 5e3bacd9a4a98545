"""The RL stage of a round as the pipeline runs it: whichever ``rl.algorithm`` and ``rl.reward``,
resumable from its last checkpoint, reporting to the store.

At every update the rollouts the reward scored go to ``ppo_samples``, and their lengths, the gaming
monitor's metrics (``core/gaming/monitor.py``) and what scoring cost (``reward_cost/...``) go to
the metrics (stage ``ppo``, the name every algorithm writes under, so older runs read the same);
flags go to the round's ``gaming_flags`` file; every ``monitor.eval_every`` updates the judge
compares the policy with the reference on held-out prompts (``core/gaming/callback.py``). The
run's row names the stage by its algorithm ('rloo · round 0').
"""
from __future__ import annotations

import math
import shutil
from pathlib import Path

from core.config import RunConfig
from core.store import Store

METRICS_STAGE = "ppo"  # the store's stage of RL metrics and samples, for every algorithm


def rl_for_round(store: Store, run_id: str, cfg: RunConfig, round_: int, policy, reward_path, prompts, reporter,
                 folder: Path) -> Path:
    """RL for the round into ``folder/policy``, resuming from its last checkpoint when a killed run left one."""
    from core.gaming.monitor import GamingMonitor, write_flags_jsonl
    from core.loop.rl import run_rl
    from core.loop.rollouts import latest_checkpoint

    done = store.get_artifact(run_id, round_, "policy")
    if done:
        return Path(done)
    out = folder / "policy"
    checkpoints = folder / "ppo_checkpoints"
    resumed = latest_checkpoint(checkpoints) if cfg.ppo.checkpoint_every else None
    if resumed:
        store.add_metrics(run_id, round_, "resume", resumed[0], {"ppo_from_step": resumed[0]})
    # the monitor picks up the updates before the checkpoint from the stored rollouts; flags of
    # updates after it are dropped, as those updates run again
    past = store.ppo_samples_frame(run_id)
    past = past[(past["round"] == round_) & (past["step"] <= (resumed[0] if resumed else 0))]
    monitor = GamingMonitor.from_samples(cfg.monitor, past)
    flags_path = folder / "gaming_flags.jsonl"
    write_flags_jsonl(flags_path, monitor.flags)
    store.set_artifact(run_id, round_, "gaming_flags", flags_path)
    judge = _reward_judge(store, cfg)
    overopt = overoptimisation_check(store, run_id, cfg, round_, policy, judge=judge)
    try:
        with reporter.stage(cfg.rl.algorithm, cfg.ppo.updates) as progress:
            callbacks = _callbacks(store, run_id, cfg, round_, monitor, flags_path, overopt, progress, folder)
            run_rl(policy, [p.text for p in prompts], cfg.ppo, cfg.rl, out, reward_path=reward_path, judge=judge,
                   judge_prices=(cfg.judge.price_per_1k_input_tokens, cfg.judge.price_per_1k_output_tokens),
                   callback_factory=callbacks, checkpoint_dir=checkpoints, report_to=_passed_trackers(cfg))
    finally:
        for j in {id(j): j for j in (overopt.judge if overopt else None, judge) if j is not None}.values():
            j.close()
    store.set_artifact(run_id, round_, "policy", out)
    shutil.rmtree(checkpoints, ignore_errors=True)
    return out


def _reward_judge(store, cfg):
    """The run's judge as the reward (``rl.reward: judge``), or None."""
    if cfg.rl.reward != "judge":
        return None
    from core.judges import make_judge

    return make_judge(cfg.judge, store=store)


def _passed_trackers(cfg: RunConfig) -> list[str]:
    """Trackers handed to transformers; TensorBoard is written by the store callback's mirror instead."""
    return [t for t in cfg.trackers if t != "tensorboard"]


def tensorboard_mirrors(cfg: RunConfig, folder: Path, stage: str) -> list:
    """``[TensorBoardMirror]`` writing to ``folder/tensorboard/<stage>`` when ``report_to`` names it."""
    if "tensorboard" not in cfg.trackers:
        return []
    from core.loop.callbacks import TensorBoardMirror

    return [TensorBoardMirror(folder / "tensorboard" / stage)]


def _callbacks(store, run_id, cfg, round_, monitor, flags_path, overopt, progress, folder):
    """The callback factory: given the object that scores rollouts, the callbacks that record each update."""
    from core.gaming.monitor import append_flags_jsonl
    from core.loop.callbacks import StoreCallback
    from core.loop.rl import metric_keys
    from core.loop.rollouts import length_metrics

    def factory(scorer):
        def extra(step: int) -> dict:
            samples, cost = scorer.drain()
            store.add_ppo_samples(run_id, round_, step, samples)
            metrics = {**length_metrics(samples), **cost}
            scored = [s for s in samples if math.isfinite(s["score"])]  # an unreadable verdict scores nothing
            if cfg.monitor.enabled:
                metrics.update(monitor.update(step, scored))
                append_flags_jsonl(flags_path, monitor.flags_at(step))
            return metrics

        store_cb = StoreCallback(store, run_id, round_, METRICS_STAGE, extra=extra,
                                 progress=lambda s, t: progress.set(s, t), translate=metric_keys(cfg.rl, cfg.ppo),
                                 mirrors=tensorboard_mirrors(cfg, folder, cfg.rl.algorithm))
        return [store_cb] + ([overopt] if overopt else [])

    return factory


def overoptimisation_check(store, run_id, cfg, round_, reference, *, judge=None):
    """The callback that judges policy against reference-policy samples on held-out prompts
    during RL, or None when it is off or every prompt was used for training. Its pairs go to
    dataset 'ppo-eval/<run_id>' (no run_id, so they never train a reward model), ready for
    human spot-checks. ``judge``: the run's judge when already loaded (the d-RLAIF reward's)."""
    if not cfg.monitor.eval_every:
        return None
    from core.data.prompts_file import load_prompts
    from core.gaming.callback import OverOptimisationCallback
    from core.gaming.overopt import heldout_prompts
    from core.judges import make_judge

    used = store.prompts_frame(run_id)["text"].tolist()
    held_out = heldout_prompts([p.text for p in load_prompts(cfg.prompts.path)], used, cfg.monitor.n_eval_prompts,
                               seed=cfg.monitor.eval_seed + round_)
    if not held_out:
        return None

    def on_result(step, metrics, pairs, judgments):
        store.add_pairs(pairs, dataset=f"ppo-eval/{run_id}")
        store.add_judgments(judgments)
        store.add_metrics(run_id, round_, METRICS_STAGE, step, metrics)

    return OverOptimisationCallback(judge or make_judge(cfg.judge, store=store), held_out, every=cfg.monitor.eval_every,
                                    max_new_tokens=cfg.ppo.response_length, temperature=cfg.ppo.temperature,
                                    seed=cfg.monitor.eval_seed, id_prefix=f"{run_id}/ppo-eval/r{round_}",
                                    round_=round_, reference=reference, on_result=on_result)
