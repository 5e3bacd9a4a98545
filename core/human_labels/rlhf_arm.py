"""The RLHF arm: a reward model trained on human labels beside one trained on the judge's.

The RLAIF paper's comparison (Lee et al. 2023: 79.3% human-label RM vs 74.2% AI-label RM
on TL;DR, measured on held-out human preferences): the same pairs, the same settings
(``RewardConfig``), the same held-out split; only the labels differ. Pairs count when both
the human consensus and the judge's verdict name a winner; both arms are scored on the
held-out pairs against the human labels and against the judge's.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from core.config import RewardConfig, RunConfig
from core.store import Store

STAGE = "reward_arms"
ARMS = ("judge", "human")  # RLAIF: the judge's labels; RLHF: people's


def arm_frame(store: Store, cfg: RunConfig, run_id: str, round_: int, judge: str) -> pd.DataFrame:
    """The human-labelled pairs the arms may use at ``round_`` (``core.human_labels.sources.labelled_frame``
    columns): the human_pairs file's, and the run's own of rounds <= ``round_``."""
    from core.human_labels.sources import arm_sources
    from core.human_labels.with_verdicts import labelled_frame

    frames = []
    for source in arm_sources(store, cfg, run_id):
        frame = labelled_frame(store, source, judge)
        frames.append(frame[frame["round"] <= round_] if source.startswith("run:") else frame)
    return pd.concat(frames, ignore_index=True)


def arm_records(frame: pd.DataFrame) -> tuple[list[dict], list[dict], int]:
    """(records labelled by the judge, the same pairs labelled by people, pairs left out).

    Both lists hold the same pairs in the same order (by pair_id), so ``split_records`` holds
    out the same pairs of each; chosen and rejected differ exactly where judge and people do.
    Pairs where either label is not a winner (TIE, INVALID, not judged) are left out.
    """
    from core.loop.preferences import compile_preferences

    usable = frame[frame["human"].isin(["A", "B"]) & frame["verdict"].isin(["A", "B"])].sort_values("pair_id")
    pairs = usable[["pair_id", "prompt", "response_a", "response_b"]]
    by_judge, _ = compile_preferences(pairs, usable[["pair_id", "verdict"]])
    by_people, _ = compile_preferences(pairs, usable[["pair_id", "human"]], label_column="human")
    return by_judge, by_people, len(frame) - len(usable)


def train_reward_arms(base_model: str | Path, by_judge: list[dict], by_people: list[dict], cfg: RewardConfig,
                      out_dir: str | Path, *, callbacks_for=None) -> tuple[dict, dict]:
    """Train one reward model per arm and score both on the held-out pairs.

    Returns (metrics, split): metrics ``arms/n_pairs``, ``arms/n_train``, ``arms/n_heldout``,
    ``arms/n_train_labels_differ``, ``arms/n_heldout_labels_differ`` and, per arm,
    ``<arm>_arm/heldout_human_accuracy``, ``<arm>_arm/heldout_judge_accuracy``,
    ``<arm>_arm/train_accuracy``, and ``arms/n_heldout_rank_differ``: on how many held-out pairs
    the two reward models prefer different responses (0: their verdicts are identical, so equal
    accuracies are so by construction); split the train and held-out pair ids. With no held-out
    pair (fewer than 4 pairs, or ``eval_fraction`` 0) nothing is trained: there is nothing to
    compare on. ``callbacks_for(arm)`` gives each trainer's callbacks.
    """
    from core.loop.reward_model import split_records, train_reward_model

    if [r["pair_id"] for r in by_judge] != [r["pair_id"] for r in by_people]:
        raise ValueError("the two arms must be given the same pairs in the same order")
    train_j, held_j = split_records(by_judge, cfg.eval_fraction, cfg.seed)
    train_h, held_h = split_records(by_people, cfg.eval_fraction, cfg.seed)
    metrics = {"arms/n_pairs": len(by_judge), "arms/n_train": len(train_j), "arms/n_heldout": len(held_j),
               "arms/n_train_labels_differ": _n_differ(train_j, train_h),
               "arms/n_heldout_labels_differ": _n_differ(held_j, held_h)}
    split = {"train": [r["pair_id"] for r in train_j], "heldout": [r["pair_id"] for r in held_j]}
    if not held_j:
        return metrics, split
    sides = {}
    for arm, records in zip(ARMS, (by_judge, by_people)):
        m = train_reward_model(base_model, records, cfg, Path(out_dir) / arm,
                               callbacks=callbacks_for(arm) if callbacks_for else (),
                               eval_sets={"heldout_human": held_h, "heldout_judge": held_j})
        for key in ("heldout_human_accuracy", "heldout_judge_accuracy", "train_accuracy"):
            metrics[f"{arm}_arm/{key}"] = m[key]
        sides[arm] = np.sign(m["heldout_judge_margins"])  # both on the same records: which response it prefers
    metrics["arms/n_heldout_rank_differ"] = int((sides["judge"] != sides["human"]).sum())
    return metrics, split


def record_reward_arms(store: Store, run_id: str, cfg: RunConfig, round_: int, policy: Path, reporter,
                       out_dir: Path, judge: str) -> dict:
    """The pipeline's step: train both arms from the round's policy, store the metrics (stage
    'reward_arms') and the split (artifact 'reward_arms', a JSON file); the two models are deleted."""
    from core.loop.callbacks import StoreCallback

    by_judge, by_people, skipped = arm_records(arm_frame(store, cfg, run_id, round_, judge))
    work = out_dir / "reward_arms"
    with reporter.stage("reward_arms", len(ARMS)) as progress:
        def callbacks_for(arm):
            done = ARMS.index(arm)
            return [StoreCallback(store, run_id, round_, f"reward_{arm}_arm",
                                  progress=lambda step, total: progress.set(done + step / max(1, total)))]

        metrics, split = train_reward_arms(policy, by_judge, by_people, cfg.reward, work, callbacks_for=callbacks_for)
    metrics["arms/n_left_out"] = skipped
    store.add_metrics(run_id, round_, STAGE, 0, metrics)
    path = out_dir / "reward_arms.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"judge": judge, "metrics": metrics, "split": split}, indent=2), encoding="utf-8")
    store.set_artifact(run_id, round_, "reward_arms", path)
    shutil.rmtree(work, ignore_errors=True)
    return metrics


def _n_differ(by_judge: list[dict], by_people: list[dict]) -> int:
    return sum(j["chosen"] != h["chosen"] for j, h in zip(by_judge, by_people))
