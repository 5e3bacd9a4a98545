"""Stage 6, whichever optimiser the run chose (``rl.algorithm``) and whichever reward (``rl.reward``).

``run_rl`` hands the stage to ``ppo.run_ppo``, ``rloo.run_rloo`` or ``grpo.run_grpo``; each is one
module around one TRL trainer, and only ``ppo`` imports ``trl.experimental``. Whatever the trainer,
a callback gets an object whose ``drain()`` returns the rollouts scored since the last update and
what scoring cost, and ``metric_keys`` turns the trainer's logs into the keys every run writes
(``core/loop/rollouts.py``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from core.config import PPOStageConfig, RLConfig


def metric_keys(rl: RLConfig, cfg: PPOStageConfig) -> Callable[[dict], dict]:
    """What the store callback applies to each update's logs: PPO's are kept as TRL writes them."""
    if rl.algorithm == "ppo":
        return dict
    from core.loop.rollouts import house_keys

    return lambda logs: house_keys(logs, cfg.kl_coef)


def make_scorer(rl: RLConfig, policy_path, *, reward_path=None, judge=None, judge_prices: tuple[float, float] = (0, 0)):
    """The RLOO/GRPO reward function: the reward model at ``reward_path``, or ``judge`` (d-RLAIF)."""
    from core.loop.rewards import JudgeScorer, RewardModelScorer

    if rl.reward == "judge":
        if judge is None:
            raise ValueError("rl.reward 'judge' needs the run's judge")
        from core.models import load_tokenizer

        return JudgeScorer(judge, load_tokenizer(policy_path).eos_token_id, price_in=judge_prices[0],
                           price_out=judge_prices[1])
    if reward_path is None:
        raise ValueError("rl.reward 'reward_model' needs the round's reward model")
    return RewardModelScorer.from_path(reward_path)


def run_rl(policy_path: str | Path, prompts: Sequence[str], cfg: PPOStageConfig, rl: RLConfig, out_dir: str | Path,
           *, reward_path: str | Path | None = None, judge=None, judge_prices: tuple[float, float] = (0.0, 0.0),
           callback_factory: Callable | None = None, checkpoint_dir: str | Path | None = None,
           report_to: Sequence[str] = ()) -> Path:
    """Fine-tune the policy with ``rl.algorithm``; save it to ``out_dir`` and return that path."""
    if rl.algorithm == "ppo":
        from core.loop.ppo import run_ppo

        if reward_path is None:
            raise ValueError("PPO needs the round's reward model")
        return run_ppo(policy_path, reward_path, prompts, cfg, out_dir, callback_factory=callback_factory,
                       checkpoint_dir=checkpoint_dir, report_to=report_to)
    scorer = make_scorer(rl, policy_path, reward_path=reward_path, judge=judge, judge_prices=judge_prices)
    if rl.algorithm == "rloo":
        from core.loop.rloo import run_rloo as run
    elif rl.algorithm == "grpo":
        from core.loop.grpo import run_grpo as run
    else:  # RLConfig validates the name; this guards a new algorithm without a branch
        raise ValueError(f"rl.algorithm {rl.algorithm!r} has no trainer")
    return run(policy_path, scorer, prompts, cfg, rl, out_dir, callback_factory=callback_factory,
               checkpoint_dir=checkpoint_dir, report_to=report_to)
