import argparse
import json

import pytest

from core.audit.cli import configure_parser, run

REQUIRED_KEYS = {"n_pairs", "agreement", "agreement_ci95", "agreement_no_ties", "cohen_kappa", "judge_p_longer",
                 "human_p_longer", "position_consistency", "ece"}


def _args(*argv):
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    return parser.parse_args(list(argv))


def _pairs_file(tmp_path, with_judge=False):
    rows = []
    for i in range(40):
        a, b = "x" * (5 + i % 7), "y" * (9 + i % 3)
        row = {"id": f"q{i}", "prompt": f"prompt {i}", "response_a": a, "response_b": b,
               "human_preferred": ["a", "b", "tie", "b"][i % 4]}
        if with_judge:
            row["judge_preferred"] = ["a", "b", "b", "invalid"][i % 4]
        rows.append(json.dumps(row))
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("judge", ["longest", "shortest", "random"])
def test_runs_a_named_judge_and_writes_the_json_report(tmp_path, capsys, judge):
    out = tmp_path / "report.json"
    assert run(_args("--pairs", str(_pairs_file(tmp_path)), "--judge", judge, "--json", str(out),
                     "--n-boot", "200")) == 0
    report = json.loads(out.read_text())
    assert REQUIRED_KEYS <= set(report)
    assert report["n_pairs"] == 40 and report["judge"] == judge
    low, high = report["agreement_ci95"]
    assert low <= report["agreement"] <= high
    assert report["position_consistency"] is not None  # both orders were judged
    captured = capsys.readouterr()
    assert "agreement" in captured.out and "judging" in captured.err  # progress bar on stderr
    if judge == "longest":
        assert report["judge_p_longer"] == 1.0 and report["position_consistency"] == 1.0
    if judge == "shortest":
        assert report["judge_p_longer"] == 0.0


def test_audits_the_files_own_verdicts_without_a_judge(tmp_path, capsys):
    out = tmp_path / "report.json"
    assert run(_args("--pairs", str(_pairs_file(tmp_path, with_judge=True)), "--json", str(out))) == 0
    report = json.loads(out.read_text())
    assert report["position_consistency"] is None and report["ece"] is None
    assert report["agreement_detail"]["n_invalid_judge"] == 10
    # valid pairs: i % 4 in (0, 1, 2) -> agree on 0 (a/a) and 1 (b/b), not on 2 (tie/b)
    assert report["agreement"] == pytest.approx(2 / 3)
    assert report["agreement_no_ties"] == pytest.approx(1.0)


def test_bad_input_exits_2_with_a_message(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1"}\n', encoding="utf-8")
    assert run(_args("--pairs", str(bad), "--judge", "longest")) == 2
    assert "line 1" in capsys.readouterr().err
    assert run(_args("--pairs", str(_pairs_file(tmp_path)))) == 2
    assert "--judge" in capsys.readouterr().err
    assert run(_args("--pairs", str(_pairs_file(tmp_path)), "--judge", "no-such-judge")) == 2
    assert "no-such-judge" in capsys.readouterr().err
