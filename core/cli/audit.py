"""``python -m core audit``: audit a judge against the human labels of a pairs file.

    python -m core audit --pairs sample_data/human/pandalm_testset_v1.jsonl --judge longest --json out.json

Without ``--judge`` the file's own ``judge_preferred`` (and ``judge_p_a``) are audited. With
one, what its labels cost per 1,000 (compute, tokens, and money at ``--price-in``/``--price-out``)
is shown beside 1,000 human labels at ``--human-label-cost`` each.
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
    parser.add_argument("--price-in", default=None, type=_non_negative, metavar="MONEY",
                        help="Money per 1,000 input tokens of the judge (default: its YAML's, else 0).")
    parser.add_argument("--price-out", default=None, type=_non_negative, metavar="MONEY",
                        help="Money per 1,000 output tokens of the judge (default: its YAML's, else 0).")
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


def _cost(args: argparse.Namespace, judgments) -> dict | None:
    """The judge's cost per 1,000 labels; None for the file's own verdicts, which record no cost."""
    if judgments is None:
        return None
    from core.judges import judge_config_from

    cfg = judge_config_from(args.judge)
    return label_cost(judgments, price_per_1k_input_tokens=_given(args.price_in, cfg.price_per_1k_input_tokens),
                      price_per_1k_output_tokens=_given(args.price_out, cfg.price_per_1k_output_tokens),
                      human_label_cost=_given(args.human_label_cost, cfg.human_label_cost))


def _given(flag: float | None, default: float) -> float:
    return default if flag is None else flag


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
        report["cost"] = _cost(args, judgments)
    except ValueError as exc:  # ConfigError is a ValueError too
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report["pairs_file"] = str(args.pairs)
    report["judge"] = report["judge"] or args.judge or "file"
    print(format_report(report))
    print(format_cost(report["cost"]) if report["cost"] else
          "  cost                not recorded: the file's own verdicts carry no tokens or times")
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
