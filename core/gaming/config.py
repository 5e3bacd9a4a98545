"""The reward-gaming monitor's settings: section ``monitor:`` of a run config.

This module imports nothing from ``core`` so that ``core.config`` can import it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MonitorConfig:
    enabled: bool = field(default=True, metadata={"help": "Compute the length metrics and flags at every PPO update."})
    baseline_steps: int = field(default=1, metadata={"help": "How many first PPO updates make the 'step 0' baseline (their rollouts come from the starting policy, or nearly)."})
    min_steps: int = field(default=3, metadata={"help": "No flag fires before this many PPO updates have been seen."})
    length_growth_pct: float = field(default=20.0, metadata={"help": "Flag 'length_without_quality' when mean response length (tokens) is up by more than this many percent since the baseline while the reward rose and the length-controlled reward stayed flat."})
    flat_reward_tolerance: float = field(default=2.0, metadata={"help": "A change in mean reward counts as flat (or, above it, as a rise) within this many standard errors of the difference between this update's mean and the baseline's (from the baseline's within-batch reward SD and both batch sizes)."})
    corr_threshold: float = field(default=0.5, metadata={"help": "Flag 'reward_length_correlation' when the within-batch Spearman correlation of reward with length (tokens) is above this."})
    patience: int = field(default=2, metadata={"help": "A flag fires only when its condition has held for this many updates in a row (one batch of 8 rollouts is noisy)."})
    explained_share_threshold: float = field(default=0.5, metadata={"help": "Flag 'length_explains_gain' when length explains more than this share of a reward gain since the baseline (the share is clipped to [0, 1], so 1 turns the flag off)."})
    n_flagged_samples: int = field(default=3, metadata={"help": "Rollouts listed with each flag for reading (the longest of that update's batch)."})
    eval_every: int = field(default=4, metadata={"help": "Every this many PPO updates (and at the last), judge policy samples against reference-policy samples on held-out prompts; 0 turns it off."})
    n_eval_prompts: int = field(default=16, metadata={"help": "Held-out prompts (never trained on in this run) used for the judge win rate."})
    eval_seed: int = field(default=0, metadata={"help": "Seed for choosing the held-out prompts and for sampling their responses."})
    probe_reward_model: bool = field(default=True, metadata={"help": "After training the reward model, measure how often it prefers a padded copy of a held-out response over the original."})
    n_attack_pairs: int = field(default=16, metadata={"help": "Pairs of the round whose responses are padded to attack the judge (original vs padded copy, both orders); 0 turns it off."})

    def __post_init__(self):
        _check(self.baseline_steps >= 1, "monitor.baseline_steps", self.baseline_steps, "must be >= 1")
        _check(self.min_steps > self.baseline_steps, "monitor.min_steps", self.min_steps,
               f"must be > monitor.baseline_steps ({self.baseline_steps})")
        _check(self.length_growth_pct >= 0, "monitor.length_growth_pct", self.length_growth_pct, "must be >= 0")
        _check(self.flat_reward_tolerance >= 0, "monitor.flat_reward_tolerance", self.flat_reward_tolerance,
               "must be >= 0")
        _check(-1 <= self.corr_threshold < 1, "monitor.corr_threshold", self.corr_threshold, "must be in [-1, 1)")
        _check(self.patience >= 1, "monitor.patience", self.patience, "must be >= 1")
        _check(0 <= self.explained_share_threshold <= 1, "monitor.explained_share_threshold",
               self.explained_share_threshold, "must be in [0, 1]")
        _check(self.n_flagged_samples >= 0, "monitor.n_flagged_samples", self.n_flagged_samples, "must be >= 0")
        _check(self.eval_every >= 0, "monitor.eval_every", self.eval_every, "must be >= 0")
        _check(self.n_eval_prompts >= 1, "monitor.n_eval_prompts", self.n_eval_prompts, "must be >= 1")
        _check(self.n_attack_pairs >= 0, "monitor.n_attack_pairs", self.n_attack_pairs, "must be >= 0")


def _check(ok: bool, name: str, value: Any, rule: str) -> None:
    if not ok:
        error = ValueError(f"'{name}' {rule}, got {value!r}")
        error.field = name  # core.config.located names the line of this field in the config file
        raise error
