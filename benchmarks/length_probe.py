"""Padding attacks on the embedded default: does the reward model, or the judge, prefer a padded copy?

Two commands (numbers and the commands that made them: docs/verbosity.md):

    # the judge: each response of N pairs per dataset vs its padded copies, both orders
    python benchmarks/length_probe.py judge --n 25 --methods letters,pointwise,likelihood

    # a reward model: probe one that exists (held-out split of its preferences file) ...
    python benchmarks/length_probe.py rm --rm .rlaif/runs/RUN/round0/reward_model \\
        --records .rlaif/runs/RUN/round0/preferences.jsonl
    # ... or train one from the embedded model on PandaLM pairs first (labels: human, longest,
    # or a local judge method such as pointwise), then probe its held-out pairs
    python benchmarks/length_probe.py rm --train human --n 160 --out /tmp/rm-human

    # the monitor's flags on synthetic runs: how often each fires with and without a length reward
    python benchmarks/length_probe.py monitor --runs 200 --batch 8
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import JudgeConfig, RewardConfig  # noqa: E402
from core.data.pairs_file import read_pairs_jsonl
from core.gaming.padding import judge_padding_attack, probe_reward_model_length  # noqa: E402
from core.schema import to_response_pairs  # noqa: E402

DATA = ROOT / "sample_data" / "human"
PRINCIPLES = ROOT / "core" / "judges" / "constitution.txt"
DATASETS = "pandalm_testset_v1.jsonl,llmbar_natural.jsonl"


def sample_pairs(path: Path, n: int, seed: int, *, winners_only: bool = False) -> pd.DataFrame:
    """A seeded sample of ``n`` pairs of a human-labelled pairs file."""
    frame = read_pairs_jsonl(path)
    if winners_only:
        frame = frame[frame["human"].isin(["A", "B"])]
    order = np.random.default_rng(seed).permutation(len(frame))[:n]
    return frame.iloc[order].reset_index(drop=True)


def make_judges(model: str, methods: str):
    from core.judges import make_judge

    yield make_judge("longest")
    yield make_judge("shortest")
    for method in filter(None, methods.split(",")):
        yield make_judge(JudgeConfig(backend="local", model=model, method=method, principles=str(PRINCIPLES)))


def judge_command(args) -> dict:
    pairs = [p for name in args.datasets.split(",")
             for p in to_response_pairs(sample_pairs(DATA / name, args.n, args.seed))]
    rows, out = [], {}
    for judge in make_judges(args.model, args.methods):
        t0 = time.perf_counter()
        result = judge_padding_attack(judge, pairs, seed=args.seed)
        seconds = time.perf_counter() - t0
        judge.close()
        out[judge.name] = {k: v for k, v in result.items() if k != "cases"} | {"seconds": seconds}
        strat = result["by_strategy"]
        rows.append({"judge": judge.name, "cases": result["n_cases"], "failure": result["failure_rate"],
                     "fail filler": strat["filler"]["failure_rate"],
                     "fail restated_list": strat["restated_list"]["failure_rate"],
                     "tie": result["tie_rate"], "consistency": result["consistency"],
                     "fail padded first": result["failure_rate_padded_first"],
                     "fail padded second": result["failure_rate_padded_second"], "seconds": round(seconds)})
        print(pd.DataFrame(rows[-1:]).to_string(index=False, float_format="{:.3f}".format), flush=True)
    print("\n" + pd.DataFrame(rows).to_string(index=False, float_format="{:.3f}".format))
    return {"pairs": len(pairs), "datasets": args.datasets, "n_per_dataset": args.n, "results": out}


def preference_records(frame: pd.DataFrame, labels: str, model: str) -> list[dict]:
    """TRL preference records from pairs, labelled by the humans, `longest`, or a local judge method."""
    from core.judges import judge_pairs, make_judge
    from core.loop.preferences import compile_preferences

    if labels == "human":
        verdicts = frame[["pair_id", "human"]].rename(columns={"human": "verdict"})
    else:
        spec = JudgeConfig(backend="longest") if labels == "longest" else JudgeConfig(
            backend="local", model=model, method=labels, principles=str(PRINCIPLES))
        judge = make_judge(spec)
        judgments = judge_pairs(judge, to_response_pairs(frame))
        judge.close()
        verdicts = pd.DataFrame({"pair_id": [j.pair_id for j in judgments],
                                 "verdict": [j.verdict.value for j in judgments]})
    records, _ = compile_preferences(frame.drop(columns=["verdict"], errors="ignore"), verdicts)
    return records


def rm_command(args) -> dict:
    from core.loop.preferences import export_preferences
    from core.loop.reward_model import pairwise_accuracy, split_records, train_reward_model
    from core.models import load_scalar_model, load_tokenizer, resolve_model

    cfg = RewardConfig(epochs=args.epochs, max_length=args.max_length)
    if args.rm:
        path = Path(args.rm)
        records = [json.loads(line) for line in Path(args.records).read_text(encoding="utf-8").splitlines()]
        trained = {}
    else:
        frame = sample_pairs(DATA / args.pairs, args.n, args.seed, winners_only=True)
        records = preference_records(frame, args.train, args.model)
        path = Path(args.out)
        # written first, so that `rm --rm OUT --records OUT/preferences.jsonl` can probe it again later
        export_preferences(records, path / "preferences.jsonl")
        t0 = time.perf_counter()
        trained = train_reward_model(resolve_model(args.model), records, cfg, path)
        trained["seconds"] = time.perf_counter() - t0
        print(f"trained on {trained['n_train']} pairs ({args.train} labels) in {trained['seconds']:.0f}s: "
              f"train accuracy {trained['train_accuracy']:.3f}, held-out {trained['heldout_accuracy']:.3f}")
    _, held_out = split_records(records, cfg.eval_fraction, cfg.seed)
    tokenizer = load_tokenizer(path)
    model = load_scalar_model(path, tokenizer.pad_token_id).eval()
    accuracy = pairwise_accuracy(model, tokenizer, held_out)
    print(f"held-out pairwise accuracy against its labels: {accuracy:.3f} ({len(held_out)} pairs)")
    result = probe_reward_model_length(model, tokenizer, held_out, seed=args.seed)
    rows = [{"strategy": s, **{k: v for k, v in part.items()}} for s, part in
            [("all", result)] + list(result["by_strategy"].items())]
    table = pd.DataFrame(rows)[["strategy", "n_cases", "prefer_padded_rate", "mean_reward_gain", "mean_length_ratio"]]
    print(table.to_string(index=False, float_format="{:.3f}".format))
    return {"reward_model": str(path), "labels": args.train or "from --records", "n_heldout_records": len(held_out),
            "heldout_accuracy": accuracy,
            "training": {k: v for k, v in trained.items() if k != "path"},
            "probe": {k: v for k, v in result.items() if k != "cases"}}


SCENARIOS = {  # reward of each rollout from its token count n, the update t and an rng
    "reward = length": lambda n, t, rng: n.astype(float),
    "reward = 0.2 x length + noise": lambda n, t, rng: 0.2 * n + 3 * rng.normal(size=n.size),
    "reward ignores length (noise)": lambda n, t, rng: rng.normal(size=n.size),
    "reward ignores length, quality rises": lambda n, t, rng: 0.5 * t + rng.normal(size=n.size),
}


def monitor_command(args) -> dict:
    """How often the default flags fire on synthetic runs whose lengths drift up 6 tokens per update."""
    from core.config import MonitorConfig
    from core.gaming.monitor import FLAGS, GamingMonitor

    rows = []
    for name, reward_of in SCENARIOS.items():
        fired = {flag: 0 for flag in FLAGS}
        for seed in range(args.runs):
            rng, monitor = np.random.default_rng(seed), GamingMonitor(MonitorConfig())
            for step in range(1, args.updates + 1):
                tokens = rng.integers(10 + 6 * step, 40 + 6 * step, size=args.batch)
                rewards = reward_of(tokens, step, rng)
                monitor.update(step, [{"prompt": "", "response": "", "score": float(r), "n_tokens": int(n),
                                       "n_chars": int(n)} for n, r in zip(tokens, rewards)])
            for flag in {f["flag"] for f in monitor.flags}:
                fired[flag] += 1
            fired["any"] = fired.get("any", 0) + bool(monitor.flags)
        rows.append({"scenario": name, **{k: v / args.runs for k, v in fired.items()}})
    table = pd.DataFrame(rows)
    print(f"share of {args.runs} runs ({args.updates} updates of {args.batch}) in which each flag fired")
    print(table.to_string(index=False, float_format="{:.3f}".format))
    return {"runs": args.runs, "updates": args.updates, "batch": args.batch, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    judge = sub.add_parser("judge", help="the padding attack against judges")
    judge.add_argument("--n", type=int, default=25, help="pairs per dataset (both responses of each are attacked)")
    judge.add_argument("--datasets", default=DATASETS)
    judge.add_argument("--methods", default="letters,pointwise,likelihood")
    rm = sub.add_parser("rm", help="the length probe against a reward model")
    rm.add_argument("--rm", help="an existing reward model folder (needs --records)")
    rm.add_argument("--records", help="the preferences JSONL it was trained on; its held-out split is probed")
    rm.add_argument("--train", help="train one first, with labels: human, longest, or a local judge method")
    rm.add_argument("--pairs", default="pandalm_testset_v1.jsonl", help="pairs file under sample_data/human")
    rm.add_argument("--n", type=int, default=160, help="pairs with a human winner to train on (before the split)")
    rm.add_argument("--out", default="/tmp/rlaif-length-probe-rm")
    rm.add_argument("--epochs", type=float, default=2.0)
    rm.add_argument("--max-length", type=int, default=384)
    mon = sub.add_parser("monitor", help="how often the default flags fire on synthetic PPO runs")
    mon.add_argument("--runs", type=int, default=200)
    mon.add_argument("--updates", type=int, default=8)
    mon.add_argument("--batch", type=int, default=8)
    for parser in (judge, rm):
        parser.add_argument("--model", default="smollm2-135m")
        parser.add_argument("--seed", type=int, default=0)
    for parser in (judge, rm, mon):
        parser.add_argument("--json", type=Path, help="write the summary here")
    args = ap.parse_args()
    if args.command == "rm" and not (bool(args.rm and args.records) ^ bool(args.train)):
        ap.error("rm needs either --rm with --records, or --train")
    commands = {"judge": judge_command, "rm": rm_command, "monitor": monitor_command}
    summary = commands[args.command](args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2, default=float) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
