"""Command line: ``rlaif-audit run|judge|calibrate|audit|import|export|constitution|dashboard ...`` (the same as ``python -m core``).

``rlaif-audit`` is installed by ``pip install -e .`` (scripts/setup.sh does it); every command works
from any folder: built-in files resolve against the package, and the store is ``.rlaif/store.sqlite``
under the current folder unless ``--store`` or ``$RLAIF_AUDIT_STORE`` says otherwise.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from core.store import default_store_path

DEFAULT_STORE = default_store_path()
DASHBOARD_APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rlaif-audit", description="RLAIF loop and judge audit "
                                     "(also runs as `python -m core`)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the whole loop from a config file")
    run.add_argument("--config", required=True, help="YAML run config (see sample_data/quick.yaml)")
    run.add_argument("--store", type=Path, default=DEFAULT_STORE, help=f"run store (default {DEFAULT_STORE})")
    run.add_argument("--resume", metavar="RUN_ID", help="continue a stored run instead of starting a new one")

    worker = sub.add_parser("worker", help="execute a stored run (started by the dashboard)")
    worker.add_argument("--store", type=Path, required=True)
    worker.add_argument("--run-id", required=True)

    judge = sub.add_parser("judge", help="judge every pair of a source in the store (resumable; a calibrated judge "
                           "reuses its raw judges' stored readings)")
    judge.add_argument("--source", default="dataset:sample", help="'dataset:<name>' or 'run:<id>'")
    judge.add_argument("--judge", required=True, help="longest, shortest, random, local, or a judge YAML file")
    judge.add_argument("--store", type=Path, default=DEFAULT_STORE)

    _add_calibrate(sub)
    audit = sub.add_parser("audit", help="audit a judge against human-labelled pairs")
    from core.cli.audit import configure_parser

    configure_parser(audit)
    _add_import_export(sub)
    from core.cli.constitution import configure_parser as configure_constitution

    configure_constitution(sub.add_parser("constitution", help="constitution versions: list, show, add, diff, "
                                          "compare (core/judges/constitutions.py)"), DEFAULT_STORE)
    sub.add_parser("dashboard", help="start the Streamlit dashboard (usage statistics off); "
                   "extra arguments go to `streamlit run`, e.g. --server.port 8502")
    args, extra = parser.parse_known_args(argv)
    if args.command == "dashboard":
        return _dashboard(extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "run":
        return _run(args)
    if args.command == "worker":
        return _worker(args)
    if args.command == "judge":
        return _judge(args)
    if args.command == "import":
        return _import(args)
    if args.command == "export":
        return _export(args)
    if args.command == "calibrate":
        return _calibrate(args)
    if args.command == "constitution":
        from core.cli.constitution import run as run_constitution

        return run_constitution(args)
    from core.cli.audit import run as run_audit

    return run_audit(args)


def _run(args) -> int:
    from core.config import load_config
    from core.runs.worker import run_in_this_process
    from core.store import Store

    store = Store(args.store)
    if args.resume:
        run_id = args.resume
        store.get_run(run_id)
    else:
        from core.runs.pipeline import start_run

        try:
            run_id = start_run(store, load_config(args.config))
        except ValueError as exc:  # ConfigError and bad input files: nothing was recorded
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(f"run {run_id} -> store {store.path.resolve()}", file=sys.stderr)
    from core.human_labels.gate import GateFailed

    try:
        run_in_this_process(store, run_id)
    except GateFailed:  # not a crash: the judge gate's message is the run's error, printed below
        pass
    except Exception:  # recorded in the store as FAILED with its error; show the trace here too
        traceback.print_exc()
    run = store.get_run(run_id)
    print(f"run {run_id}: {run['status']}  store: {store.path.resolve()}")
    if run["error"]:
        print(f"error: {run['error']}", file=sys.stderr)
    return 0 if run["status"] == "succeeded" else 1


def _dashboard(extra: list[str]) -> int:
    """Streamlit on the packaged app, from any folder; the store is the one this folder's CLI uses. The
    command becomes the Streamlit server (exec), so stopping it stops the server: no orphan keeps the port."""
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    env.setdefault("RLAIF_AUDIT_STORE", str(DEFAULT_STORE.resolve()))
    command = [sys.executable, "-m", "streamlit", "run", str(DASHBOARD_APP), "--browser.gatherUsageStats", "false",
               *extra]
    os.execve(sys.executable, command, env)
    return 0  # not reached


def _worker(args) -> int:
    from core.runs.worker import run_in_this_process
    from core.store import Store

    run_in_this_process(Store(args.store), args.run_id, show_bars=False)
    return 0


def _judge(args) -> int:
    from tqdm import tqdm

    from core.loop.judging import judge_source, source_pairs
    from core.store import Store

    store = Store(args.store)  # as it is: only the dashboard's first start loads the sample set, into its own store
    n = len(source_pairs(store, args.source))
    if n == 0:
        known = ", ".join(store.source_names()) or "none"
        print(f"error: no pairs in {args.source} (store {store.path.resolve()}; its sources: {known}). Import "
              "pairs first: rlaif-audit import FILE --format pairs --store ...", file=sys.stderr)
        return 2
    with tqdm(total=n, desc=f"judging {args.source} with {args.judge}", file=sys.stderr) as bar:
        judge_source(store, args.source, [args.judge], progress=bar.update)
    print(f"judged {n} pairs of {args.source}; store: {store.path.resolve()}")
    return 0


def _add_calibrate(sub) -> None:
    cal = sub.add_parser("calibrate", help="fit a judge on human labels over raw judges' signals (core/judges/calibrated_model.py)")
    cal.add_argument("--source", action="append", required=True, help="'dataset:<name>' or 'run:<id>' (repeatable)")
    cal.add_argument("--judge", action="append", default=[],
                     help="a raw judge whose signals it reads: longest, shortest, random, local or a judge YAML "
                          "(repeatable); pairs it has not judged yet are judged first")
    cal.add_argument("--principles-of", metavar="NAME@VERSION", action="append", default=[],
                     help="also read each principle of this constitution version alone, as its own raw judge "
                          "(the judge of --principle-judge asked about one principle at a time; repeatable)")
    cal.add_argument("--principle-judge", default="embedded",
                     help="the judge --principles-of asks: 'embedded' or a judge YAML (default embedded)")
    cal.add_argument("--out", required=True, type=Path, help="the calibration JSON to write")
    cal.add_argument("--folds", type=int, default=5, help="k of the k-fold cross-validation (default 5)")
    cal.add_argument("--C", type=float, default=1.0, help="inverse L2 strength of the logistic regression (default 1)")
    cal.add_argument("--seed", type=int, default=0)
    cal.add_argument("--no-record", action="store_true",
                     help="do not store the out-of-fold verdicts as judge '<name>-cv' (the Agreement page's row)")
    cal.add_argument("--store", type=Path, default=DEFAULT_STORE)


def _calibrate(args) -> int:
    from tqdm import tqdm

    from core.config import ConfigError, JudgeConfig
    from core.human_labels.calibrated_cv import evaluate, record_out_of_fold
    from core.human_labels.calibrated_fit import fit_calibrated, raw_judges, read_training_set
    from core.judges.calibrated_model import CalibrationError, save_model
    from core.judges.identity import judge_identity
    from core.store import Store
    from core.views.text_report import format_table

    store = Store(args.store)
    if not args.judge and not args.principles_of:
        print("error: name at least one raw judge (--judge) or constitution version (--principles-of)", file=sys.stderr)
        return 2
    known = set(store.source_names())
    missing = [s for s in args.source if s not in known]
    if missing:
        print(f"error: no pairs in {', '.join(missing)} (store {store.path.resolve()})", file=sys.stderr)
        return 2
    try:
        specs = list(args.judge)
        for ref in args.principles_of:
            from core.human_labels.calibrated_fit import principle_judges
            from core.runs.judge_jobs import judge_spec

            specs += principle_judges(store, judge_spec(args.principle_judge), ref)
        with tqdm(desc="raw judges on the sources' pairs", unit="pair", file=sys.stderr) as bar:
            raw = raw_judges(store, args.source, specs, progress=bar.update)
        data = read_training_set(store, args.source, [j.name for j in raw])
        model = fit_calibrated(data, raw, C=args.C)
        save_model(model, args.out)
        identity = judge_identity(JudgeConfig(backend="calibrated", calibration=str(args.out)))  # as make_judge names it
        name = identity.key
        report = evaluate(data, raw, folds=args.folds, C=args.C, seed=args.seed, model=model, name=name)
        recorded = None if args.no_record else record_out_of_fold(store, report, identity=identity)
    except (CalibrationError, ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} (judge name {name}): fitted on {model.trained_on['n_pairs']} labelled pairs of "
          f"{', '.join(args.source)}; standardised weights: "
          + ", ".join(f"{k} {v:+.2f}" for k, v in model.weights().items()))
    print(format_table(report["table"]))
    print("\n".join(report["findings"]))
    if recorded:
        print(f"its out-of-fold verdicts are stored as judge '{recorded}': the Agreement page shows them as one "
              f"more row. Verdicts of '{name}' itself on these pairs would be in-sample (it was fitted on them).")
    return 0


def _add_import_export(sub) -> None:
    from core.data import FORMATS
    from core.data.exporters import EXPORT_FORMATS

    imp = sub.add_parser("import", help="store a file of labelled pairs as a dataset (docs/formats.md)")
    imp.add_argument("file", type=Path, help="JSONL, JSON, CSV/TSV, Parquet, or a folder saved by datasets")
    imp.add_argument("--format", required=True, choices=FORMATS)
    imp.add_argument("--mapping", help="for --format mapped: 'field=column,...', a JSON object, or a .json/.yaml file")
    imp.add_argument("--dataset", help="dataset name (default: the file name without its extension)")
    imp.add_argument("--annotator", default="imported", help="name for labels whose annotator the file does not give")
    imp.add_argument("--seed", type=int, default=0, help="seed of the A/B placement of chosen/rejected pairs")
    imp.add_argument("--store", type=Path, default=DEFAULT_STORE)

    exp = sub.add_parser("export", help="write a source's preference pairs (TRL) or its labels (CSV)")
    exp.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    exp.add_argument("--out", required=True, type=Path, help="file to write (a folder for hf-dataset)")
    exp.add_argument("--source", required=True, help="'dataset:<name>' or 'run:<id>'")
    exp.add_argument("--labels", choices=("judge", "human"), default="judge",
                     help="the chosen response follows the judge's verdict (default) or the human majority")
    exp.add_argument("--judge", help="which judge (default: the source's only judge)")
    exp.add_argument("--store", type=Path, default=DEFAULT_STORE)


def _import(args) -> int:
    from core.data import import_file
    from core.store import Store

    store = Store(args.store)
    try:
        done = import_file(store, args.format, args.file, dataset=args.dataset, mapping=args.mapping,
                           seed=args.seed, annotator=args.annotator)
    except (ValueError, OSError) as exc:  # PairsFormatError names file, line and field; nothing was stored
        print(f"error: {exc}\nnothing was imported", file=sys.stderr)
        return 2
    placed = f"; {done.n_placed} chosen/rejected pairs placed at A/B with seed {done.seed}" if done.n_placed else ""
    print(f"imported {done.n_pairs} pairs ({done.n_labelled} with human labels, {done.n_labels} labels{placed}) "
          f"into {done.source}; store: {store.path.resolve()}")
    return 0


def _export(args) -> int:
    from core.data.exporters import export_source
    from core.store import Store

    store = Store(args.store)
    try:
        done = export_source(store, args.source, args.format, args.out, labels=args.labels, judge=args.judge)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.format == "labels-csv":
        print(f"wrote {done.n_written} label rows of {args.source} to {done.path}")
    else:
        by = f"judge {done.judge}" if done.labels == "judge" else "the human majority"
        print(f"wrote {done.n_written} preference pairs of {args.source} to {done.path} (chosen follows {by}); "
              f"{done.n_left_out} pairs without a decided winner left out")
    return 0
