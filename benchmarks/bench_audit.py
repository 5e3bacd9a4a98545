"""Time the full audit of 100,000 labelled pairs against a plain scikit-learn bootstrap loop.

    .venv/bin/python benchmarks/bench_audit.py [--n 100000] [--n-boot 1000] [--baseline-resamples 1000]

The audit (``core.audit.audit_report``) computes agreement with and without ties, Cohen's
kappa, the confusion matrix, 1,000 bootstrap resamples for every interval, the length GLM,
agreement by length bucket, position bias, calibration, the human-human ceiling and the
category, principle and self-preference breakdowns. The baseline is what one would write
first: for each resample, an index vector and ``sklearn.metrics.cohen_kappa_score`` plus the
accuracy, on integer-coded labels (scikit-learn's fast path; strings are ~4x slower).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.audit import audit_report  # noqa: E402

LABELS = np.array(["A", "B", "TIE"])


def synthetic_frames(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pairs and both-order judgments with a judge that agrees ~70% and leans to length."""
    rng = np.random.default_rng(seed)
    len_a, len_b = rng.integers(20, 2000, n), rng.integers(20, 2000, n)
    human = LABELS[rng.choice(3, n, p=[0.45, 0.45, 0.10])]
    lean = np.tanh((len_a - len_b) / 600.0)
    signal = np.where(human == "A", 1.0, np.where(human == "B", -1.0, 0.0))
    p_ab = 1 / (1 + np.exp(-(1.5 * signal + 0.8 * lean + 0.3 + rng.normal(0, 1.0, n))))
    p_ba = 1 / (1 + np.exp(-(1.5 * signal + 0.8 * lean - 0.3 + rng.normal(0, 1.0, n))))
    p_a = (p_ab + p_ba) / 2
    models = np.array(["llama-7b", "opt-7b", "pythia-6.9b", "bloom-7b"])
    pairs = pd.DataFrame({
        "pair_id": [f"p{i}" for i in range(n)], "len_a": len_a, "len_b": len_b, "human": human,
        "category": rng.choice([f"cat{k}" for k in range(10)], n), "principle": rng.choice(["helpful", "honest"], n),
        "model_a": models[rng.integers(0, 4, n)], "model_b": models[rng.integers(0, 4, n)],
    })
    judgments = pd.DataFrame({
        "pair_id": pairs["pair_id"], "judge": "synthetic",
        "verdict": np.where(np.abs(p_a - 0.5) < 0.02, "TIE", np.where(p_a > 0.5, "A", "B")),
        "p_a": p_a, "p_a_ab": p_ab, "p_a_ba": p_ba, "consistent": (p_ab > 0.5) == (p_ba > 0.5),
    })
    return pairs, judgments


def time_audit(pairs, judgments, n_boot: int, repeats: int = 3) -> tuple[float, dict]:
    best, report = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        report = audit_report(pairs, judgments, seed=0, n_boot=n_boot, judge_family="llama")
        best = min(best, time.perf_counter() - start)
    return best, report


def time_sklearn_loop(pairs, judgments, resamples: int) -> float:
    from sklearn.metrics import cohen_kappa_score

    codes = {"A": 0, "B": 1, "TIE": 2}
    human = pairs["human"].map(codes).to_numpy()
    judge = judgments["verdict"].map(codes).to_numpy()
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    kappas, agreements = np.empty(resamples), np.empty(resamples)
    for b in range(resamples):
        index = rng.integers(0, len(human), len(human))
        kappas[b] = cohen_kappa_score(human[index], judge[index])
        agreements[b] = np.mean(human[index] == judge[index])
    np.quantile(kappas, [0.025, 0.975]), np.quantile(agreements, [0.025, 0.975])
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--baseline-resamples", type=int, default=1000,
                        help="resamples the scikit-learn loop runs (its time is scaled to --n-boot)")
    args = parser.parse_args(argv)
    pairs, judgments = synthetic_frames(args.n)
    print(f"{args.n:,} pairs, {args.n_boot} bootstrap resamples, {os.cpu_count()} CPUs")
    seconds, report = time_audit(pairs, judgments, args.n_boot)
    print(f"full audit (best of 3):           {seconds:.3f} s   goal <= 2 s: {'met' if seconds <= 2 else 'NOT met'}")
    print(f"  agreement {report['agreement']:.3f} {report['agreement_ci95']}, kappa {report['cohen_kappa']:.3f}, "
          f"LC agreement {report['length_controlled']['length_controlled']:.3f}, ECE {report['ece']:.3f}")
    baseline = time_sklearn_loop(pairs, judgments, args.baseline_resamples) * args.n_boot / args.baseline_resamples
    print(f"scikit-learn loop, kappa + agreement only, {args.n_boot} resamples: {baseline:.1f} s")
    print(f"ratio (loop / full audit):        {baseline / seconds:.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
