import argparse
import json

import pytest

from core.cli.audit import configure_parser, run

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


def test_the_report_prices_the_judges_labels_beside_human_labels(tmp_path, capsys):
    out = tmp_path / "report.json"
    assert run(_args("--pairs", str(_pairs_file(tmp_path)), "--judge", "longest", "--json", str(out), "--n-boot",
                     "20", "--price-in", "0.5", "--price-out", "1.5", "--human-label-cost", "1.0")) == 0
    cost = json.loads(out.read_text())["cost"]
    assert cost["n_labels"] == 40 and cost["price_per_1k_input_tokens"] == 0.5
    assert cost["price_per_1k_output_tokens"] == 1.5 and cost["human_money_per_1k_labels"] == 1000.0
    assert cost["money_per_1k_labels"] == 0.0  # a baseline reads no tokens
    assert "$1000.00 per 1,000" in capsys.readouterr().out
    assert run(_args("--pairs", str(_pairs_file(tmp_path)), "--judge", "longest", "--json", str(out),
                     "--n-boot", "20")) == 0
    assert json.loads(out.read_text())["cost"]["human_money_per_1k_labels"] == pytest.approx(670.0)  # RLAIF paper


def test_the_files_own_verdicts_have_no_recorded_cost(tmp_path, capsys):
    out = tmp_path / "report.json"
    assert run(_args("--pairs", str(_pairs_file(tmp_path, with_judge=True)), "--json", str(out))) == 0
    assert json.loads(out.read_text())["cost"] is None
    assert "cost                not recorded" in capsys.readouterr().out


@pytest.mark.parametrize("flag", ["--price-in", "--price-out", "--human-label-cost"])
def test_a_negative_price_is_refused_by_name(tmp_path, capsys, flag):
    with pytest.raises(SystemExit):
        _args("--pairs", "x.jsonl", flag, "-1")
    assert flag in capsys.readouterr().err
