"""What the training monitor shows: curves per stage from the store, and a plain-words reading."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.audit.bootstrap import wilson_interval
from core.config import PPOStageConfig
from core.human_labels.gate import GATE_STOPPED
from core.runs.status import display_status
from core.store import RunStatus, Store
from core.wording import interval

PPO_REWARD_KEYS = ["objective/scores", "objective/rlhf_reward"]
PPO_KL_KEYS = ["objective/kl", "objective/entropy"]
PPO_LENGTH_KEYS = ["response/mean_tokens", "response/mean_chars"]
RM_KEYS = ["loss", "accuracy", "margin"]


def training_metrics(store: Store, run_id: str) -> dict[str, pd.DataFrame]:
    metrics = store.metrics_frame(run_id)
    return {stage: metrics[metrics["stage"] == stage] for stage in ("reward", "reward_eval", "ppo")}


def is_live(store: Store, run_id: str) -> bool:
    return not RunStatus(store.get_run(run_id)["status"]).is_finished()


JUDGE_REWARD_NOTE = ("The reward is the judge's P(win) against the other sample of the same prompt: the two "
                     "rewards of a prompt add up to 1, so the mean reward is 0.5 by construction and cannot show a "
                     "gain. Read the length change and the reward-length correlation below instead.")
NOISE_SE = 2.0  # a change between windows is claimed only beyond this many standard errors


def window_change(values) -> dict | None:
    """The first against the last quarter of a per-update series (two updates each at least).

    Returns n, window (updates per window), first and last (window means), difference (last
    minus first), se (its standard error from the spread of the updates in each window) and
    beyond_noise (|difference| > NOISE_SE * se); None with fewer than four finite values.
    A trend inside a window widens its spread, so the test errs toward "no change".
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 4:
        return None
    k = max(2, v.size // 4)
    first, last = v[:k], v[-k:]
    se = float(np.sqrt(first.var(ddof=1) / k + last.var(ddof=1) / k))
    diff = float(last.mean() - first.mean())
    return {"n": int(v.size), "window": k, "first": float(first.mean()), "last": float(last.mean()),
            "difference": diff, "se": se, "beyond_noise": bool(abs(diff) > NOISE_SE * se)}


@dataclass(frozen=True)
class Reading:
    """A sentence for the page, and whether it is a warning (drawn as one) or information."""
    text: str
    warning: bool = False


def training_runs(store: Store) -> pd.DataFrame:
    """The runs that train (judge jobs have no curves), newest first."""
    runs = store.list_runs()
    return runs[runs["kind"] == "train"].reset_index(drop=True)


def runs_with_curves(store: Store, run_ids: list[str]) -> list[str]:
    """Those of ``run_ids`` that have any training curve (reward model or PPO), in the order given."""
    return [r for r in run_ids if not store.metrics_frame(r, stage="ppo").empty
            or not store.metrics_frame(r, stage="reward").empty]


def no_curves_reason(store: Store, run_id: str) -> str | None:
    """Why a run shows no PPO curves, in words (None when it has some): stopped by the judge gate,
    failed, cancelled, lost, not started, or still before its first update."""
    if not store.metrics_frame(run_id, stage="ppo").empty:
        return None
    run = store.get_run(run_id)
    status, where = display_status(run), f"{run['stage'] or 'the start'} (round {int(run['round'])})"
    if status == RunStatus.FAILED.value and run["message"] == GATE_STOPPED:
        return f"This run was stopped by the judge gate before training, so it has no curves. {run['error']}"
    reasons = {
        RunStatus.FAILED.value: f"This run failed at {where} before its first PPO update, so it has no PPO curves: "
                                f"{run['error']}",
        RunStatus.CANCELLED.value: f"This run was cancelled at {where} before its first PPO update: no PPO curves.",
        "lost": f"This run's worker stopped at {where} before its first PPO update (no heartbeat for over a minute); "
                "Resume it on the Runs page.",
        RunStatus.QUEUED.value: "This run has not started yet: its curves appear from its first PPO update.",
        RunStatus.RUNNING.value: f"This run is at {where}: its PPO curves appear from its first update.",
    }
    return reasons.get(status, "This run finished without a PPO update, so it has no PPO curves.")


def status_line(store: Store, run_id: str) -> str:
    run = store.get_run(run_id)
    return f"Status: {run['status']} · stage: {run['stage']} · {run['message']} · {rl_method(run['config'])}"


ALGORITHM_NAMES = {"ppo": "PPO", "rloo": "RLOO", "grpo": "GRPO"}


def rl_setup(config: dict) -> tuple[str, str]:
    """(algorithm, reward) a stored run config trains with; runs stored before ``rl:`` existed were PPO
    against a reward model."""
    rl = config.get("rl") or {}
    return rl.get("algorithm", "ppo"), rl.get("reward", "reward_model")


def rl_method(config: dict) -> str:
    """'RLOO against the reward model', 'GRPO against the judge (d-RLAIF)', with LoRA when used."""
    algorithm, reward = rl_setup(config)
    lora = (config.get("rl") or {}).get("lora_r", 0)
    against = "the judge as a direct reward (d-RLAIF)" if reward == "judge" else "the reward model"
    return f"{ALGORITHM_NAMES.get(algorithm, algorithm)} against {against}" + (f", LoRA rank {lora}" if lora else "")


def reward_cost_reading(ppo: pd.DataFrame, config: dict) -> str | None:
    """What scoring the rollouts cost per update (``reward_cost/...``), in words; None before any update."""
    seconds = ppo.loc[ppo["key"] == "reward_cost/seconds", "value"]
    if seconds.empty:
        return None
    _, reward = rl_setup(config)
    text = f"Scoring the rollouts took {seconds.mean():.2g} s per update on average over {len(seconds)} updates"
    if reward != "judge":
        return text + " (reward model forward passes)."
    mean = {k: ppo.loc[ppo["key"] == f"reward_cost/{k}", "value"].mean()
            for k in ("judge_pairs", "tokens_in", "tokens_out", "money", "unscorable_share")}
    text += (f" (the judge read {mean['judge_pairs']:.0f} pairs per update in both orders, "
             f"{mean['tokens_in']:.0f} tokens in and {mean['tokens_out']:.0f} out")
    if mean["money"] > 0:
        text += f", {mean['money']:.4g} in money at the judge's prices"
    text += ")."
    if mean["unscorable_share"] > 0:
        text += (f" {mean['unscorable_share']:.0%} of pairs got no readable verdict; those samples carried no "
                 "reward and did not move the policy.")
    return text


CAP_SHARE = 0.5  # at least this share of rollouts at ppo.response_length: the cap hides any growth


def length_cap(store: Store, run_id: str, *, round_: int | None = None) -> dict | None:
    """How many of the run's PPO rollouts (of ``round_`` only, when given) stopped at the
    ``ppo.response_length`` cap: ``{"cap", "n", "at_cap"}``; None before any rollout."""
    samples = store.ppo_samples_frame(run_id)
    if round_ is not None:
        samples = samples[samples["round"] == round_]
    if samples.empty:
        return None
    cap = int((store.get_run(run_id)["config"].get("ppo") or {}).get("response_length",
                                                                     PPOStageConfig().response_length))
    return {"cap": cap, "n": int(len(samples)), "at_cap": int((samples["n_tokens"] >= cap).sum())}


def cap_hides_growth(cap: dict | None) -> bool:
    """True when most rollouts (``CAP_SHARE`` or more) reached the length cap, where growth cannot show."""
    return bool(cap) and cap["n"] > 0 and cap["at_cap"] >= CAP_SHARE * cap["n"]


def cap_words(cap: dict) -> str:
    """'60 of 64 rollouts (94%) stopped at the length cap (ppo.response_length = 48 tokens)'."""
    return (f"{cap['at_cap']} of {cap['n']} rollouts ({cap['at_cap'] / cap['n']:.0%}) stopped at the length cap "
            f"(ppo.response_length = {cap['cap']} tokens)")


def length_reading(ppo: pd.DataFrame, *, reward: str = "reward_model", cap: dict | None = None) -> str | None:
    """Sentences on how response length and reward moved during RL (None before two updates)."""
    reading = read_length(ppo, reward=reward, cap=cap)
    return None if reading is None else reading.text


def read_length(ppo: pd.DataFrame, *, reward: str = "reward_model", cap: dict | None = None) -> Reading | None:
    """How response length and reward moved during PPO, as a Reading (None before two updates).

    The first and last quarter of the updates are compared (``window_change``); a change is
    named only beyond two standard errors, otherwise the reading says "no change beyond noise".
    It is a warning when answers grew beyond noise (by more than a fifth) while the reward rose. With the
    judge as the reward (``reward='judge'``) the two samples of a prompt share one point between them, so
    the mean reward is 0.5 by construction: the reading says so instead of reading it as flat.
    It is a warning, too, when most rollouts sit at the length cap (``cap``, from ``length_cap``): there
    a length that cannot grow reads as "no change", which says nothing about what the policy would do.
    """
    reward_kind = reward
    tokens = ppo[ppo["key"] == "response/mean_tokens"].sort_values(["round", "step"])["value"]
    scores = ppo[ppo["key"] == "objective/scores"].sort_values(["round", "step"])["value"]
    if len(tokens) < 2 or len(scores) < 2:
        return None
    length, reward = window_change(tokens), window_change(scores)
    if length is None or reward is None:
        n = min(len(tokens), len(scores))
        return Reading(f"Only {n} RL updates so far (mean length {tokens.iloc[0]:.0f}, then {tokens.iloc[-1]:.0f} "
                       f"tokens; mean reward {scores.iloc[0]:.2f}, then {scores.iloc[-1]:.2f}): too few to tell "
                       "a change from noise.")
    longer = length["beyond_noise"] and length["difference"] > 0.2 * abs(length["first"])
    if reward_kind == "judge":
        text, growing = f"{_length_words(length)} {JUDGE_REWARD_NOTE}", bool(longer)
        if growing:
            text += " The policy is getting longer under the judge's reward: check whether it is also getting better."
    else:
        text = f"{_length_words(length)} {_reward_words(reward)}"
        growing = bool(longer and reward["beyond_noise"] and reward["difference"] > 0)
        if growing:
            text += " The policy is getting longer as the reward rises: check whether it is also getting better."
    capped = cap_hides_growth(cap)
    if capped:
        text += (f" But {cap_words(cap)}: the cap hides growth, since answers cannot get longer than it, so the "
                 "length reading cannot show whether the policy is being paid for length. Raise "
                 "ppo.response_length to see it.")
    return Reading(text, warning=growing or capped)


def _length_words(c: dict) -> str:
    head = (f"Mean response length: {c['first']:.0f} tokens over the first {c['window']} of {c['n']} RL updates, "
            f"{c['last']:.0f} over the last {c['window']}")
    if not c["beyond_noise"]:
        return (f"{head}: no change beyond noise ({c['difference']:+.0f} tokens, within 2 standard errors, "
                f"±{2 * c['se']:.0f}).")
    change = c["difference"] / c["first"] if c["first"] else float("nan")
    return (f"{head}: answers got {'longer' if c['difference'] > 0 else 'shorter'} ({change:+.0%}, "
            f"{c['difference']:+.0f} tokens, beyond 2 standard errors, ±{2 * c['se']:.0f}).")


def _reward_words(c: dict) -> str:
    head = f"The reward model's score went from {c['first']:.2f} to {c['last']:.2f} over the same windows"
    if not c["beyond_noise"]:
        return f"{head}: no change beyond noise (±{2 * c['se']:.2f})."
    return f"{head}: it {'rose' if c['difference'] > 0 else 'fell'} beyond noise (±{2 * c['se']:.2f})."


def rm_summary(store: Store, run_id: str) -> pd.DataFrame:
    """Held-out accuracy of each round's reward model against the judge and against people, each
    beside its pair count and Wilson 95% CI (at 2 or 4 held-out pairs the interval is most of
    [0, 1], and the table says so); counts as whole numbers."""
    ev = store.metrics_frame(run_id, stage="reward_eval")
    if ev.empty:
        return ev
    wide = ev.pivot_table(index="round", columns="key", values="value").reset_index().rename_axis(columns=None)
    for accuracy, n, ci in (("heldout_accuracy", "n_heldout", "ci_judge"), ("human_accuracy", "n_human", "ci_human")):
        if accuracy in wide and n in wide:
            wide[ci] = [_accuracy_ci(a, k) for a, k in zip(wide[accuracy], wide[n])]
    order = [c for c in _RM_COLUMNS if c in wide] + [c for c in wide if c not in _RM_COLUMNS]
    wide = wide[order]
    for column in wide:
        if column == "round" or column.startswith(("n_", "resumed_")):
            wide[column] = wide[column].round().astype("Int64")
        elif pd.api.types.is_float_dtype(wide[column]):
            wide[column] = wide[column].round(3)
    wide.columns = [_RM_COLUMNS.get(c, c.replace("_", " ").capitalize()) for c in wide.columns]
    return wide


def _accuracy_ci(accuracy: float, n: float) -> str:
    """'0.424–0.873' (Wilson 95%; a pair whose two rewards tie counts half), '–' without pairs."""
    if not n or n != n or accuracy != accuracy:
        return "–"
    return interval(*wilson_interval(accuracy * n, n), spec=".3f", label="")


_RM_COLUMNS = {"round": "Round", "n_train": "Training pairs",
               "train_accuracy": "Accuracy on its training pairs (judge's labels)",
               "n_heldout": "Held-out pairs", "heldout_accuracy": "Held-out accuracy against the judge",
               "ci_judge": "95% CI (against the judge)", "n_human": "Human-labelled pairs",
               "human_accuracy": "Accuracy against people's labels", "ci_human": "95% CI (against people)"}


MAX_COMPARED = 4  # runs overlaid on one chart: more than four colours per subplot stop being readable


def run_label(run: dict) -> str:
    """A short legend name: the run's name, the last characters of its id (names repeat), and its
    optimiser and reward, so overlaid runs of different algorithms say which is which."""
    algorithm, reward = rl_setup(run.get("config") or {})
    how = ALGORITHM_NAMES.get(algorithm, algorithm) + (" + judge" if reward == "judge" else "")
    return f"{run['name']} [{run['run_id'][-6:]}] {how}"


def compare_metrics(store: Store, run_ids: list[str], stage: str) -> dict[str, pd.DataFrame]:
    """``{legend label: metrics of stage}`` for each run, in the order given (the first is the run in focus)."""
    if len(run_ids) > MAX_COMPARED:
        raise ValueError(f"at most {MAX_COMPARED} runs can be overlaid, got {len(run_ids)}")
    return {run_label(store.get_run(r)): store.metrics_frame(r, stage=stage) for r in run_ids}


def kl_note(ppo: dict[str, pd.DataFrame] | pd.DataFrame) -> str | None:
    """What a negative KL means, when some PPO update logged one (None otherwise)."""
    frames = ppo.values() if isinstance(ppo, dict) else [ppo]
    kl = pd.concat([m.loc[m["key"] == "objective/kl", "value"] for m in frames])
    negative = kl[kl < 0]
    if negative.empty:
        return None
    return (f"KL below zero at {len(negative)} of {len(kl)} updates (lowest {negative.min():.3g}). The true KL "
            "to the reference is never negative; TRL logs an estimate from the sampled responses: the mean over "
            "the batch of the summed log π(token) − log π_ref(token). On one batch that estimate can fall below "
            "zero when the policy has barely moved from the reference. Read it as 'no measurable drift', not as "
            "a policy closer than identical; a large negative value would point to a bug, not to drift.")
