"""Run configuration: one frozen, documented dataclass per stage, composed into RunConfig.

Unknown keys, wrong types and values out of range raise ``ConfigError`` naming the file, the
line of the offending key and the field, the way nanoGPT's configurator refuses unknown keys. The resolved config (relative paths made
absolute) is what a run stores. Secrets never live here: an API judge names the
environment variable that holds its key.
"""
from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.data.textfiles import line_of_key, read_yaml


class ConfigError(ValueError):
    """A config file or dict that cannot be used; the message names the file, the line and the field."""


@dataclass(frozen=True)
class PromptsConfig:
    path: str = field(default="prompts.jsonl", metadata={"label": "Prompts (JSONL/CSV/HF dataset folder)", "help": "JSONL, CSV, or a HF dataset saved on disk; needs a 'prompt' column."})
    n: int = field(default=32, metadata={"label": "Prompts per round", "help": "How many prompts to sample per round."})
    n_clusters: int = field(default=8, metadata={"label": "Prompt clusters (TF-IDF k-means)", "help": "TF-IDF k-means clusters that the sample is spread across."})
    seed: int = field(default=0, metadata={"label": "Sampling seed", "help": "Seed for clustering and sampling."})

    def __post_init__(self):
        _check(self.n >= 1, "prompts.n", self.n, "must be >= 1")
        _check(self.n_clusters >= 1, "prompts.n_clusters", self.n_clusters, "must be >= 1")


@dataclass(frozen=True)
class GenerationConfig:
    responses_per_prompt: int = field(default=2, metadata={"label": "Responses per prompt", "help": "Responses sampled per prompt; pairs are formed from them."})
    max_new_tokens: int = field(default=64, metadata={"label": "Longest response (tokens)", "help": "Longest response, in tokens."})
    temperature: float = field(default=0.9, metadata={"label": "Sampling temperature", "help": "Sampling temperature (> 0)."})
    top_p: float = field(default=0.95, metadata={"label": "Nucleus sampling (top-p)", "help": "Nucleus sampling mass in (0, 1]."})
    batch_size: int = field(default=16, metadata={"label": "Prompts per generate call", "help": "Prompts per generate() call (left-padded)."})
    seed: int = field(default=0, metadata={"label": "Sampling seed", "help": "Seed for sampling."})

    def __post_init__(self):
        _check(self.responses_per_prompt >= 2, "generation.responses_per_prompt", self.responses_per_prompt, "must be >= 2")
        _check(self.max_new_tokens >= 1, "generation.max_new_tokens", self.max_new_tokens, "must be >= 1")
        _check(self.temperature > 0, "generation.temperature", self.temperature, "must be > 0")
        _check(0 < self.top_p <= 1, "generation.top_p", self.top_p, "must be in (0, 1]")
        _check(self.batch_size >= 1, "generation.batch_size", self.batch_size, "must be >= 1")


CONSTITUTION_REF = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.-]{0,63})@([1-9][0-9]{0,8})")  # judge.constitution
JUDGE_BACKENDS = ("local", "openai", "longest", "shortest", "random", "calibrated")
JUDGE_METHODS = ("letters", "pointwise", "likelihood", "generate")


@dataclass(frozen=True)
class JudgeConfig:
    backend: str = field(default="local", metadata={"label": "Judge backend", "help": f"One of {JUDGE_BACKENDS}."})
    model: str = field(default="smollm2-135m", metadata={"label": "Judge model (local name/folder, or the API model)", "help": "'local': 'smollm2-135m', 'tiny', or a local HF model directory; 'openai': the served model name."})
    method: str = field(default="letters", metadata={"label": "Local judge method", "help": f"For backend 'local': one of {JUDGE_METHODS} (see core/judges/local.py; 'generate' is core/judges/generate_parse.py). 'openai' reads letters only."})
    principles: str = field(default="", metadata={"label": "Principles file", "help": "Text file of principles the judge is shown; empty: the packaged constitution (core/judges/constitution.txt), found from any folder."})
    constitution: str = field(default="", metadata={"label": "Constitution version (instead of the principles file)", "help": "NAME@VERSION of a constitution version kept in the run store (`rlaif-audit constitution list`, the Constitution page), e.g. 'default@2': the judge is shown that version's text instead of the principles file. A run resolves it when it starts (the file of that text, beside the store, becomes judge.principles), so its stored config names both."})
    calibration: str = field(default="", metadata={"label": "Calibration file (backend 'calibrated')", "help": "'calibrated': the JSON file `python -m core calibrate` wrote (core/judges/calibrated_model.py); it names the raw judges it reads."})
    tie_margin: float = field(default=0.0, metadata={"label": "Tie margin (TIE when |P − 0.5| is at most this)", "help": "Verdict is TIE when |P(A better) - 0.5| <= this."})
    batch_size: int = field(default=8, metadata={"label": "Sequences per forward pass", "help": "Sequences per forward pass (local methods 'likelihood' and 'generate')."})
    pass_tokens: int = field(default=2048, metadata={"label": "Tokens per forward pass", "help": "Local methods 'letters' and 'pointwise': tokens per forward pass, packed from the prompts' shared prefix tree."})
    max_response_chars: int = field(default=1500, metadata={"label": "Responses cut to (characters)", "help": "Responses are cut to this many characters before judging."})
    seed: int = field(default=0, metadata={"label": "Seed of the 'random' judge", "help": "Seed for the 'random' backend."})
    base_url: str = field(default="", metadata={"label": "API base URL", "help": "'openai': the server's base URL, e.g. http://127.0.0.1:8000/v1."})
    api_key_env: str = field(default="", metadata={"label": "Environment variable holding the API key", "help": "'openai': name of the environment variable holding the API key (the key is never stored)."})
    concurrency: int = field(default=4, metadata={"label": "API requests in flight", "help": "'openai': requests in flight at once."})
    timeout_s: float = field(default=60.0, metadata={"label": "API request timeout (s)", "help": "'openai': seconds before a request is retried."})
    max_retries: int = field(default=5, metadata={"label": "API retries", "help": "'openai': retries on timeouts, 429 and 5xx, with backoff."})
    backoff_s: float = field(default=1.0, metadata={"label": "First retry wait (s)", "help": "'openai': wait before the first retry; doubles per retry (jittered, capped at 30 s) unless the server sends Retry-After."})
    max_answer_tokens: int = field(default=3, metadata={"label": "Longest judge answer (tokens)", "help": "'openai' and method 'generate': most tokens the judge may answer with before its answer is parsed."})
    price_per_1k_input_tokens: float = field(default=0.0, metadata={"label": "Price per 1,000 input tokens ($)", "help": "Money per 1,000 prompt tokens, for the cost report."})
    price_per_1k_output_tokens: float = field(default=0.0, metadata={"label": "Price per 1,000 output tokens ($)", "help": "Money per 1,000 generated tokens, for the cost report."})
    human_label_cost: float = field(default=0.67, metadata={"label": "Cost of one human label ($)", "help": "Money per human label, shown beside the judge's cost (RLAIF paper: $0.67 human vs $0.06 AI)."})

    def __post_init__(self):
        _check(self.backend in JUDGE_BACKENDS, "judge.backend", self.backend, f"must be one of {JUDGE_BACKENDS}")
        _check(self.method in JUDGE_METHODS, "judge.method", self.method, f"must be one of {JUDGE_METHODS}")
        _check(not self.constitution or bool(CONSTITUTION_REF.fullmatch(self.constitution)), "judge.constitution",
               self.constitution, "must be NAME@VERSION, e.g. 'default@2' (a name of letters, digits, '.', '_', '-')")
        _check(0 <= self.tie_margin < 0.5, "judge.tie_margin", self.tie_margin, "must be in [0, 0.5)")
        _check(self.batch_size >= 1, "judge.batch_size", self.batch_size, "must be >= 1")
        _check(self.pass_tokens >= 1, "judge.pass_tokens", self.pass_tokens, "must be >= 1")
        _check(self.concurrency >= 1, "judge.concurrency", self.concurrency, "must be >= 1")
        _check(self.backend != "openai" or bool(self.base_url), "judge.base_url", self.base_url,
               "is required for backend 'openai'")
        _check(self.backend != "calibrated" or bool(self.calibration), "judge.calibration", self.calibration,
               "is required for backend 'calibrated'")
        _check(self.backend != "openai" or self.method == "letters", "judge.method", self.method,
               "must be 'letters' for backend 'openai'")
        _check(self.timeout_s > 0, "judge.timeout_s", self.timeout_s, "must be > 0")
        _check(self.max_retries >= 0, "judge.max_retries", self.max_retries, "must be >= 0")
        _check(self.backoff_s >= 0, "judge.backoff_s", self.backoff_s, "must be >= 0")
        _check(1 <= self.max_answer_tokens <= 64, "judge.max_answer_tokens", self.max_answer_tokens, "must be in [1, 64]")
        for name in ("price_per_1k_input_tokens", "price_per_1k_output_tokens", "human_label_cost"):
            _check(getattr(self, name) >= 0, f"judge.{name}", getattr(self, name), "must be >= 0")


PRECISIONS = ("fp32", "bf16", "auto")
_PRECISION_HELP = ("One of {}. 'fp32': every number in float32. 'bf16': the training forward and backward passes "
                   "in bfloat16 mixed precision (weights, gradients' accumulation and the optimiser stay float32; "
                   "transformers' bf16 autocast). 'auto': bf16 where the hardware computes it natively (a CPU with "
                   "AVX512-BF16 or AMX, a GPU that supports it), else fp32. Generation, judging and the reported "
                   "accuracies stay float32 either way.").format(PRECISIONS)


@dataclass(frozen=True)
class RewardConfig:
    epochs: float = field(default=2.0, metadata={"label": "RM epochs", "help": "Passes over the preference pairs."})
    learning_rate: float = field(default=5e-5, metadata={"label": "RM learning rate", "help": "AdamW learning rate."})
    batch_size: int = field(default=8, metadata={"label": "RM pairs per step", "help": "Pairs per step."})
    max_length: int = field(default=384, metadata={"label": "RM token limit (prompt + response)", "help": "Token limit for prompt + response; longer pairs are dropped."})
    eval_fraction: float = field(default=0.25, metadata={"label": "Held-out share of pairs", "help": "Share of pairs held out to measure accuracy."})
    seed: int = field(default=0, metadata={"label": "RM seed (split and head)", "help": "Seed for the split and the scalar head."})
    checkpoint_every: int = field(default=50, metadata={"label": "RM checkpoint every (steps)", "help": "Save a resumable checkpoint (weights, optimizer, RNG) every this many optimizer steps, keeping the last; a killed run resumes from it. 0 disables."})
    precision: str = field(default="fp32", metadata={"label": "RM training precision", "help": _PRECISION_HELP})
    rlhf_arm: bool = field(default=False, metadata={"label": "Compare with an RLHF reward model (RLHF arm)", "help": "Also compare RLAIF with RLHF each round: on the pairs that have both a human label and a judge winner (the human_pairs file, judged by the run's judge, and the run's own spot-checked pairs), train one reward model on the judge's labels and one on the human labels, with these settings and the same held-out split, and report both on the held-out human labels (stage 'reward_arms'). The two models are measured, then deleted; PPO uses the run's reward model as before."})

    def __post_init__(self):
        _check(self.epochs > 0, "reward.epochs", self.epochs, "must be > 0")
        _check(self.checkpoint_every >= 0, "reward.checkpoint_every", self.checkpoint_every, "must be >= 0")
        _check(self.learning_rate > 0, "reward.learning_rate", self.learning_rate, "must be > 0")
        _check(0 <= self.eval_fraction < 1, "reward.eval_fraction", self.eval_fraction, "must be in [0, 1)")
        _check(self.precision in PRECISIONS, "reward.precision", self.precision, f"must be one of {PRECISIONS}")


GATE_ACTIONS = ("stop", "warn")
HUMAN_PAIRS_SOURCE = "human_pairs"  # gate.source naming the run's own human_pairs file


@dataclass(frozen=True)
class GateConfig:
    min_agreement_lower_ci: float = field(default=0.0, metadata={"label": "Gate: minimum agreement (lower end of its 95% CI; 0 = off)", "help": "Before each round's reward model is trained, the judge's agreement with people (ties counted, as on the Agreement page) is measured on gate.source; when the lower end of its 95% bootstrap CI is below this, gate.action applies. 0 disables the gate."})
    source: str = field(default=HUMAN_PAIRS_SOURCE, metadata={"label": "Gate: human-labelled pairs to measure on", "help": "Human-labelled pairs to measure on: 'human_pairs' (the run's human_pairs file), a store source such as 'dataset:sample' or 'run:<id>', or a pairs JSONL file (relative to the config). Its labelled pairs are judged by the run's judge once; later runs with the same judge reuse the verdicts."})
    action: str = field(default="stop", metadata={"label": "Gate: action when below", "help": f"One of {GATE_ACTIONS}: 'stop' fails the run before training, with the measured agreement, its CI, the threshold and the source in its error; 'warn' records that message and goes on."})
    n_boot: int = field(default=1000, metadata={"label": "Gate: bootstrap resamples", "help": "Bootstrap resamples for the CI."})
    seed: int = field(default=0, metadata={"label": "Gate: bootstrap seed", "help": "Seed for the bootstrap."})

    def __post_init__(self):
        _check(0 <= self.min_agreement_lower_ci <= 1, "gate.min_agreement_lower_ci", self.min_agreement_lower_ci,
               "must be in [0, 1]")
        _check(self.action in GATE_ACTIONS, "gate.action", self.action, f"must be one of {GATE_ACTIONS}")
        _check(bool(self.source.strip()), "gate.source", self.source, "must name a pair source")
        _check(self.n_boot >= 100, "gate.n_boot", self.n_boot, "must be >= 100")

    @property
    def enabled(self) -> bool:
        return self.min_agreement_lower_ci > 0


def is_store_source(source: str) -> bool:
    """'dataset:<name>' or 'run:<id>': a pair source already in the store, not a file."""
    return source.startswith(("dataset:", "run:"))


@dataclass(frozen=True)
class PPOStageConfig:
    """The RL stage's optimisation settings (section ``ppo:``). Named for PPO, the first optimiser, so
    configs written before ``rl.algorithm`` existed load unchanged; RLOO and GRPO read the same fields."""

    updates: int = field(default=8, metadata={"label": "RL updates", "help": "Policy updates (rollout batches) per round, for every rl.algorithm."})
    batch_size: int = field(default=8, metadata={"label": "Rollouts per update", "help": "Rollouts per update. RLOO/GRPO: batch_size / rl.samples_per_prompt prompts, each sampled rl.samples_per_prompt times."})
    mini_batches: int = field(default=2, metadata={"label": "Mini-batches per update", "help": "Mini-batches per rollout batch; must divide batch_size. PPO: an optimizer step per mini-batch and epoch. RLOO/GRPO: gradient accumulation, one optimizer step per update (lower peak memory, same step)."})
    ppo_epochs: int = field(default=2, metadata={"label": "PPO epochs per batch", "help": "PPO only: optimisation passes over each rollout batch. RLOO and GRPO take one on-policy step per batch (REINFORCE-style, as in the RLAIF paper)."})
    response_length: int = field(default=48, metadata={"label": "Rollout length (tokens)", "help": "Tokens generated per rollout, at most."})
    kl_coef: float = field(default=0.05, metadata={"label": "KL coefficient", "help": "Weight of the KL penalty to the round's starting policy (TRL's kl_coef for PPO, beta for RLOO and GRPO; RLAIF paper: 0.05)."})
    learning_rate: float = field(default=3e-6, metadata={"label": "RL learning rate", "help": "AdamW learning rate (PPO: policy and value model)."})
    temperature: float = field(default=0.7, metadata={"label": "Rollout temperature", "help": "Rollout sampling temperature."})
    missing_eos_penalty: float = field(default=0.0, metadata={"label": "Penalty for never stopping (PPO)", "help": "PPO only: subtracted from the score of rollouts that never stop; 0 disables."})
    seed: int = field(default=0, metadata={"label": "RL seed", "help": "Seed for rollouts and optimisation."})
    checkpoint_every: int = field(default=4, metadata={"label": "RL checkpoint every (updates)", "help": "Save the policy (and PPO's value model) every this many updates (atomically, keeping the last); a killed run resumes RL from it, the reference policy staying the round's starting policy. 0 disables."})

    def __post_init__(self):
        _check(self.updates >= 1, "ppo.updates", self.updates, "must be >= 1")
        _check(self.checkpoint_every >= 0, "ppo.checkpoint_every", self.checkpoint_every, "must be >= 0")
        _check(self.mini_batches >= 1, "ppo.mini_batches", self.mini_batches, "must be >= 1")
        _check(self.batch_size % self.mini_batches == 0, "ppo.mini_batches", self.mini_batches, "must divide ppo.batch_size")
        _check(self.kl_coef >= 0, "ppo.kl_coef", self.kl_coef, "must be >= 0")


RL_ALGORITHMS = ("ppo", "rloo", "grpo")
RL_REWARDS = ("reward_model", "judge")
# Trackers transformers' Trainer can report to (besides the store, the source of truth); check_inputs
# refuses one that is not installed.
TRACKERS = ("tensorboard", "mlflow", "wandb", "trackio", "comet_ml", "clearml", "dvclive", "swanlab", "neptune",
            "aim", "codecarbon", "dagshub", "azure_ml", "flyte", "kubeflow")


@dataclass(frozen=True)
class RLConfig:
    """Which optimiser and which reward the RL stage uses (section ``rl:``); its step settings are ``ppo:``."""

    algorithm: str = field(default="ppo", metadata={"label": "RL optimiser", "help": f"One of {RL_ALGORITHMS}, each through TRL's own trainer with a KL penalty (ppo.kl_coef) to the round's starting policy. 'ppo': PPO with a value model (trl.experimental). 'rloo': REINFORCE with the other samples of the same prompt as baseline (RLAIF paper's optimiser), no value model. 'grpo': group-normalised advantages, KL in the loss, no value model."})
    reward: str = field(default="reward_model", metadata={"label": "RL reward", "help": f"One of {RL_REWARDS}. 'reward_model': the round's reward model scores each rollout. 'judge': d-RLAIF (Lee et al. 2023), no reward model is trained; the run's judge compares the two samples of each prompt, both orders, and each sample's reward is P(it beats the other). Needs rl.algorithm 'rloo' or 'grpo' and rl.samples_per_prompt 2."})
    samples_per_prompt: int = field(default=2, metadata={"label": "Samples per prompt (RLOO/GRPO)", "help": "RLOO/GRPO: rollouts per prompt in an update (the group the baseline is taken from); must divide ppo.batch_size. PPO samples one per prompt and ignores it."})
    lora_r: int = field(default=0, metadata={"label": "LoRA rank (0: full fine-tuning)", "help": "RLOO/GRPO: train LoRA adapters of this rank (peft) instead of every weight; the reference policy is then the adapter-free model, so no second copy is loaded. The saved policy has the adapters merged in. 0: full fine-tuning."})
    lora_alpha: float = field(default=16.0, metadata={"label": "LoRA alpha", "help": "LoRA scaling numerator (the update is scaled by lora_alpha / lora_r)."})
    precision: str = field(default="fp32", metadata={"label": "RL training precision (RLOO/GRPO)", "help": _PRECISION_HELP + " RLOO and GRPO only: PPO always computes in fp32."})

    def __post_init__(self):
        _check(self.algorithm in RL_ALGORITHMS, "rl.algorithm", self.algorithm, f"must be one of {RL_ALGORITHMS}")
        _check(self.reward in RL_REWARDS, "rl.reward", self.reward, f"must be one of {RL_REWARDS}")
        _check(self.lora_r >= 0, "rl.lora_r", self.lora_r, "must be >= 0")
        _check(self.lora_alpha > 0, "rl.lora_alpha", self.lora_alpha, "must be > 0")
        _check(self.precision in PRECISIONS, "rl.precision", self.precision, f"must be one of {PRECISIONS}")
        grouped = self.algorithm in ("rloo", "grpo")
        _check(not grouped or self.samples_per_prompt >= 2, "rl.samples_per_prompt", self.samples_per_prompt,
               f"must be >= 2 for rl.algorithm '{self.algorithm}' (its baseline is the other samples of the same prompt)")
        _check(self.reward != "judge" or grouped, "rl.reward", self.reward,
               "'judge' needs rl.algorithm 'rloo' or 'grpo': PPO samples one rollout per prompt, which a pairwise "
               "judge cannot score, and TRL's PPOTrainer takes a reward model only")
        _check(self.reward != "judge" or self.samples_per_prompt == 2, "rl.samples_per_prompt", self.samples_per_prompt,
               "must be 2 with rl.reward 'judge': a pairwise judge scores the two samples of a prompt against each other")
        _check(not self.lora_r or grouped, "rl.lora_r", self.lora_r, "applies to rl.algorithm 'rloo' and 'grpo' only")
        _check(self.precision != "bf16" or grouped, "rl.precision", self.precision,
               "'bf16' applies to rl.algorithm 'rloo' and 'grpo' only: TRL's experimental PPOTrainer runs its own "
               "loop without autocast, so PPO computes in fp32 ('auto' means fp32 there)")


@dataclass(frozen=True)
class MonitorConfig:
    """The reward-gaming monitor (section ``monitor:``): the length checks at every PPO update, the
    over-optimisation check on held-out prompts, and the padding attacks (``core/gaming/``)."""

    enabled: bool = field(default=True, metadata={"label": "Measure length and raise flags", "help": "Compute the length metrics and flags at every PPO update."})
    baseline_steps: int = field(default=1, metadata={"label": "Baseline updates", "help": "How many first PPO updates make the 'step 0' baseline (their rollouts come from the starting policy, or nearly)."})
    min_steps: int = field(default=3, metadata={"label": "Updates before any flag", "help": "No flag fires before this many PPO updates have been seen."})
    length_growth_pct: float = field(default=20.0, metadata={"label": "Length growth that flags (%)", "help": "Flag 'length_without_quality' when mean response length (tokens) is up by more than this many percent since the baseline while the reward rose and the length-controlled reward stayed flat."})
    flat_reward_tolerance: float = field(default=2.0, metadata={"label": "Flat reward within (standard errors)", "help": "A change in mean reward counts as flat (or, above it, as a rise) within this many standard errors of the difference between this update's mean and the baseline's (from the baseline's within-batch reward SD and both batch sizes)."})
    corr_threshold: float = field(default=0.5, metadata={"label": "Reward–length correlation that flags", "help": "Flag 'reward_length_correlation' when the within-batch Spearman correlation of reward with length (tokens) is above this."})
    patience: int = field(default=2, metadata={"label": "Updates a flag's condition must hold", "help": "A flag fires only when its condition has held for this many updates in a row (one batch of 8 rollouts is noisy)."})
    explained_share_threshold: float = field(default=0.5, metadata={"label": "Share of gain explained by length that flags", "help": "Flag 'length_explains_gain' when length explains more than this share of a reward gain since the baseline (the share is clipped to [0, 1], so 1 turns the flag off)."})
    n_flagged_samples: int = field(default=3, metadata={"label": "Rollouts listed per flag", "help": "Rollouts listed with each flag for reading (the longest of that update's batch)."})
    eval_every: int = field(default=4, metadata={"label": "Judge policy vs reference every (updates)", "help": "Every this many PPO updates (and at the last), judge policy samples against reference-policy samples on held-out prompts; 0 turns it off."})
    n_eval_prompts: int = field(default=16, metadata={"label": "Held-out prompts for the win rate", "help": "Held-out prompts (never trained on in this run) used for the judge win rate."})
    eval_seed: int = field(default=0, metadata={"label": "Held-out prompts seed", "help": "Seed for choosing the held-out prompts and for sampling their responses."})
    probe_reward_model: bool = field(default=True, metadata={"label": "Probe the reward model with padded answers", "help": "After training the reward model, measure how often it prefers a padded copy of a held-out response over the original."})
    n_attack_pairs: int = field(default=16, metadata={"label": "Pairs padded to attack the judge", "help": "Pairs of the round whose responses are padded to attack the judge (original vs padded copy, both orders); 0 turns it off."})

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


@dataclass(frozen=True)
class CalibrateConfig:
    from_spot_checks: bool = field(default=False, metadata={"label": "Calibrate the judge on spot-checks each round", "help": "From round 1 on, judge each round with a calibrated judge (core/judges/calibrated_model.py) fitted on the human labels given so far to this run's pairs of the earlier rounds, over the signals of the run's own judge and the length ratio. The fitted file, and which labels and annotators trained it, are kept with the round."})
    min_labels: int = field(default=20, metadata={"label": "Fewest labels to calibrate on", "help": "Fewest labelled pairs with a winner to fit on; with fewer, the round keeps the raw judge and says so."})
    C: float = field(default=1.0, metadata={"label": "Regularisation C (inverse L2 strength)", "help": "Inverse L2 strength of the calibrated judge's logistic regression."})

    def __post_init__(self):
        _check(self.min_labels >= 2, "calibrate.min_labels", self.min_labels, "must be >= 2")
        _check(self.C > 0, "calibrate.C", self.C, "must be > 0")


@dataclass(frozen=True)
class RunConfig:
    name: str = field(default="run", metadata={"label": "Run name", "help": "Label shown in the run list."})
    policy_model: str = field(default="smollm2-135m", metadata={"label": "Policy model ('smollm2-135m', 'tiny' or a folder)", "help": "'smollm2-135m' (embedded), 'tiny' (random init), or a local HF model directory."})
    rounds: int = field(default=1, metadata={"label": "Rounds", "help": "Loop rounds; round k+1 samples from the policy that round k trained."})
    human_pairs: str = field(default="", metadata={"label": "Human-labelled pairs file (JSONL)", "help": "Optional pairs JSONL with human labels: RM accuracy is also reported against them."})
    prompts: PromptsConfig = field(default_factory=PromptsConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    ppo: PPOStageConfig = field(default_factory=PPOStageConfig)
    rl: RLConfig = field(default_factory=RLConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    calibrate: CalibrateConfig = field(default_factory=CalibrateConfig)
    report_to: str = field(default="", metadata={"label": "Also report to (trackers)", "help": f"Trackers that also receive the training stages' metrics (reward model and RL), comma-separated, e.g. 'tensorboard'. 'tensorboard' writes event files to the run's folder, round<k>/tensorboard/<stage> (everything the store gets); others ({', '.join(TRACKERS[1:5])}, ...) get TRL's own logs through transformers when installed. The store stays the source of truth for the dashboard. Empty: none."})

    def __post_init__(self):
        _check(self.rounds >= 1, "rounds", self.rounds, "must be >= 1")
        unknown = [t for t in self.trackers if t not in TRACKERS]
        _check(not unknown, "report_to", self.report_to, f"names an unknown tracker {unknown[:1]}; known: {TRACKERS}")
        _check(self.rl.algorithm == "ppo" or self.ppo.batch_size % self.rl.samples_per_prompt == 0,
               "rl.samples_per_prompt", self.rl.samples_per_prompt, f"must divide ppo.batch_size ({self.ppo.batch_size})")
        _check(not (self.gate.enabled and self.gate.source == HUMAN_PAIRS_SOURCE and not self.human_pairs),
               "gate.source", self.gate.source, "names the run's human_pairs file, but human_pairs is not set")

    @property
    def trackers(self) -> tuple[str, ...]:
        """The names in ``report_to``, in order, without blanks or repeats."""
        return tuple(dict.fromkeys(t.strip() for t in self.report_to.split(",") if t.strip()))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# Fields holding file paths: resolved against the config file's folder when relative.
_PATH_FIELDS = {("prompts", "path"), ("judge", "principles"), ("judge", "calibration"), ("", "human_pairs"),
                ("gate", "source")}
_MODEL_FIELDS = {("", "policy_model"), ("judge", "model")}


def load_config(path: str | Path) -> RunConfig:
    """Read a YAML run config (as yaml.safe_load does) and resolve its relative paths."""
    path = Path(path)
    try:
        data, lines = read_yaml(path, error=ConfigError)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    return config_from_dict({} if data is None else data, source=str(path), base_dir=path.parent, lines=lines)


def config_from_dict(data: Any, *, source: str = "<dict>", base_dir: Path | None = None,
                     lines: Mapping[str, int] | None = None) -> RunConfig:
    """A RunConfig from plain data; ``lines`` (dotted key -> line in ``source``) lets errors name the line."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a run config must be a mapping, got {type(data).__name__}")
    if base_dir is not None:
        data = _resolve_paths(data, base_dir)
    try:
        return _build(RunConfig, data, prefix="")
    except ValueError as exc:  # from _build, or a __post_init__ check
        raise located(exc, source, lines) from exc


def located(exc: ValueError, source: str, lines: Mapping[str, int] | None = None) -> ConfigError:
    """``exc`` as a ConfigError naming ``source`` and, when ``exc.field`` is a key of ``lines``
    (or sits in a section that is), its line."""
    line = line_of_key(lines or {}, getattr(exc, "field", None))
    return ConfigError(f"{source}{'' if line is None else f', line {line}'}: {exc}")


def _resolve_paths(data: dict, base_dir: Path) -> dict:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for section, key in _PATH_FIELDS | _MODEL_FIELDS:
        holder = out.get(section) if section else out
        if not isinstance(holder, dict) or not isinstance(holder.get(key), str) or not holder[key]:
            continue
        value = holder[key]
        is_model_alias = (section, key) in _MODEL_FIELDS and "/" not in value and not value.startswith(".")
        is_not_a_file = (section, key) == ("gate", "source") and (value == HUMAN_PAIRS_SOURCE or is_store_source(value))
        if not is_model_alias and not is_not_a_file and not Path(value).is_absolute():
            holder[key] = str((base_dir / value).resolve())
    return out


def _build(cls, data: dict, prefix: str):
    """``cls`` from ``data``; a bad key or value raises a ValueError whose ``field`` is its dotted name
    (callers add the source with ``located``)."""
    if not isinstance(data, dict):
        name = prefix.rstrip(".")
        raise _field_error(name, f"'{name}' must be a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields), key=str)
    if unknown:
        name = f"{prefix}{unknown[0]}"
        raise _field_error(name, f"unknown key '{name}' (known: {', '.join(fields)})")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        kind = hints[name]
        if dataclasses.is_dataclass(kind):
            kwargs[name] = _build(kind, value, prefix=f"{prefix}{name}.")
        else:
            kwargs[name] = _coerce(value, kind, f"{prefix}{name}")
    return cls(**kwargs)


def _coerce(value: Any, kind: Any, where: str) -> Any:
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        if value is None:
            return None
        kind = next(k for k in typing.get_args(kind) if k is not type(None))
    ok = (
        (kind is bool and isinstance(value, bool))
        or (kind is int and isinstance(value, int) and not isinstance(value, bool))
        or (kind is float and isinstance(value, (int, float)) and not isinstance(value, bool))
        or (kind is str and isinstance(value, str))
    )
    if not ok:
        raise _field_error(where, f"'{where}' must be {kind.__name__}, got {type(value).__name__} {value!r}")
    return float(value) if kind is float else value


def _check(ok: bool, name: str, value: Any, rule: str) -> None:
    if not ok:
        raise _field_error(name, f"'{name}' {rule}, got {value!r}")


def _field_error(name: str, message: str) -> ValueError:
    """A ValueError about field ``name``; ``located`` reads ``field`` to find its line in the file."""
    error = ValueError(message)
    error.field = name
    return error


def with_overrides(cfg: RunConfig, overrides: dict[str, Any], *, source: str = "form") -> RunConfig:
    """A copy of ``cfg`` with dotted-key overrides (``{"ppo.kl_coef": 0.1}``), validated like a file."""
    data = cfg.to_dict()
    for dotted, value in overrides.items():
        holder, *path = data, *dotted.split(".")
        for key in path[:-1]:
            holder = holder.setdefault(key, {})
        holder[path[-1]] = value
    return config_from_dict(data, source=source)
