"""What reusing stored readings saves: `audit --pairs FILE --judge cal.json` with and without `--store`.

A calibrated judge over a local raw judge and the `longest` yardstick is fitted on N PandaLM pairs
whose raw readings are in a store (the raw judge paid once, as `calibrate` does). Then the same
file is audited with that calibrated judge twice: without a store, so every raw judge reads every
pair again, and with the store, so the readings are found by their texts and nothing is read.
Prints both wall times, their ratio, and whether the two audits agree verdict for verdict.

    python benchmarks/bench_stored_reuse.py [--n 48] [--model tiny|smollm2-135m] [--method letters]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.cli import main  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "sample_data" / "human" / "pandalm_testset_v1.jsonl"


def timed_audit(argv: list[str]) -> tuple[float, dict]:
    """Wall seconds of one `audit` command and the JSON report it wrote."""
    out = Path(argv[argv.index("--json") + 1])
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    seconds = time.perf_counter() - t0
    if code != 0:
        raise SystemExit(f"audit failed: {argv}")
    return seconds, json.loads(out.read_text())


def main_() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--method", default="letters")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-reuse-"))
    lines = [x for x in DATA.read_text(encoding="utf-8").splitlines() if x.strip()][:args.n]
    pairs = work / "pairs.jsonl"
    pairs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    judge = work / "raw.yaml"
    judge.write_text(f"backend: local\nmodel: {args.model}\nmethod: {args.method}\n")
    store, cal = work / "store.sqlite", work / "cal.json"
    quiet = contextlib.redirect_stderr(io.StringIO())
    with contextlib.redirect_stdout(io.StringIO()), quiet:
        assert main(["import", str(pairs), "--format", "pairs", "--dataset", "bench", "--store", str(store)]) == 0
        t0 = time.perf_counter()
        assert main(["calibrate", "--source", "dataset:bench", "--judge", str(judge), "--judge", "longest",
                     "--out", str(cal), "--store", str(store), "--no-record"]) == 0
        first = time.perf_counter() - t0
    common = ["audit", "--pairs", str(pairs), "--judge", str(cal), "--n-boot", "200"]
    again, fresh = timed_audit([*common, "--json", str(work / "again.json")])
    reused, stored = timed_audit([*common, "--store", str(store), "--json", str(work / "reused.json")])
    same = fresh["confusion_matrix"] == stored["confusion_matrix"] and fresh["agreement"] == stored["agreement"]
    print(f"{args.n} PandaLM pairs, raw judge {args.model}-{args.method} + longest, calibrated on them "
          f"(calibrate, raw judges reading every pair once: {first:.1f} s)")
    print(f"audit --judge cal.json, no store (raw judges read every pair again): {again:.2f} s")
    print(f"audit --judge cal.json --store (stored readings reused):            {reused:.2f} s")
    print(f"ratio {again / reused:.1f}x; same audit: {same} (agreement {stored['agreement']:.3f})")


if __name__ == "__main__":
    main_()
