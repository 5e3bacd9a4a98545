"""``python -m core audit``: audit a judge against the human labels of a pairs file.

    python -m core audit --pairs ../shared/data/pandalm_testset_v1.jsonl --judge longest --json out.json

Without ``--judge`` the file's own ``judge_preferred`` (and ``judge_p_a``) are audited.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.audit.frames import judgments_to_frame
from core.audit.report import audit_report, format_report, to_json_ready
from core.pairs import PairsFormatError, read_pairs_jsonl, to_response_pairs


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pairs", required=True, type=Path, help="JSONL file of human-labelled pairs.")
    parser.add_argument("--judge", default=None,
                        help="Judge to run: longest, shortest, random, local, or a judge YAML file. "
                             "Without it, the file's judge_preferred/judge_p_a are audited.")
    parser.add_argument("--json", default=None, type=Path, help="Write the full report as JSON here.")
    parser.add_argument("--seed", default=0, type=int, help="Seed for the bootstrap resamples.")
    parser.add_argument("--n-boot", default=1000, type=int, help="Bootstrap resamples per interval.")
    parser.add_argument("--judge-family", default=None,
                        help="Model family of the judge for the self-preference section "
                             "(default: the local judge's model; needs model_a/model_b in the file).")


def _judge_family(spec: str | None, given: str | None) -> str | None:
    if given or spec is None:
        return given
    from core.judges import judge_config_from

    cfg = judge_config_from(spec)
    return cfg.model if cfg.backend == "local" else None


def _run_judge(spec: str, pairs):
    from tqdm import tqdm

    from core.judges import judge_pairs, make_judge

    judge = make_judge(spec)
    try:
        with tqdm(total=len(pairs), desc=f"judging ({judge.name})", unit="pair", file=sys.stderr) as bar:
            judgments = judge_pairs(judge, to_response_pairs(pairs), bar.update)
    finally:
        judge.close()
    return judgments_to_frame(judgments)


def run(args: argparse.Namespace) -> int:
    """Read the pairs, run the judge if one is named, print the summary, write the JSON."""
    try:
        pairs = read_pairs_jsonl(args.pairs)
    except (PairsFormatError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.judge is None and "verdict" not in pairs.columns:
        print(f"error: {args.pairs} has no judge_preferred; name a judge with --judge", file=sys.stderr)
        return 2
    try:
        family = _judge_family(args.judge, args.judge_family)
        judgments = None if args.judge is None else _run_judge(args.judge, pairs)
        report = audit_report(pairs.drop(columns=["verdict", "p_a"], errors="ignore") if judgments is not None
                              else pairs, judgments, seed=args.seed, n_boot=args.n_boot, judge_family=family)
    except ValueError as exc:  # ConfigError is a ValueError too
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report["pairs_file"] = str(args.pairs)
    report["judge"] = report["judge"] or args.judge or "file"
    print(format_report(report))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(to_json_ready(report), indent=2) + "\n", encoding="utf-8")
        print(f"report written to {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.audit.cli", description=__doc__.splitlines()[0])
    configure_parser(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
