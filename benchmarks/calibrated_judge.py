"""The calibrated judge (core/judges/calibrated_model.py) on real human labels: k-fold CV and learning curves.

On sample_data/human/pandalm_testset_v1.jsonl (the first ``--pandalm`` pairs; the embedded
model's signals are expensive on 2 CPU cores) and sample_data/human/llmbar_natural.jsonl (all
100 pairs). The raw judges' readings (``longest``, ``shortest`` and the embedded SmolLM2-135M
read as ``letters``, ``pointwise`` and ``likelihood``) are cached in a store file, so a rerun
judges nothing twice. Prints, per dataset, the cross-validated agreement of the calibrated
judge beside the raw judges and yardsticks, P(prefer longer) beside the humans', and the
learning curve (CV agreement vs the number of human labels it was trained on).

    python benchmarks/calibrated_judge.py [--pandalm 500] [--folds 5] [--store FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.audit.report import to_json_ready  # noqa: E402
from core.config import JudgeConfig  # noqa: E402

DATA = ROOT / "sample_data" / "human"
DEFAULT_STORE = ROOT / ".rlaif" / "bench_calibrated.sqlite"
DATASETS = {"pandalm": "pandalm_testset_v1.jsonl", "llmbar": "llmbar_natural.jsonl"}
METHODS = ("letters", "pointwise", "likelihood")
CURVE = (25, 50, 100, 200, 400)


def judge_specs(model: str = "smollm2-135m", methods=METHODS) -> list:
    """The raw judges: the yardsticks by name, the embedded model's readings (packaged principles) as configs."""
    return ["longest", "shortest"] + [JudgeConfig(backend="local", model=model, method=m) for m in methods]


def prepare(store, name: str, n_pairs: int | None, specs: list, *, judge_missing: bool = True) -> tuple[str, list]:
    """Import the dataset's first ``n_pairs`` pairs (once) and judge them with every spec (resumable,
    so a rerun judges nothing twice); return the source and the raw judges (names and definitions)."""
    from tqdm import tqdm

    from core.data.importers import import_pairs_frame
    from core.data.pairs_file import read_pairs_jsonl
    from core.human_labels.calibrated_fit import raw_judges
    from core.loop.judging import source_pairs

    source = f"dataset:{name}"
    if source not in store.source_names():
        frame = read_pairs_jsonl(DATA / DATASETS[name])
        import_pairs_frame(store, frame if n_pairs is None else frame.head(n_pairs), dataset=name)
    n = len(source_pairs(store, source))
    raw = []
    for spec in specs:
        label = spec if isinstance(spec, str) else f"{spec.model}-{spec.method}"
        t0 = time.perf_counter()
        with tqdm(total=n, desc=f"{name}: {label}", file=sys.stderr) as bar:
            raw += raw_judges(store, [source], [spec], progress=bar.update, judge_missing=judge_missing)
        print(f"{name}: {label} ready ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    return source, raw


def report(store, name: str, source: str, raw: list, args) -> dict:
    """Print the CV table, the findings and the learning curve of one dataset; return them."""
    from core.human_labels.calibrated_cv import evaluate, learning_curve
    from core.human_labels.calibrated_fit import fit_calibrated, read_training_set
    from core.views.text_report import format_table

    model_judges = [j for j in raw if j.config["backend"] == "local"]  # the yardsticks enter as the length ratio
    data = read_training_set(store, [source], [j.name for j in model_judges])
    model = fit_calibrated(data, model_judges, C=args.C)
    result = evaluate(data, model_judges, folds=args.folds, C=args.C, seed=args.seed, model=model)
    curve = learning_curve(data, model_judges, CURVE, folds=args.folds, repeats=args.repeats, C=args.C,
                           seed=args.seed)
    n_all = len(store.audit_rows(source))
    costs = store.judgment_cost_totals(source).set_index("judge")
    spent = ", ".join(f"{j.name} {costs.at[j.name, 'n_labels']} pairs at {costs.at[j.name, 'seconds'] / costs.at[j.name, 'n_labels']:.1f} s"
                      for j in model_judges if j.name in costs.index)
    print(f"\n## {name}: {n_all} pairs of {DATASETS[name]}" + (f" (the first {n_all} of 945)" if name == "pandalm" else ""))
    print(f"judged (cached in the store; 2 shared CPU cores): {spent}")
    print(f"calibrated = L2 logistic regression (C={args.C}) over {', '.join(model.features)}; "
          f"{args.folds}-fold CV, out-of-fold verdicts")
    print(format_table(result["table"]))
    print("\n".join(result["findings"]))
    print("standardised weights (fit on all pairs): " + ", ".join(f"{k} {v:+.2f}" for k, v in model.weights().items()))
    print(f"learning curve ({args.folds}-fold CV, {args.repeats} random training subsets per fold and size):")
    for r in curve.itertuples():
        cap = f" (asked {r.requested}: all a fold has)" if r.capped else ""
        print(f"  {r.train_labels:4d} human labels{cap}: agreement {r.agreement:.3f} [{r.ci95_low:.3f}, {r.ci95_high:.3f}]")
    return {"table": result["table"].to_dict("records"), "versus": result["versus"], "findings": result["findings"],
            "weights": model.weights(), "curve": curve.to_dict("records"), "n_pairs_used": result["n_pairs"]}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pandalm", type=int, default=500, help="PandaLM pairs to use (of 945), from the start")
    ap.add_argument("--folds", type=int, default=10, help="k of the k-fold CV (10: a fold trains on 400 PandaLM labels)")
    ap.add_argument("--C", type=float, default=1.0, help="inverse L2 strength")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=5, help="random subsamples per learning-curve point")
    ap.add_argument("--store", type=Path, default=DEFAULT_STORE)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--methods", default=",".join(METHODS), help="the embedded model's readings to calibrate over")
    ap.add_argument("--datasets", default="llmbar,pandalm")
    ap.add_argument("--prepare-only", action="store_true", help="judge and cache, report nothing")
    ap.add_argument("--report-only", action="store_true",
                    help="judge nothing: calibrate on the pairs every judge has judged so far")
    args = ap.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from core.store import Store

    args.store.parent.mkdir(parents=True, exist_ok=True)
    store = Store(args.store)
    specs = judge_specs(args.model, args.methods.split(","))
    sizes = {"llmbar": None, "pandalm": args.pandalm}
    prepared = {name: prepare(store, name, sizes[name], specs, judge_missing=not args.report_only)
                for name in args.datasets.split(",")}
    if args.prepare_only:
        return
    results = {name: report(store, name, source, raw, args) for name, (source, raw) in prepared.items()}
    out = args.store.with_name(f"{args.store.stem}-{'-'.join(prepared)}.json")
    out.write_text(json.dumps(to_json_ready(results), indent=1))
    print(f"\nresults: {out}; cached judge readings: {args.store}")


if __name__ == "__main__":
    main()
