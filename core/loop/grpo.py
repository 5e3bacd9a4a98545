"""Stage 6 with GRPO: group-normalised advantages, through TRL's ``GRPOTrainer``.

Each prompt is sampled ``rl.samples_per_prompt`` times; a sample's advantage is its reward minus
the group's mean, divided by the group's standard deviation (TRL's ``scale_rewards='group'``).
Unlike RLOO, the KL to the round's starting policy is a term of the loss (TRL's k3 estimate per
token, weight ``ppo.kl_coef``), not a cut in the reward. The loss is TRL's default ``'dapo'``
(token-level sums over the batch's tokens), which does not favour long answers the way a
per-sequence mean ('grpo') does. No value model. Rollouts, checkpoints and metric keys are shared
with RLOO (``core/loop/rollouts.py``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from core.config import PPOStageConfig, RLConfig


def run_grpo(policy_path: str | Path, scorer, prompts: Sequence[str], cfg: PPOStageConfig, rl: RLConfig,
             out_dir: str | Path, *, callback_factory: Callable | None = None,
             checkpoint_dir: str | Path | None = None, report_to: Sequence[str] = ()) -> Path:
    """Fine-tune the policy with GRPO against ``scorer``; save it to ``out_dir`` and return that path
    (see ``core.loop.rollouts.run_group_trainer`` for callbacks, checkpoints and resume)."""
    from trl import GRPOConfig, GRPOTrainer

    from core.loop.rollouts import run_group_trainer

    return run_group_trainer(GRPOTrainer, GRPOConfig, {}, policy_path, scorer, prompts, cfg, rl, out_dir,
                             callback_factory=callback_factory, checkpoint_dir=checkpoint_dir, report_to=report_to)
