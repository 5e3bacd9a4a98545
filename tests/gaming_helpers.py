"""A PPO round's gaming output written to a real store the way ``core.runs.pipeline.ppo_for_round``
writes it, without training: synthetic rollouts go through the same monitor, writers and
store calls, and a baseline judge audits policy against reference samples every few updates."""
from __future__ import annotations

import numpy as np

from core.config import MonitorConfig
from core.gaming.monitor import GamingMonitor, append_flags_jsonl, write_flags_jsonl
from core.gaming.overopt import eval_pair_id, judge_win_metrics
from core.judges import judge_pairs, make_judge
from core.loop.rollouts import length_metrics
from core.schema import ResponsePair
from core.store import Store

EVIL = "<img src=x onerror=alert(1)> **bold** <script>alert(2)</script>"


def rollouts(reward_of, *, steps: int, batch: int = 16, growth: int = 6, seed: int = 0) -> list[list[dict]]:
    """Per update, rollouts whose lengths drift up by ``growth`` tokens; rewards ``reward_of(tokens, step, rng)``."""
    rng = np.random.default_rng(seed)
    out = []
    for step in range(1, steps + 1):
        tokens = rng.integers(10 + growth * step, 40 + growth * step, size=batch)
        rewards = reward_of(tokens, step, rng)
        out.append([{"prompt": f"{EVIL} q{i}", "response": f"{EVIL} " + "w " * int(n), "score": float(r),
                     "n_tokens": int(n), "n_chars": len(EVIL) + 1 + 2 * int(n)}
                    for i, (n, r) in enumerate(zip(tokens, rewards))])
    return out


def write_round(store: Store, run_id: str, batches: list[list[dict]], *, round_: int = 0,
                cfg: MonitorConfig | None = None, eval_every: int = 2, judge: str = "shortest") -> None:
    """What a PPO round writes: metrics per update (TRL's objective/ keys, response/ and gaming/),
    the flags file as artifact 'gaming_flags', and every ``eval_every`` updates judged eval pairs."""
    cfg = cfg or MonitorConfig()
    monitor = GamingMonitor(cfg)
    flags_path = store.path.parent / "runs" / run_id / f"round{round_}" / "gaming_flags.jsonl"
    write_flags_jsonl(flags_path, monitor.flags)
    store.set_artifact(run_id, round_, "gaming_flags", flags_path)
    reference = ["short answer"] * 4
    for step, samples in enumerate(batches, 1):
        store.add_ppo_samples(run_id, round_, step, samples)
        metrics = {"objective/scores": float(np.mean([s["score"] for s in samples])), "objective/kl": 0.05 * step,
                   **length_metrics(samples), **monitor.update(step, samples)}
        append_flags_jsonl(flags_path, monitor.flags_at(step))
        store.add_metrics(run_id, round_, "ppo", step, metrics)
        if step % eval_every == 0:
            pairs = [ResponsePair(eval_pair_id(f"{run_id}/ppo-eval/r{round_}", step, i), f"p{i}",
                                  samples[i]["response"], ref, round=round_, model_a=f"policy@{step}",
                                  model_b="reference") for i, ref in enumerate(reference)]
            judgments = judge_pairs(make_judge(judge), pairs)
            store.add_pairs(pairs, dataset=f"ppo-eval/{run_id}")
            store.add_judgments(judgments)
            store.add_metrics(run_id, round_, "ppo", step, judge_win_metrics(judgments))


def gaming_run(store: Store, *, monitor: dict | None = None, steps: int = 6) -> str:
    """A run whose reward is the response length: every flag fires from update ``min_steps``."""
    run_id = store.create_run({"name": "gamed", "monitor": monitor or {}}, name="gamed")
    write_round(store, run_id, rollouts(lambda n, t, rng: n.astype(float), steps=steps),
                cfg=MonitorConfig(**(monitor or {})))
    return run_id


def quiet_run(store: Store, *, steps: int = 8) -> str:
    """A run whose reward rises with the update but, within a batch, ignores length: no flag fires."""
    run_id = store.create_run({"name": "quiet"}, name="quiet")
    write_round(store, run_id, rollouts(lambda n, t, rng: 0.5 * t + rng.normal(size=n.size), steps=steps),
                judge="longest")
    return run_id
