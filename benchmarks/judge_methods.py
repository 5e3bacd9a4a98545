"""Measure the local judge's methods on real human-labelled pairs (sample_data/human/).

Prints, per dataset and method: agreement with humans on pairs with a winner (ties in the
human label left out), position consistency, and the `longest`/`shortest` yardsticks on the
same pairs. This is how the default method was chosen; run it again after changing a prompt.

    python benchmarks/judge_methods.py [--n 200] [--model smollm2-135m]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_local_judge import load_pairs  # noqa: E402
from core.config import JudgeConfig  # noqa: E402
from core.judges import judge_pairs, make_judge  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "sample_data" / "human"
PRINCIPLES = Path(__file__).resolve().parents[1] / "core" / "judges" / "constitution.txt"


def score(judgments, labels) -> tuple[float, float]:
    hits = [j.verdict.value == h for j, h in zip(judgments, labels) if j.verdict.value in ("A", "B")]
    decided = len(hits) / len(labels)
    cons = [j.consistent for j in judgments if j.consistent is not None]
    return (sum(hits) / len(labels) if labels else float("nan")), sum(cons) / max(1, len(cons)), decided


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="pairs with a human winner per dataset")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--methods", default="letters,pointwise,likelihood")
    ap.add_argument("--datasets", default="pandalm_testset_v1.jsonl,llmbar_natural.jsonl")
    args = ap.parse_args()
    print(f"{'dataset':28} {'judge':24} {'agree':>6} {'consist':>7} {'decided':>7} {'pairs/s':>8}")
    for dataset in args.datasets.split(","):
        pairs, labels = load_pairs(DATA / dataset, args.n)
        judges = [make_judge("longest"), make_judge("shortest")] + [
            make_judge(JudgeConfig(backend="local", model=args.model, method=m, principles=str(PRINCIPLES)))
            for m in args.methods.split(",")
        ]
        for judge in judges:
            t0 = time.perf_counter()
            with tqdm(total=len(pairs), desc=judge.name, file=sys.stderr, leave=False) as bar:
                js = judge_pairs(judge, pairs, progress=bar.update)
            rate = len(pairs) / (time.perf_counter() - t0)
            agree, cons, decided = score(js, labels)
            print(f"{dataset:28} {judge.name:24} {agree:6.3f} {cons:7.3f} {decided:7.3f} {rate:8.1f}", flush=True)


if __name__ == "__main__":
    main()
