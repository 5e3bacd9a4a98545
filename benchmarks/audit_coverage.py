"""Coverage of the spot-check interval, by simulation on the PandaLM set, and labels saved.

    .venv/bin/python benchmarks/audit_coverage.py [--judge longest --judge random] [--reps 100]

For each judge: run it on all 945 PandaLM pairs, take the full-set agreement as the truth,
then repeat a 200-label spot-check ``--reps`` times, revealing the real human label of each
drawn pair. Uniform: one simple random sample of 200. Active: strata from the judge's
uncertainty, order consistency and length difference, a proportional pilot of 50 and 150
by Neyman allocation from the pilot's labels (``core.audit.spot_check_design``). Prints how many of
the 95% intervals cover the truth, their mean width, and the smallest active budget whose
mean width is no wider than uniform's at 200.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.audit import audit_frame, estimate_agreement, judgments_to_frame, plan_spot_checks, spot_check_strata  # noqa: E402
from core.data.pairs_file import read_pairs_jsonl
from core.judges import judge_pairs, make_judge  # noqa: E402
from core.schema import to_response_pairs  # noqa: E402

PANDALM = ROOT / "sample_data" / "human" / "pandalm_testset_v1.jsonl"


def judged_population(spec: str, path: Path) -> tuple[pd.DataFrame, pd.Series]:
    """The audit frame of a judge on the file, and per pair 1.0/0.0 for judge == human."""
    pairs = read_pairs_jsonl(path)
    judge = make_judge(spec)
    try:
        judgments = judgments_to_frame(judge_pairs(judge, to_response_pairs(pairs)))
    finally:
        judge.close()
    frame = audit_frame(pairs, judgments)
    frame = frame[frame["verdict"] != "INVALID"]
    agree = pd.Series((frame["verdict"] == frame["human"]).astype(float).to_numpy(), index=frame["pair_id"])
    return frame, agree


def _label(draws: pd.DataFrame, agree: pd.Series) -> pd.DataFrame:
    return draws.assign(agree=agree.loc[draws["pair_id"]].to_numpy())


def uniform_run(strata: pd.Series, agree: pd.Series, n: int, seed: int) -> dict:
    draws = _label(plan_spot_checks(strata, n, seed=seed), agree)
    return estimate_agreement(draws, strata)


def active_run(strata: pd.Series, agree: pd.Series, n: int, seed: int) -> dict:
    pilot = _label(plan_spot_checks(strata, n // 4, seed=seed), agree)
    rest = _label(plan_spot_checks(strata, n - n // 4, history=pilot, seed=seed + 1_000_003), agree)
    return estimate_agreement(pd.concat([pilot, rest], ignore_index=True), strata)


def simulate(run, strata, agree, n: int, reps: int, truth: float) -> dict:
    results = [run(strata, agree, n, seed) for seed in range(reps)]
    covered = sum(r["ci"][0] <= truth <= r["ci"][1] for r in results)
    return {"covered": covered, "reps": reps, "width": float(np.mean([r["ci"][1] - r["ci"][0] for r in results])),
            "labels": float(np.mean([r["n_labels"] for r in results])),
            "bias": float(np.mean([r["estimate"] for r in results]) - truth)}


def labels_for_width(strata, agree, target: float, reps: int, truth: float, budgets) -> tuple[int, dict] | None:
    for n in budgets:
        result = simulate(active_run, strata, agree, n, reps, truth)
        if result["width"] <= target:
            return n, result
    return None


def report_judge(spec: str, path: Path, reps: int, width_reps: int) -> None:
    frame, agree = judged_population(spec, path)
    truth = float(agree.mean())
    uniform_strata = pd.Series("all", index=agree.index)
    active_strata = spot_check_strata(frame)
    print(f"\njudge {spec}: {len(agree)} pairs, full-set agreement {truth:.4f}, "
          f"{active_strata.nunique()} strata: {', '.join(sorted(active_strata.unique()))}")
    for name, run, strata in (("uniform", uniform_run, uniform_strata), ("active", active_run, active_strata)):
        for count in (reps, 10 * reps):
            r = simulate(run, strata, agree, 200, count, truth)
            print(f"  {name:8s} n=200: CI covers the truth in {r['covered']}/{r['reps']}, "
                  f"mean width {r['width']:.4f}, mean estimate - truth {r['bias']:+.4f}, "
                  f"distinct labels {r['labels']:.1f}")
    target = simulate(uniform_run, uniform_strata, agree, 200, width_reps, truth)["width"]
    found = labels_for_width(active_strata, agree, target, width_reps, truth, range(100, 241, 5))
    if found is None:
        print(f"  active needs more than 240 draws to match uniform's mean width {target:.4f} at 200")
    else:
        n, r = found
        print(f"  active matches uniform's mean width at 200 ({target:.4f}) with {n} draws "
              f"({r['labels']:.1f} distinct labels on average; width {r['width']:.4f}, "
              f"coverage {r['covered']}/{r['reps']})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", action="append", help="judge spec (repeatable); default longest and random")
    parser.add_argument("--pairs", type=Path, default=PANDALM)
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--width-reps", type=int, default=400)
    args = parser.parse_args(argv)
    for spec in args.judge or ["longest", "random"]:
        report_judge(spec, args.pairs, args.reps, args.width_reps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
