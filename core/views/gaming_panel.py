"""What the training monitor shows about verbosity gaming and over-optimisation, read from the store.

A run writes, per PPO update, ``response/...`` and ``gaming/...`` metrics (stage ``ppo``),
the flags with their rollouts to each round's ``gaming_flags`` artifact
(``round<k>/gaming_flags.jsonl``), and every ``eval_every`` updates ``overopt/...`` metrics
with the judged policy-vs-reference pairs as dataset ``ppo-eval/<run_id>``, which people can
spot-check. ``gaming_panel(store, run_id)`` gathers all of it for the page; the frame builders
below it are pure functions over the store's frames.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import pandas as pd

from core.audit.bootstrap import wilson_interval
from core.config import MonitorConfig, config_from_dict
from core.gaming.monitor import flags_frames, read_flags_jsonl
from core.gaming.overopt import human_win_rate, overoptimisation_frame
from core.store import Store
from core.views.training_monitor import (
    JUDGE_REWARD_NOTE,
    cap_hides_growth,
    cap_words,
    length_cap,
    rl_setup,
    window_change,
)
from core.wording import interval

STEP_COLUMNS = {  # metric key -> column of the per-update frame
    "response/mean_tokens": "mean_tokens", "response/median_tokens": "median_tokens",
    "response/mean_chars": "mean_chars", "response/median_chars": "median_chars",
    "objective/scores": "reward",
    "gaming/length_controlled_reward": "length_controlled_reward",
    "gaming/reward_length_pearson": "reward_length_pearson",
    "gaming/reward_length_spearman": "reward_length_spearman",
    "gaming/length_explained_share": "length_explained_share",
    "gaming/reward_gain": "reward_gain", "gaming/length_gain_pct": "length_gain_pct",
    "gaming/length_explained_gain": "length_explained_gain", "gaming/reward_per_token": "reward_per_token",
    "gaming/flat_tolerance": "flat_tolerance",
}
FLAG_COLUMNS = ["round", "step", "flag", "value", "threshold", "meaning"]
SAMPLE_COLUMNS = ["round", "step", "flags", "rank", "prompt", "response", "reward", "length_controlled_reward",
                  "n_tokens", "n_chars"]
THRESHOLDS = ("length_growth_pct", "flat_reward_tolerance", "corr_threshold", "explained_share_threshold",
              "patience", "min_steps", "baseline_steps", "n_flagged_samples", "eval_every", "n_eval_prompts")


@dataclass(frozen=True)
class GamingPanel:
    """Everything the monitor's verbosity panel shows for one run."""
    config: MonitorConfig  # the run's ``monitor:`` section: the thresholds in use
    steps: pd.DataFrame  # per (round, step): lengths, rewards, correlations, share explained
    flags: pd.DataFrame  # FLAG_COLUMNS, one row per flag per update it fired at
    samples: pd.DataFrame  # SAMPLE_COLUMNS, the rollouts listed with the flags
    overopt: pd.DataFrame  # per (round, step): kl, proxy_reward, judge_win_rate, human_win_rate, human_pairs
    reading: str | None  # plain words on the latest update
    warning: str | None  # which flags fired, or None

    @property
    def empty(self) -> bool:
        """No gaming metric and no audited win rate yet."""
        return self.steps.empty and not self.overopt["judge_win_rate"].notna().any()

    @property
    def thresholds(self) -> pd.DataFrame:
        return thresholds_frame(self.config)


def gaming_panel(store: Store, run_id: str) -> GamingPanel:
    """The panel of one run as the store holds it now (the page calls it at every poll)."""
    cfg = monitor_config(store, run_id)
    ppo = store.metrics_frame(run_id, stage="ppo")
    steps = gaming_frame(ppo)
    flags = read_flags(store, run_id)
    audited = store.pairs_frame(dataset=f"ppo-eval/{run_id}")
    over = overopt_frame(ppo, audited, store.human_labels_frame(pair_ids=audited["pair_id"].tolist()))
    cap = None if steps.empty else length_cap(store, run_id, round_=int(steps["round"].max()))
    reading = gaming_reading(steps, over, cfg, cap=cap)
    if reading and rl_setup(store.get_run(run_id)["config"])[1] == "judge":
        reading = f"{JUDGE_REWARD_NOTE} {reading}"
    return GamingPanel(cfg, steps, flags_table(flags), flagged_samples(flags), over, reading, flags_warning(flags))


def monitor_config(store: Store, run_id: str) -> MonitorConfig:
    """The ``monitor:`` section the run was started with (defaults where it gave none)."""
    return config_from_dict({"monitor": store.get_run(run_id)["config"].get("monitor", {})}).monitor


def gaming_frame(ppo: pd.DataFrame) -> pd.DataFrame:
    """Per (round, step) of the PPO metrics frame, one column per STEP_COLUMNS value; only
    updates the gaming monitor measured, so empty while it has measured none."""
    sub = ppo[ppo["key"].isin(list(STEP_COLUMNS))]
    measured = sub.loc[sub["key"].str.startswith("gaming/"), ["round", "step"]].drop_duplicates()
    sub = sub.merge(measured, on=["round", "step"])
    if sub.empty:
        return pd.DataFrame(columns=["round", "step", *STEP_COLUMNS.values()])
    wide = sub.groupby(["round", "step", "key"])["value"].last().unstack("key")
    wide = wide.rename(columns=STEP_COLUMNS).reindex(columns=list(STEP_COLUMNS.values()))
    return wide.rename_axis(columns=None).reset_index()


def read_flags(store: Store, run_id: str) -> list[dict]:
    """Every flag the run raised, from each round's ``gaming_flags`` file, with its round."""
    return [{**flag, "round": round_} for round_, path in store.artifact_paths(run_id, "gaming_flags").items()
            for flag in read_flags_jsonl(path)]


def flags_table(flags: list[dict]) -> pd.DataFrame:
    """One row per flag per update it fired at: round, step, flag, value, threshold, meaning."""
    head, _ = flags_frames(flags)
    head.insert(0, "round", [f["round"] for f in flags])
    return head.rename(columns={"message": "meaning"})[FLAG_COLUMNS]


def flagged_samples(flags: list[dict]) -> pd.DataFrame:
    """The rollouts listed with the flags, once per update (every flag of an update lists the
    same longest rollouts), with the flags that listed them."""
    _, rows = flags_frames(flags)
    rows.insert(0, "round", [f["round"] for f in flags for _ in f.get("samples", [])])
    if rows.empty:
        return pd.DataFrame(columns=SAMPLE_COLUMNS)
    keys = ["round", "step", "rank"]
    names = rows.groupby(keys, sort=False)["flag"].agg(", ".join).rename("flags")
    out = rows.drop_duplicates(keys).drop(columns="flag").merge(names.reset_index(), on=keys)
    return out[SAMPLE_COLUMNS].reset_index(drop=True)


def overopt_frame(ppo: pd.DataFrame, eval_pairs: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Per (round, step): kl, proxy_reward, judge_win_rate over judge_pairs readable evaluation
    pairs, and human_win_rate over human_pairs spot-checked ones (NaN and 0 where none is)."""
    columns = ["round", "step", "kl", "proxy_reward", "judge_win_rate", "human_win_rate", "human_pairs",
               "judge_pairs"]
    frames = []
    for round_, metrics in ppo.groupby("round"):
        human = human_win_rate(labels, eval_pairs[eval_pairs["round"] == round_])
        frame = overoptimisation_frame(metrics, human)
        frame = frame.merge(human[["step", "n_pairs"]].rename(columns={"n_pairs": "human_pairs"}), on="step",
                            how="left")
        frame = frame.merge(_judge_pairs(metrics), on="step", how="left")
        frames.append(frame.assign(round=int(round_)))
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)
    out["human_pairs"] = out["human_pairs"].fillna(0).astype(int)
    out["judge_pairs"] = out["judge_pairs"].fillna(0).astype(int)
    return out[columns]


def _judge_pairs(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per step, the evaluation pairs the judge read (``overopt/n_pairs`` less ``overopt/n_invalid``)."""
    wide = metrics[metrics["key"].isin(["overopt/n_pairs", "overopt/n_invalid"])].pivot_table(
        index="step", columns="key", values="value", aggfunc="last")
    wide = wide.reindex(columns=["overopt/n_pairs", "overopt/n_invalid"]).fillna(0)
    return pd.DataFrame({"step": wide.index, "judge_pairs": (wide["overopt/n_pairs"] - wide["overopt/n_invalid"])
                         .to_numpy()})


def thresholds_frame(cfg: MonitorConfig) -> pd.DataFrame:
    """The flag settings in use: setting, value, meaning (the field's help)."""
    helps = {f.name: f.metadata.get("help", "") for f in fields(cfg)}
    return pd.DataFrame({"setting": list(THRESHOLDS), "value": [f"{getattr(cfg, n):g}" for n in THRESHOLDS],
                         "meaning": [helps[n] for n in THRESHOLDS]})


def flags_warning(flags: list[dict]) -> str | None:
    """Which flags fired, how often and from when; None when none did."""
    if not flags:
        return None
    fired: dict[str, list[tuple[int, int]]] = {}
    for f in flags:
        fired.setdefault(f["flag"], []).append((f["round"], f["step"]))
    parts = [f"{name} at {len(at)} update(s), first round {min(at)[0]} step {min(at)[1]}"
             for name, at in fired.items()]
    return ("Reward-gaming flags fired: " + "; ".join(parts)
            + ". Read the flagged samples below: is the policy paid for length rather than for better answers?")


def gaming_reading(steps: pd.DataFrame, overopt: pd.DataFrame, cfg: MonitorConfig, *,
                   cap: dict | None = None) -> str | None:
    """One paragraph in plain words on the latest round: how much of the reward gain length
    explains, and whether the audited win rate follows the proxy reward. None before any data.
    ``cap`` (``training_monitor.length_cap`` of the latest round) says how many rollouts stopped at
    the length cap: when most did, a flat length is the cap's doing and the reading says so."""
    parts = [_length_sentence(steps, cfg, cap), _overopt_sentence(overopt, steps)]
    text = " ".join(p for p in parts if p)
    return text or None


def _length_sentence(steps: pd.DataFrame, cfg: MonitorConfig, cap: dict | None = None) -> str | None:
    """Whether the reward moved beyond the monitor's noise band, whether length did (first against
    last quarter of the round's updates, ``window_change``), and how much of the gain length explains."""
    if steps.empty:
        return None
    rows = steps[steps["round"] == steps["round"].max()].sort_values("step")
    last, since = rows.iloc[-1], f"since step {int(rows['step'].iloc[0])}"
    where = f"Round {int(last['round'])}, step {int(last['step'])}: " if steps["round"].nunique() > 1 else ""
    gain, share, tol = last["reward_gain"], last["length_explained_share"], last["flat_tolerance"]
    moved = window_change(rows["mean_tokens"])
    length, longer = _length_words(moved, last["length_gain_pct"], cap)
    capped = cap_hides_growth(cap)
    if not abs(gain) > tol:
        return f"{where}The reward has not moved beyond noise {since} ({gain:+.3g}, within ±{tol:.3g}); {length}."
    if gain < 0:
        return f"{where}The reward fell by {-gain:.3g} {since} (beyond noise, ±{tol:.3g}); {length}."
    if not math.isfinite(share):
        return f"{where}The reward rose by {gain:.3g} {since} (beyond noise, ±{tol:.3g}); {length}."
    text = f"{where}Length explains {share:.0%} of the reward gain {since} ({gain:+.3g}; {length})"
    if share > cfg.explained_share_threshold and longer:
        return text + ": the policy is gaming the length bias the reward model learned from the judge."
    if share > cfg.explained_share_threshold and capped:
        return text + ": by the reward model's pay per token; the cap keeps length from growing, so whether the " \
                      "policy would game length cannot be seen here."
    if share > cfg.explained_share_threshold:
        return text + ": by the reward model's pay per token, but the length change is within noise, so this is " \
                      "no evidence of gaming yet."
    return text + ": most of the gain is reward the reward model gives beyond length."


def _length_words(moved: dict | None, growth: float, cap: dict | None = None) -> tuple[str, bool]:
    """Plain words on the round's length change, and whether it grew beyond noise; when most
    rollouts stopped at the length cap, that the cap hides growth."""
    latest = f"latest {growth:+.0f}% against the start" if math.isfinite(growth) else "length unmeasured"
    hidden = f"; but {cap_words(cap)}, so the cap hides growth" if cap_hides_growth(cap) else ""
    if moved is None:
        return f"too few updates to tell a length change from noise, {latest}{hidden}", False
    if not moved["beyond_noise"]:
        return f"no change in length beyond noise, {latest}{hidden}", False
    way = "longer" if moved["difference"] > 0 else "shorter"
    return f"responses {way}, {moved['first']:.0f} -> {moved['last']:.0f} tokens, {latest}{hidden}", way == "longer"


def _overopt_sentence(overopt: pd.DataFrame, steps: pd.DataFrame) -> str | None:
    """The latest audit with its Wilson 95% interval. Over-optimisation is named only when the proxy
    reward rose beyond the monitor's noise band (``flat_tolerance``) while the audited win rate is
    not above a draw; outright only when the whole interval is below a draw, else as a possibility."""
    judged = overopt[overopt["judge_win_rate"].notna()]
    if judged.empty:
        return None
    last = judged.sort_values(["round", "step"]).iloc[-1]
    n_judge = int(last["judge_pairs"]) if "judge_pairs" in last else 0
    text = (f"At step {int(last['step'])} (KL {last['kl']:.3g}) the policy's win rate against the reference "
            f"policy on held-out prompts is {last['judge_win_rate']:.0%} by the judge"
            f"{_rate_ci(last['judge_win_rate'], n_judge)}")
    audited, n = last["judge_win_rate"], n_judge
    if last["human_pairs"] > 0:
        n = int(last["human_pairs"])
        text += (f" and {last['human_win_rate']:.0%} by people ({n} spot-checked pairs"
                 f"{_rate_ci(last['human_win_rate'], n, inside=True)})")
        audited = last["human_win_rate"]
    monitored = steps[(steps["round"] == last["round"]) & (steps["step"] == last["step"])]
    if monitored.empty:
        return text + "."
    gain, tolerance = monitored["reward_gain"].iloc[0], monitored["flat_tolerance"].iloc[0]
    if not (gain > tolerance and audited <= 0.5):
        return text + "."
    rose = f", while the proxy reward rose by {gain:.3g} (beyond noise, ±{tolerance:.3g})"
    if n and wilson_interval(audited * n, n)[1] < 0.5:
        return text + rose + (": the reward model is being over-optimised, its score rises while the policy "
                              "loses to the reference.")
    return text + rose + (": the audited win rate is not above a draw, so the reward model may be being "
                          "over-optimised (its score rises; the audited quality is not shown to).")


def _rate_ci(rate: float, n: int, *, inside: bool = False) -> str:
    """' (95% CI lo-hi over n pairs)', or inside parentheses ', 95% CI lo-hi' (Wilson, ties counted as
    half a win); empty without pairs."""
    if not n or not math.isfinite(rate):
        return ""
    lo, hi = wilson_interval(rate * n, n)
    return f", {interval(lo, hi)}" if inside else f" ({interval(lo, hi)} over {n} pairs)"
