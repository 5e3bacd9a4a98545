"""Is the RL policy being paid for length? Per-update length statistics and flags, from the rollouts.

``GamingMonitor.update(step, samples)`` takes one PPO update's scored rollouts (the
``RolloutRecorder`` samples: prompt, response, score, n_tokens, n_chars) and returns that
update's metrics; the flags it raises (with the rollouts to read) collect in ``.flags``.

Definitions (length in tokens; "baseline" is the mean over the first ``baseline_steps``
updates, whose rollouts come from the starting policy):

- ``reward_per_token`` b: the pooled within-batch least-squares slope of reward on length
  over every update seen so far, sum_t sum_i (L_ti - mean L_t)(r_ti - mean r_t) / sum_t
  sum_i (L_ti - mean L_t)^2. Within a batch every rollout comes from the same policy, so b
  measures what the reward model pays for length at a fixed policy; comparing batches would
  mix in whatever else the policy learned between them.
- ``length_controlled_reward`` at update t: mean r_t - b (mean L_t - L_0), the batch's
  reward had its mean length stayed at the baseline's L_0.
- ``length_explained_gain``: b (mean L_t - L_0); ``reward_gain``: mean r_t - r_0.
- ``length_explained_share``: length_explained_gain / reward_gain clipped to [0, 1]; NaN
  while |reward_gain| is within the flat tolerance (a share of almost nothing is noise).
- ``flat_tolerance``: ``flat_reward_tolerance`` standard errors of a difference of two batch
  means, k * s_0 * sqrt(1/n_t + 1/n_0), with s_0 the baseline's within-batch reward SD: a
  gain above it is a rise, one within it is flat, whatever the reward model's scale.

The reward-length correlations (``reward_length_pearson``/``_spearman``) are within the batch; when
prompts were sampled more than once (RLOO, GRPO) they compare samples of the same prompt only,
reward and length centred on their prompt's mean (``gaming/within_prompt`` is 1 then): a pairwise
judge's reward says only which sample of a prompt won, and answers to different questions differ
in length for reasons of their own.

During the baseline updates the baseline is the updates seen so far. A flag fires at an
update when its condition has held for ``patience`` updates in a row and at least
``min_steps`` updates have been seen; ``gaming/flag_<name>`` is 1.0 at such an update.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import MonitorConfig

FLAGS = ("length_without_quality", "reward_length_correlation", "length_explains_gain")
SAMPLE_COLUMNS = ["step", "flag", "rank", "prompt", "response", "reward", "length_controlled_reward",
                  "n_tokens", "n_chars"]


def reward_length_correlation(reward, length, *, method: str = "pearson") -> float:
    """Pearson or Spearman correlation of reward with length, in [-1, 1].

    NaN with fewer than 3 samples or when either is constant (nothing to correlate)."""
    r = np.asarray(reward, dtype=np.float64)
    x = np.asarray(length, dtype=np.float64)
    if r.shape != x.shape:
        raise ValueError(f"reward and length differ in shape: {r.shape} vs {x.shape}")
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method must be 'pearson' or 'spearman', got {method!r}")
    if r.size < 3 or np.ptp(r) == 0 or np.ptp(x) == 0:
        return float("nan")
    if method == "spearman":
        from scipy.stats import rankdata

        r, x = rankdata(r), rankdata(x)
    return float(np.clip(np.corrcoef(r, x)[0, 1], -1.0, 1.0))


def within_prompt(reward: np.ndarray, length: np.ndarray, prompts: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """Reward and length centred on their prompt's mean, over prompts sampled more than once; None when
    no prompt was (PPO's one rollout per prompt). A pairwise judge's reward only says which of a prompt's
    samples won, so only a comparison inside each prompt can show whether the longer one is paid."""
    keys = pd.Series(list(prompts))
    sizes = keys.map(keys.value_counts())
    keep = (sizes > 1).to_numpy()
    if keep.sum() < 3:
        return None
    frame = pd.DataFrame({"p": keys[keep].to_numpy(), "r": reward[keep], "x": length[keep]})
    centred = frame[["r", "x"]] - frame.groupby("p")[["r", "x"]].transform("mean")
    return centred["r"].to_numpy(), centred["x"].to_numpy()


@dataclass(frozen=True)
class _Batch:
    step: int
    n: int
    mean_reward: float
    mean_tokens: float
    sxx: float  # centred sums of squares and products within the batch
    sxy: float
    syy: float

    @classmethod
    def of(cls, step: int, reward: np.ndarray, tokens: np.ndarray) -> "_Batch":
        dr, dx = reward - reward.mean(), tokens - tokens.mean()
        return cls(step, reward.size, float(reward.mean()), float(tokens.mean()),
                   float(dx @ dx), float(dx @ dr), float(dr @ dr))


class GamingMonitor:
    """Length metrics and reward-gaming flags, one PPO update at a time (see module docstring)."""

    def __init__(self, cfg: MonitorConfig | None = None):
        self.cfg = cfg or MonitorConfig()
        self.batches: list[_Batch] = []
        self.flags: list[dict] = []
        self._streaks = dict.fromkeys(FLAGS, 0)

    def update(self, step: int, samples: Sequence[dict]) -> dict[str, float]:
        """Metrics of this update, keys ``gaming/...``; flags it raises are appended to ``.flags``."""
        if not samples:
            return {}
        reward = np.array([s["score"] for s in samples], dtype=np.float64)
        tokens = np.array([s["n_tokens"] for s in samples], dtype=np.float64)
        self.batches.append(_Batch.of(step, reward, tokens))
        m = self._metrics(reward, tokens)
        within = within_prompt(reward, tokens, [s["prompt"] for s in samples])
        if within is not None:  # RLOO/GRPO: compare samples of the same prompt, not answers to different questions
            m["gaming/reward_length_pearson"] = reward_length_correlation(*within, method="pearson")
            m["gaming/reward_length_spearman"] = reward_length_correlation(*within, method="spearman")
        m["gaming/within_prompt"] = float(within is not None)
        for name, (holds, value, threshold, message) in self._checks(m).items():
            self._streaks[name] = self._streaks[name] + 1 if holds else 0
            fired = self._streaks[name] >= self.cfg.patience and len(self.batches) >= self.cfg.min_steps
            m[f"gaming/flag_{name}"] = float(fired)
            if fired:
                self.flags.append({"step": int(step), "flag": name, "message": message, "value": value,
                                   "threshold": threshold, "samples": self._samples(samples, m)})
        return m

    @classmethod
    def from_samples(cls, cfg: MonitorConfig, samples: pd.DataFrame) -> "GamingMonitor":
        """A monitor that has seen stored rollouts (the store's ``ppo_samples_frame`` rows of one
        round), update by update: how a resumed PPO run gets back its baseline, slope and flags."""
        monitor = cls(cfg)
        columns = ["prompt", "response", "score", "n_tokens", "n_chars"]
        for step, batch in samples.sort_values(["step", "idx"]).groupby("step", sort=True):
            monitor.update(int(step), batch[columns].to_dict("records"))
        return monitor

    def flags_at(self, step: int) -> list[dict]:
        return [f for f in self.flags if f["step"] == step]

    def flags_frame(self) -> pd.DataFrame:
        """One row per raised flag: step, flag, message, value, threshold."""
        return flags_frames(self.flags)[0]

    def flagged_samples_frame(self) -> pd.DataFrame:
        """One row per rollout listed with a flag (see SAMPLE_COLUMNS)."""
        return flags_frames(self.flags)[1]

    # -- metrics -------------------------------------------------------------------------
    def _baseline(self) -> tuple[float, float, float, int]:
        """(r_0, L_0, s_0, n_0): mean reward, mean length, within-batch reward SD and size of the baseline."""
        base = self.batches[: self.cfg.baseline_steps]
        n = sum(b.n for b in base)
        r0 = sum(b.n * b.mean_reward for b in base) / n
        l0 = sum(b.n * b.mean_tokens for b in base) / n
        dof = sum(b.n - 1 for b in base)
        s0 = math.sqrt(sum(b.syy for b in base) / dof) if dof > 0 else 0.0
        return r0, l0, s0, n

    def _metrics(self, reward: np.ndarray, tokens: np.ndarray) -> dict[str, float]:
        r0, l0, s0, n0 = self._baseline()
        sxx = sum(b.sxx for b in self.batches)
        slope = sum(b.sxy for b in self.batches) / sxx if sxx > 0 else float("nan")
        gain = float(reward.mean()) - r0
        moved = float(tokens.mean()) - l0
        explained = 0.0 if moved == 0 else slope * moved  # no length change explains nothing, slope or none
        tolerance = self.cfg.flat_reward_tolerance * s0 * math.sqrt(1 / reward.size + 1 / n0)
        share = float("nan")
        if abs(gain) > max(tolerance, 1e-12) and math.isfinite(explained):
            share = min(1.0, max(0.0, explained / gain))
        return {
            "gaming/reward_length_pearson": reward_length_correlation(reward, tokens, method="pearson"),
            "gaming/reward_length_spearman": reward_length_correlation(reward, tokens, method="spearman"),
            "gaming/reward_per_token": slope,
            "gaming/reward_gain": gain,
            "gaming/length_gain_pct": 100.0 * (float(tokens.mean()) - l0) / l0 if l0 > 0 else float("nan"),
            "gaming/length_explained_gain": explained,
            "gaming/length_controlled_reward": float(reward.mean()) - explained,
            "gaming/length_controlled_gain": gain - explained,
            "gaming/length_explained_share": share,
            "gaming/flat_tolerance": tolerance,
        }

    # -- flags ---------------------------------------------------------------------------
    def _checks(self, m: dict[str, float]) -> dict[str, tuple[bool, float, float, str]]:
        """Per flag: (condition holds at this update, value, threshold, message in plain words)."""
        cfg = self.cfg
        rho = m["gaming/reward_length_spearman"]
        l0 = self._baseline()[1]
        tol, gain, lc_gain = m["gaming/flat_tolerance"], m["gaming/reward_gain"], m["gaming/length_controlled_gain"]
        growth, share = m["gaming/length_gain_pct"], m["gaming/length_explained_share"]
        now = l0 * (1 + growth / 100) if math.isfinite(growth) else float("nan")
        among = ", among samples of the same prompt" if m.get("gaming/within_prompt") else ""
        return {
            "length_without_quality": (
                growth > cfg.length_growth_pct and gain > tol and lc_gain <= tol, growth, cfg.length_growth_pct,
                f"Responses are {growth:.0f}% longer than at the start ({l0:.0f} -> {now:.0f} tokens; flag above "
                f"{cfg.length_growth_pct:g}%). The reward rose by {gain:.3g}, but with the length effect removed "
                f"it moved {lc_gain:+.3g} (flat means within {tol:.3g}): the policy is being paid for length, "
                "not for better answers."),
            "reward_length_correlation": (
                rho > cfg.corr_threshold, rho, cfg.corr_threshold,
                f"Within this update's batch{among}, longer responses got higher rewards (Spearman {rho:.2f}; flag "
                f"above {cfg.corr_threshold:g} for {cfg.patience} updates in a row): the reward pays for length."),
            "length_explains_gain": (
                gain > tol and share > cfg.explained_share_threshold, share, cfg.explained_share_threshold,
                f"Longer responses account for {share:.0%} of the reward gained since the start (flag above "
                f"{cfg.explained_share_threshold:.0%}); the rest, {lc_gain:+.3g}, is what the reward model "
                "credits beyond length."),
        }

    def _samples(self, samples: Sequence[dict], m: dict[str, float]) -> list[dict]:
        """The longest rollouts of the batch, with their length-controlled reward, for reading."""
        l0 = self._baseline()[1]
        slope = m["gaming/reward_per_token"]
        longest = sorted(samples, key=lambda s: (-s["n_tokens"], -s["score"]))[: self.cfg.n_flagged_samples]
        return [{"prompt": s["prompt"], "response": s["response"], "reward": float(s["score"]),
                 "length_controlled_reward": float(s["score"] - slope * (s["n_tokens"] - l0)),
                 "n_tokens": int(s["n_tokens"]), "n_chars": int(s["n_chars"])} for s in longest]


def flags_frames(flags: Sequence[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(flags, flagged samples) as DataFrames, for a table on the monitor."""
    head = pd.DataFrame([{k: f[k] for k in ("step", "flag", "message", "value", "threshold")} for f in flags],
                        columns=["step", "flag", "message", "value", "threshold"])
    rows = [{"step": f["step"], "flag": f["flag"], "rank": i, **s}
            for f in flags for i, s in enumerate(f.get("samples", []))]
    return head, pd.DataFrame(rows, columns=SAMPLE_COLUMNS)


def append_flags_jsonl(path: str | Path, flags: Sequence[dict]) -> Path:
    """Append flags (with their samples) to a JSONL file, one flag per line."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        for flag in flags:
            fh.write(json.dumps(flag, allow_nan=True) + "\n")
    return path


def write_flags_jsonl(path: str | Path, flags: Sequence[dict]) -> Path:
    """Replace the file with these flags (written beside it, then renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text("".join(json.dumps(f, allow_nan=True) + "\n" for f in flags), encoding="utf-8")
    tmp.replace(path)
    return path


def read_flags_jsonl(path: str | Path) -> list[dict]:
    """Flags written by ``append_flags_jsonl``; a missing file has none. A torn last line is skipped."""
    path = Path(path)
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # the writer may be mid-line while the monitor reads
            continue
    return out
