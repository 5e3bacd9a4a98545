"""``python -m core audit``: audit a judge against human labels, from a pairs file or from the store.

    python -m core audit --pairs sample_data/human/pandalm_testset_v1.jsonl --judge longest --json out.json
    python -m core audit --store .rlaif/store.sqlite --source dataset:sample --judge smollm2-135m-letters

With ``--pairs`` and no ``--judge`` the file's own ``judge_preferred`` (and ``judge_p_a``) are
audited; with a judge, it judges the file's pairs, except those whose texts ``--store`` already
holds a verdict of the same judge key for (nothing is written to the store). With ``--source``
the stored verdicts of a judge (its key, its readable name, or the name or file that defines
it) are audited as they are: nothing is judged, so a calibrated judge's cross-validated row
('<name>-cv@<digest>') is audited too. What the judge's labels cost per 1,000 (compute,
tokens, and money at ``--price-in``/``--price-out``/``--price-per-hour``) is shown beside
1,000 human labels at ``--human-label-cost`` each.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.audit.cost import RLAIF_PAPER_HUMAN_LABEL_COST, label_cost
from core.audit.frames import judgments_to_frame
from core.audit.report import audit_report, to_json_ready
from core.data.pairs_file import PairsFormatError, read_pairs_jsonl
from core.schema import to_response_pairs
from core.views.costs import format_cost
from core.views.text_report import format_report


def configure_parser(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pairs", type=Path, help="JSONL file of human-labelled pairs.")
    where.add_argument("--source", help="A pair source in the store ('dataset:<name>' or 'run:<id>'): audit the "
                                        "verdicts stored for it, judging nothing (needs --judge).")
    parser.add_argument("--store", default=None, type=Path,
                        help="Run store. With --source, where the verdicts are (default: the CLI's store); with "
                             "--pairs, verdicts it holds of the same judge on the same texts are reused.")
    parser.add_argument("--judge", default=None,
                        help="With --pairs, the judge to run: longest, shortest, random, local, a judge YAML or a "
                             "calibration JSON; without it, the file's judge_preferred/judge_p_a are audited. With "
                             "--source, the stored judge: its key, its readable name, or the name or file that "
                             "defines it.")
    parser.add_argument("--json", default=None, type=Path, help="Write the full report as JSON here.")
    parser.add_argument("--seed", default=0, type=int, help="Seed for the bootstrap resamples.")
    parser.add_argument("--n-boot", default=1000, type=int, help="Bootstrap resamples per interval.")
    parser.add_argument("--judge-family", default=None,
                        help="Model family of the judge for the self-preference section "
                             "(default: the local judge's model; needs model_a/model_b in the file).")
    parser.add_argument("--price-in", default=None, type=_non_negative, metavar="MONEY",
                        help="Money per 1,000 input tokens of the judge (default: its YAML's, else 0).")
    parser.add_argument("--price-out", default=None, type=_non_negative, metavar="MONEY",
                        help="Money per 1,000 output tokens of the judge (default: its YAML's, else 0).")
    parser.add_argument("--price-per-hour", default=0.0, type=_non_negative, metavar="MONEY",
                        help="Money per hour of the judge's compute (what the machine of a local judge costs; "
                             "default 0: its compute is then not priced, and the report says so).")
    parser.add_argument("--human-label-cost", default=None, type=_non_negative, metavar="MONEY",
                        help="Money per human label, shown beside the judge's cost "
                             f"(default: the judge YAML's, else {RLAIF_PAPER_HUMAN_LABEL_COST}, the RLAIF paper's).")


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def _prices(args: argparse.Namespace, spec: str | None) -> dict:
    """The prices of the cost section: the flags, else the judge YAML's (when the judge is one)."""
    from core.config import JudgeConfig
    from core.judges import judge_config_from

    try:
        cfg = judge_config_from(spec) if spec else JudgeConfig()
    except ValueError:  # a stored judge's key or name: no YAML to read prices from
        cfg = JudgeConfig()
    return {"price_per_1k_input_tokens": _given(args.price_in, cfg.price_per_1k_input_tokens),
            "price_per_1k_output_tokens": _given(args.price_out, cfg.price_per_1k_output_tokens),
            "human_label_cost": _given(args.human_label_cost, cfg.human_label_cost),
            "price_per_compute_hour": args.price_per_hour}


def _given(flag: float | None, default: float) -> float:
    return default if flag is None else flag


def _judge_family(spec: str | None, given: str | None) -> str | None:
    if given or spec is None:
        return given
    from core.judges import judge_config_from

    cfg = judge_config_from(spec)
    return cfg.model if cfg.backend == "local" else None


def _judge_file_pairs(spec: str, pairs, store_path: Path | None):
    """The judgments of ``spec`` on the file's pairs: those ``store_path`` holds for the same texts under the
    same judge key are reused, the rest judged now (the judge is built only if some are left)."""
    from tqdm import tqdm

    from core.judges import judge_config_from, judge_pairs, make_judge
    from core.judges.identity import judge_identity
    from core.judges.stored import StoredReadings
    from core.store import Store

    cfg = judge_config_from(spec)
    key, store = judge_identity(cfg).key, None if store_path is None else Store(store_path)
    known = StoredReadings(store, key) if store is not None else None
    rows = pairs.to_dict("records")
    found = [None if known is None else known.find(r["pair_id"], r["prompt"], r["response_a"], r["response_b"])
             for r in rows]
    todo = to_response_pairs(pairs[[j is None for j in found]])
    judged = []
    if todo:
        judge = make_judge(cfg, store=store)
        try:
            with tqdm(total=len(todo), desc=f"judging ({judge.name})", unit="pair", file=sys.stderr) as bar:
                judged = judge_pairs(judge, todo, bar.update)
        finally:
            judge.close()
    if store is not None:
        print(f"{len(rows) - len(todo)} of {len(rows)} pairs: stored verdicts of {key} reused from {store.path}; "
              f"{len(todo)} judged now", file=sys.stderr)
    return judgments_to_frame([j for j in found if j is not None] + judged), key


def _audit_file(args: argparse.Namespace) -> dict:
    """The report of the file's pairs: the file's own verdicts, or a judge's (reused or judged now)."""
    pairs = read_pairs_jsonl(args.pairs)
    if args.judge is None and "verdict" not in pairs.columns:
        raise ValueError(f"{args.pairs} has no judge_preferred; name a judge with --judge")
    family = _judge_family(args.judge, args.judge_family)
    judgments, key = (None, None) if args.judge is None else _judge_file_pairs(args.judge, pairs, args.store)
    report = audit_report(pairs.drop(columns=["verdict", "p_a"], errors="ignore") if judgments is not None
                          else pairs, judgments, seed=args.seed, n_boot=args.n_boot, judge_family=family)
    report["cost"] = None if judgments is None else label_cost(judgments, **_prices(args, args.judge))
    report["pairs_file"] = str(args.pairs)
    report["judge"] = key or report["judge"] or "file"
    report["notes"] = [] if args.judge is None else _fitted_note_for_file(args.judge, args.pairs)
    return report


def _fitted_note_for_file(spec: str, path: Path) -> list[str]:
    """For a calibrated judge: what it was fitted on, beside the file it is audited on (a file imported as
    one of its training datasets counts as that dataset)."""
    from core.data.importers import dataset_name
    from core.judges import judge_config_from
    from core.judges.identity import judge_identity
    from core.views.findings import fitted_on_sentence

    identity = judge_identity(judge_config_from(spec))
    same = f"dataset:{dataset_name(path)}"
    note = fitted_on_sentence(identity.key, identity.fitted_on, same if same in identity.fitted_on else str(path))
    return [note] if note else []


def stored_judge_key(judges: list[str], wanted: str, source: str) -> str:
    """The key among ``judges`` (a source's) that ``wanted`` names: the key itself, a readable name that
    only one key has, or a built-in name or judge file whose identity is one of them."""
    from core.judges import judge_config_from
    from core.judges.identity import judge_identity, readable

    if wanted in judges:
        return wanted
    named = [k for k in judges if readable(k) == wanted]
    if len(named) > 1:
        raise ValueError(f"{wanted!r} names {len(named)} judges of {source}: {', '.join(named)}; give one key")
    if named:
        return named[0]
    try:
        key = judge_identity(judge_config_from(wanted)).key
    except ValueError:
        key = None
    if key in judges:
        return key
    raise ValueError(f"no verdicts of judge {wanted!r} on {source}; its judges: {', '.join(judges) or 'none'}")


def _audit_stored(args: argparse.Namespace) -> dict:
    """The report of a judge's stored verdicts on a store source: nothing is judged."""
    from core.human_labels.with_verdicts import source_audit
    from core.store import Store, default_store_path
    from core.views.costs import source_costs
    from core.views.findings import fitted_on_sentence, stored_fitted_on

    path = args.store or default_store_path()
    if not Path(path).is_file():
        raise ValueError(f"no store at {path}")
    if args.judge is None:
        raise ValueError("--source audits stored verdicts: name the judge with --judge")
    store = Store(path)
    if args.source not in store.source_names():
        raise ValueError(f"no pairs in {args.source} (store {store.path.resolve()}; its sources: "
                         f"{', '.join(store.source_names()) or 'none'})")
    key = stored_judge_key(store.source_judges(args.source), args.judge, args.source)
    report = source_audit(store, args.source, judges=[key], n_boot=args.n_boot, seed=args.seed).get(key)
    if report is None:
        raise ValueError(f"no pair of {args.source} has both a human label and a verdict of {key}")
    report["cost"] = source_costs(store, args.source, **_prices(args, args.judge)).get(key)
    report.update(judge=key, source=args.source, store=str(store.path))
    note = fitted_on_sentence(key, stored_fitted_on(store, key), args.source)
    report["notes"] = [note] if note else []
    return report


def run(args: argparse.Namespace) -> int:
    """Audit the file or the stored verdicts, print the summary, write the JSON."""
    try:
        report = _audit_file(args) if args.pairs is not None else _audit_stored(args)
    except (PairsFormatError, OSError, ValueError) as exc:  # ConfigError is a ValueError too
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_report(report))
    print(format_cost(report["cost"]) if report["cost"] else
          "  cost                not recorded: the file's own verdicts carry no tokens or times")
    for note in report["notes"]:
        print(note)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(to_json_ready(report), indent=2) + "\n", encoding="utf-8")
        print(f"report written to {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.cli.audit", description=__doc__.splitlines()[0])
    configure_parser(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
