"""Stage 6 with RLOO: REINFORCE with a leave-one-out baseline, through TRL's ``RLOOTrainer``.

Each prompt is sampled ``rl.samples_per_prompt`` times; a sample's advantage is its reward minus
the mean reward of the other samples of the same prompt, the KL to the round's starting policy
(``ppo.kl_coef`` x the summed per-token log-ratio) taken off the reward first. This is the
optimiser the RLAIF paper trained with (REINFORCE with a baseline, beta = 0.05), with no value
model, so each update runs two models fewer than PPO. Rollouts, checkpoints and metric keys are
shared with GRPO (``core/loop/rollouts.py``); the reward is a scorer (``core/loop/rewards.py``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from core.config import PPOStageConfig, RLConfig


def run_rloo(policy_path: str | Path, scorer, prompts: Sequence[str], cfg: PPOStageConfig, rl: RLConfig,
             out_dir: str | Path, *, callback_factory: Callable | None = None,
             checkpoint_dir: str | Path | None = None, report_to: Sequence[str] = ()) -> Path:
    """Fine-tune the policy with RLOO against ``scorer``; save it to ``out_dir`` and return that path
    (see ``core.loop.rollouts.run_group_trainer`` for callbacks, checkpoints and resume)."""
    from trl import RLOOConfig, RLOOTrainer

    from core.loop.rollouts import run_group_trainer

    return run_group_trainer(RLOOTrainer, RLOOConfig, {}, policy_path, scorer, prompts, cfg, rl, out_dir,
                             callback_factory=callback_factory, checkpoint_dir=checkpoint_dir, report_to=report_to)
