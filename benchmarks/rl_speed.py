"""PPO, RLOO and GRPO (and d-RLAIF) side by side, in one run, on the same policy, prompts and reward model.

Each variant trains the same starting policy for the same number of updates with the quick preset's
``ppo:`` sizes (sample_data/quick.yaml: 8 rollouts of at most 48 tokens per update), each in its own
process so its peak memory is its own. It prints, per variant: seconds per update (median over the
updates, from the start of training: loading the models is not counted; the over-optimisation check
and the gaming monitor are off, they cost the same whatever the optimiser), peak resident memory, the KL to the starting policy at the last update
(nats per response, TRL's estimate), and, measured the same way for every variant on held-out
prompts after training, the reward-model gain and the change in response length against the starting
policy (mean over prompts, with 2 standard errors of the paired difference). The speed ratio is
PPO's seconds per update over the variant's.

    python benchmarks/rl_speed.py                       # the embedded 135M model, 8 updates (quick preset)
    python benchmarks/rl_speed.py --model tiny --updates 2 --variants ppo,rloo   # a smoke run in seconds
    python benchmarks/rl_speed.py --reward-model RUN_DIR/round0/reward_model --out rl_speed.json

Without ``--reward-model`` one is trained first from the policy on sample_data/human_pairs.jsonl
(the quick preset's reward settings), so every variant is paid by the same model. Other work on the
machine slows every variant; the ratios come from one run, on one machine, at one time.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# name -> (rl section, ppo-section overrides): what each variant changes against the quick preset
VARIANTS = {
    "ppo": ({"algorithm": "ppo"}, {"mini_batches": 2, "ppo_epochs": 2}),  # the old path: 4 models, 2 epochs x 2
    "rloo": ({"algorithm": "rloo"}, {"mini_batches": 2}),  # the rollouts in two accumulated halves
    "grpo": ({"algorithm": "grpo"}, {"mini_batches": 2}),
    "rloo-1mb": ({"algorithm": "rloo"}, {"mini_batches": 1}),  # the 8 rollouts in one forward/backward
    "rloo-lora": ({"algorithm": "rloo", "lora_r": 16}, {"mini_batches": 1}),
    "rloo-judge": ({"algorithm": "rloo", "reward": "judge"}, {"mini_batches": 1}),  # d-RLAIF, the quick judge
    "rloo-1mb-fp32": ({"algorithm": "rloo", "precision": "fp32"}, {"mini_batches": 1}),
    "rloo-1mb-bf16": ({"algorithm": "rloo", "precision": "bf16"}, {"mini_batches": 1}),  # bf16 autocast
}


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.child:
        return child(json.loads(args.child))
    from core.config import load_config
    from core.data.prompts_file import load_prompts
    from core.gaming.overopt import heldout_prompts
    from core.models import resolve_model

    quick = load_config(ROOT / "sample_data" / "quick.yaml")
    policy = str(resolve_model(args.model))
    pool = [p.text for p in load_prompts(quick.prompts.path)]
    train = pool[: quick.prompts.n]
    held_out = heldout_prompts(pool, train, args.eval_prompts, seed=0)
    work = Path(tempfile.mkdtemp(prefix="rl-speed-"))
    reward = args.reward_model or run_child({"task": "reward", "policy": policy, "out": str(work / "rm"),
                                             "model": args.model})["path"]
    common = {"policy": policy, "reward": reward, "train": train, "held_out": held_out, "updates": args.updates,
              "model": args.model}
    start = run_child({**common, "task": "eval_start"})
    rows = []
    for name in args.variants.split(","):
        result = run_child({**common, "task": "train", "variant": name, "out": str(work / name)})
        rows.append(summarise(name, result, start))
        print(format_row(rows[-1]), flush=True)
    base = next((r for r in rows if r["variant"] == "ppo"), None)
    for r in rows:
        r["speedup_vs_ppo"] = base["s_per_update"] / r["s_per_update"] if base else None
    print(table(rows))
    if args.out:
        Path(args.out).write_text(json.dumps({"conditions": conditions(args), "rows": rows}, indent=2) + "\n")
    return 0


def run_child(task: dict) -> dict:
    """``task`` in a fresh Python process (its own peak memory), its JSON answer on the last stdout line."""
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(task)], cwd=ROOT, capture_output=True,
                          text=True)
    if proc.returncode:
        raise RuntimeError(f"{task['task']} {task.get('variant', '')} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def child(task: dict) -> int:
    import torch

    torch.manual_seed(0)
    if task["task"] == "reward":
        out = train_reward(task)
    elif task["task"] == "eval_start":
        out = evaluate(task["policy"], task)
    else:
        out = train_variant(task)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
    return 0


def train_reward(task: dict) -> dict:
    from core.config import load_config
    from core.data.pairs_file import read_pairs_jsonl
    from core.loop.preferences import compile_preferences
    from core.loop.reward_model import train_reward_model

    quick = load_config(ROOT / "sample_data" / "quick.yaml")
    pairs = read_pairs_jsonl(ROOT / "sample_data" / "human_pairs.jsonl")
    records, _ = compile_preferences(pairs.drop(columns=["verdict"], errors="ignore"), pairs[["pair_id", "human"]],
                                     label_column="human")
    metrics = train_reward_model(task["policy"], records, quick.reward, task["out"])
    return {"path": metrics["path"], "heldout_accuracy": metrics["heldout_accuracy"]}


def train_variant(task: dict) -> dict:
    import dataclasses

    from transformers import TrainerCallback

    from core.config import RLConfig, load_config
    from core.loop.rl import metric_keys, run_rl

    quick = load_config(ROOT / "sample_data" / "quick.yaml")
    rl_section, ppo_overrides = VARIANTS[task["variant"]]
    cfg = dataclasses.replace(quick.ppo, updates=task["updates"], checkpoint_every=0, **ppo_overrides)
    rl = RLConfig(**rl_section)
    judge = None
    if rl.reward == "judge":
        from core.judges import make_judge

        judge = make_judge(dataclasses.replace(quick.judge, model=task["model"]) if task["model"] == "tiny"
                           else quick.judge)
    rows, stamps = [], [time.perf_counter()]
    translate = metric_keys(rl, cfg)

    class Timer(TrainerCallback):
        """Times each update and keeps its logs in the keys every algorithm writes."""

        def __init__(self, scorer):
            self.scorer = scorer

        def on_train_begin(self, args, state, control, **kwargs):
            stamps[:] = [time.perf_counter()]  # models loaded, trainer built: updates start here

        def on_step_end(self, args, state, control, **kwargs):
            stamps.append(time.perf_counter())

        def on_log(self, args, state, control, logs=None, **kwargs):
            samples, cost = self.scorer.drain()
            if samples:
                row = translate(dict(logs or {}))
                row.update(cost, mean_tokens=statistics.fmean(s["n_tokens"] for s in samples))
                rows.append(row)

    began = time.perf_counter()
    out = run_rl(task["policy"], task["train"], cfg, rl, task["out"], reward_path=task["reward"], judge=judge,
                 callback_factory=lambda scorer: [Timer(scorer)])
    total = time.perf_counter() - began
    per_update = [b - a for a, b in zip(stamps, stamps[1:])]
    result = evaluate(str(out), task)
    return {**result, "seconds_total": total, "s_per_update": statistics.median(per_update),
            "per_update": per_update, "kl_last": rows[-1].get("objective/kl") if rows else None,
            "kl_per_update": [r.get("objective/kl") for r in rows],
            "train_reward_first": rows[0].get("objective/scores") if rows else None,
            "train_reward_last": rows[-1].get("objective/scores") if rows else None,
            "reward_seconds": statistics.fmean(r.get("reward_cost/seconds", 0.0) for r in rows) if rows else None}


def evaluate(policy: str, task: dict) -> dict:
    """One sampled response per held-out prompt from ``policy`` (seeded), scored by the reward model."""
    from core.config import load_config
    from core.gaming.callback import sample_responses
    from core.loop.reward_model import score_conversations
    from core.models import load_policy, load_scalar_model, load_tokenizer

    quick = load_config(ROOT / "sample_data" / "quick.yaml")
    tokenizer = load_tokenizer(policy)
    texts = sample_responses(load_policy(policy), tokenizer, task["held_out"], max_new_tokens=quick.ppo.response_length,
                             temperature=quick.ppo.temperature, seed=0)
    rm_tok = load_tokenizer(task["reward"])
    rm = load_scalar_model(task["reward"], rm_tok.pad_token_id).eval()
    convs = [[{"role": "user", "content": q}, {"role": "assistant", "content": t}] for q, t in zip(task["held_out"], texts)]
    scores = score_conversations(rm, rm_tok, convs)
    tokens = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
    return {"eval_rewards": [float(s) for s in scores], "eval_tokens": tokens}


def paired(after: list[float], before: list[float]) -> tuple[float, float]:
    diffs = [a - b for a, b in zip(after, before)]
    se = statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else float("nan")
    return statistics.fmean(diffs), 2 * se


def summarise(name: str, result: dict, start: dict) -> dict:
    gain, gain_2se = paired(result["eval_rewards"], start["eval_rewards"])
    longer, longer_2se = paired(result["eval_tokens"], start["eval_tokens"])
    return {"variant": name, "s_per_update": result["s_per_update"], "seconds_total": result["seconds_total"],
            "peak_rss_mb": result["peak_rss_mb"], "kl_last": result["kl_last"], "reward_gain": gain,
            "reward_gain_2se": gain_2se, "length_change_tokens": longer, "length_change_2se": longer_2se,
            "reward_seconds_per_update": result["reward_seconds"], "per_update": result["per_update"],
            "kl_per_update": result.get("kl_per_update", [])}


def format_row(r: dict) -> str:
    kl = "n/a" if r["kl_last"] is None else f"{r['kl_last']:.3g}"
    return (f"{r['variant']:<11} {r['s_per_update']:7.2f} s/update  peak {r['peak_rss_mb']:6.0f} MB  KL {kl:>8}  "
            f"RM gain {r['reward_gain']:+.3f} ±{r['reward_gain_2se']:.3f}  "
            f"length {r['length_change_tokens']:+.1f} ±{r['length_change_2se']:.1f} tokens\n"
            f"{'':<11} KL by update: {' '.join('n/a' if k is None else f'{k:.3f}' for k in r['kl_per_update'])}")


def table(rows: list[dict]) -> str:
    head = "| variant | s/update | speed vs PPO | peak RSS (MB) | KL (last update) | RM gain ± 2 SE | length change (tokens) ± 2 SE |"
    lines = [head, "|" + "---|" * 7]
    for r in rows:
        speed = "n/a" if r["speedup_vs_ppo"] is None else f"{r['speedup_vs_ppo']:.2f}x"
        kl = "n/a" if r["kl_last"] is None else f"{r['kl_last']:.3g}"
        lines.append(f"| {r['variant']} | {r['s_per_update']:.2f} | {speed} | {r['peak_rss_mb']:.0f} | {kl} | "
                     f"{r['reward_gain']:+.3f} ± {r['reward_gain_2se']:.3f} | "
                     f"{r['length_change_tokens']:+.1f} ± {r['length_change_2se']:.1f} |")
    return "\n".join(lines)


def conditions(args) -> dict:
    import torch

    return {"date": time.strftime("%Y-%m-%d"), "model": args.model, "updates": args.updates,
            "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "eval_prompts": args.eval_prompts}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2-135m", help="policy: 'smollm2-135m' (embedded) or 'tiny'")
    p.add_argument("--updates", type=int, default=8, help="updates per variant (quick preset: 8)")
    p.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    p.add_argument("--reward-model", help="a trained reward model folder (default: train one first)")
    p.add_argument("--eval-prompts", type=int, default=32, help="held-out prompts for the reward gain")
    p.add_argument("--out", help="also write the rows as JSON here")
    p.add_argument("--child", help=argparse.SUPPRESS)
    return p


if __name__ == "__main__":
    sys.exit(main())
