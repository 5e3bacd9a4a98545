import argparse
import json
import re
from pathlib import Path

import numpy as np
import pytest

from core.cli import main
from core.cli.audit import configure_parser, run
from core.config import JudgeConfig
from core.judges.identity import judge_identity
from core.schema import Judgment, Preference
from core.store import Store

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


# -- the command line reads what the store already knows --------------------------------------------------

UNBUILDABLE = {"backend": "local", "model": "/nowhere/no-such-model", "method": "letters"}  # fails if ever built


def unbuildable_key() -> str:
    return judge_identity(JudgeConfig(**UNBUILDABLE)).key


def judge_yaml(tmp_path) -> str:
    path = tmp_path / "gone.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in UNBUILDABLE.items()))
    return str(path)


def imported_store(tmp_path, pairs_path) -> Store:
    """The pairs file imported into a real store as dataset 'mine' (ids 'mine/q0'...), labels and all."""
    from core.data import import_file

    store = Store(tmp_path / "store.sqlite")
    import_file(store, "pairs", pairs_path, dataset="mine")
    return store


def store_verdicts(store, judge: str, verdict_of, *, only=None) -> int:
    """Judgments of ``judge`` on dataset 'mine', as if it had read them; a verdict no real judge gave proves reuse."""
    frame = store.source_pairs_frame("dataset:mine")
    rows = [r for r in frame.to_dict("records") if only is None or only(r)]
    store.add_judgments([Judgment(r["pair_id"], judge, Preference(verdict_of(r)), 0.7, 0.7, 0.7, True,
                                  tokens_in=100, tokens_out=1, seconds=2.0) for r in rows])
    return len(rows)


def n_judgments(store) -> int:
    return len(store.judgments_frame())


def test_audit_source_audits_stored_verdicts_without_judging(tmp_path, capsys):
    from core.human_labels.with_verdicts import source_audit

    store = imported_store(tmp_path, _pairs_file(tmp_path))
    key = unbuildable_key()
    store_verdicts(store, key, lambda r: "A")
    before = n_judgments(store)
    out = tmp_path / "report.json"
    for name in (key, "no-such-model-letters", judge_yaml(tmp_path)):  # its key, its readable name, its file
        assert main(["audit", "--store", str(store.path), "--source", "dataset:mine", "--judge", name,
                     "--json", str(out), "--n-boot", "100"]) == 0, capsys.readouterr().err
        report = json.loads(out.read_text())
        assert report["judge"] == key and report["n_pairs"] == 40
        assert report["agreement"] == pytest.approx(source_audit(store, "dataset:mine", n_boot=100)[key]["agreement"])
        assert report["cost"]["n_labels"] == 40 and report["cost"]["seconds_per_1k_labels"] == pytest.approx(2000)
    assert n_judgments(store) == before  # nothing was judged, nothing written
    printed = capsys.readouterr().out
    assert f"judge {key} on 40 pairs" in printed and "agreement (no ties)" in printed


def test_audit_source_says_which_judges_a_source_has_and_refuses_others(tmp_path, capsys):
    store = imported_store(tmp_path, _pairs_file(tmp_path))
    store_verdicts(store, "longest", lambda r: "A")
    assert main(["audit", "--store", str(store.path), "--source", "dataset:mine", "--judge", "shortest"]) == 2
    assert "no verdicts of judge 'shortest' on dataset:mine; its judges: longest" in capsys.readouterr().err
    assert main(["audit", "--store", str(store.path), "--source", "dataset:none", "--judge", "longest"]) == 2
    assert "no pairs in dataset:none" in capsys.readouterr().err
    assert main(["audit", "--store", str(store.path), "--source", "dataset:mine"]) == 2
    assert "--judge" in capsys.readouterr().err
    assert main(["audit", "--store", str(tmp_path / "absent.sqlite"), "--source", "dataset:mine",
                 "--judge", "longest"]) == 2
    assert not (tmp_path / "absent.sqlite").exists()  # a mistyped store is not created


def test_audit_pairs_reuses_stored_verdicts_of_the_same_judge_on_the_same_texts(tmp_path, capsys):
    """30 of 40 pairs hold a stored 'longest' verdict that longest would never give (always the shorter): the
    audit reads those, and judges only the 10 others."""
    pairs = _pairs_file(tmp_path)
    store = imported_store(tmp_path, pairs)
    shorter = (lambda r: "A" if len(r["response_a"]) < len(r["response_b"]) else "B")
    reused = store_verdicts(store, "longest", shorter, only=lambda r: int(r["pair_id"].split("q")[-1]) < 30)
    before = n_judgments(store)
    out = tmp_path / "report.json"
    assert main(["audit", "--pairs", str(pairs), "--judge", "longest", "--store", str(store.path), "--json",
                 str(out), "--n-boot", "50"]) == 0
    assert f"{reused} of 40 pairs: stored verdicts of longest reused" in capsys.readouterr().err
    assert n_judgments(store) == before  # the file's pairs are not added to the store
    report = json.loads(out.read_text())
    assert report["judge_p_longer"] == pytest.approx(10 / 40)  # 30 stored 'shorter' verdicts, 10 judged now
    assert main(["audit", "--pairs", str(pairs), "--judge", "longest", "--json", str(out), "--n-boot", "50"]) == 0
    assert json.loads(out.read_text())["judge_p_longer"] == 1.0  # no store given: every pair judged


def test_audit_pairs_with_every_verdict_stored_never_builds_the_judge(tmp_path, capsys):
    pairs = _pairs_file(tmp_path)
    store = imported_store(tmp_path, pairs)
    store_verdicts(store, unbuildable_key(), lambda r: "B")
    assert main(["audit", "--pairs", str(pairs), "--judge", judge_yaml(tmp_path), "--store", str(store.path),
                 "--n-boot", "50"]) == 0, capsys.readouterr().err
    assert "40 of 40 pairs" in capsys.readouterr().err
    assert main(["audit", "--pairs", str(pairs), "--judge", judge_yaml(tmp_path), "--n-boot", "50"]) == 2
    assert "no-such-model" in capsys.readouterr().err  # without the store it must be built, and cannot be


def calibrated_over_stored(tmp_path, store) -> Path:
    """A calibration over the unbuildable raw judge's stored readings and 'longest' on dataset 'mine'."""
    from core.human_labels.calibrated_fit import fit_calibrated, read_training_set
    from core.judges.calibrated_model import RawJudge, save_model
    from core.loop.judging import judge_source

    key = unbuildable_key()
    store_verdicts(store, key, lambda r: "A" if len(r["prompt"]) % 2 else "B")
    judge_source(store, "dataset:mine", ["longest"])
    data = read_training_set(store, ["dataset:mine"], [key, "longest"])
    raw = [RawJudge(key, UNBUILDABLE), RawJudge("longest", {"backend": "longest"})]
    return save_model(fit_calibrated(data, raw), tmp_path / "cal.json")


def test_a_calibrated_judge_reads_its_raw_judges_readings_from_the_store(tmp_path, capsys):
    from core.judges.calibrated_model import load_model, signal_frame

    pairs = _pairs_file(tmp_path)
    store = imported_store(tmp_path, pairs)
    cal = calibrated_over_stored(tmp_path, store)
    before = n_judgments(store)
    assert main(["audit", "--pairs", str(pairs), "--judge", str(cal), "--store", str(store.path),
                 "--n-boot", "50"]) == 0, capsys.readouterr().err
    assert n_judgments(store) == before
    printed = capsys.readouterr()
    assert "0 of 40 pairs: stored verdicts" in printed.err  # the calibrated judge itself had none...
    assert "fitted on people's labels of dataset:mine" in printed.out  # ...and the file is its training set
    # `judge` stores its verdicts, computed from the raw readings alone (the raw judge is never built)
    assert main(["judge", "--store", str(store.path), "--source", "dataset:mine", "--judge", str(cal)]) == 0
    key = judge_identity(JudgeConfig(backend="calibrated", calibration=str(cal))).key
    stored = store.source_judgments("dataset:mine", key).set_index("pair_id")
    frame = store.source_pairs_frame("dataset:mine").set_index("pair_id").loc[stored.index]
    raw = {k: store.source_judgments("dataset:mine", k).set_index("pair_id").loc[stored.index]
           for k in (unbuildable_key(), "longest")}
    signals = signal_frame({k: {c: v[c].to_numpy(float) for c in ("p_a", "p_a_ab", "p_a_ba")} for k, v in raw.items()},
                           frame["response_a"].str.len(), frame["response_b"].str.len())
    assert np.allclose(stored["p_a"].to_numpy(float), load_model(cal).predict_p_a(signals), atol=1e-12)
    assert len(stored) == 40 and n_judgments(store) == before + 40


def test_audit_source_audits_a_calibrated_judges_cross_validated_row(tmp_path, capsys):
    store = imported_store(tmp_path, _pairs_file(tmp_path))
    out = tmp_path / "cv.json"
    assert main(["calibrate", "--source", "dataset:mine", "--judge", "longest", "--judge", "random",
                 "--out", str(tmp_path / "cal.json"), "--store", str(store.path), "--folds", "3"]) == 0
    capsys.readouterr()
    cv = next(j for j in store.source_judges("dataset:mine") if "-cv@" in j)
    before = n_judgments(store)
    assert main(["audit", "--store", str(store.path), "--source", "dataset:mine", "--judge", cv, "--json", str(out),
                 "--n-boot", "50"]) == 0, capsys.readouterr().err
    assert json.loads(out.read_text())["judge"] == cv and n_judgments(store) == before
    assert "was fitted on" not in capsys.readouterr().out  # out of fold: no in-sample warning for its own pairs


def test_judge_does_not_load_the_sample_set_into_a_users_store(tmp_path, capsys):
    pairs = _pairs_file(tmp_path)
    empty = Store(tmp_path / "empty.sqlite")
    assert main(["judge", "--store", str(empty.path), "--judge", "longest"]) == 2  # default source: dataset:sample
    assert "no pairs in dataset:sample" in capsys.readouterr().err
    assert empty.source_names() == [] and n_judgments(empty) == 0
    store = imported_store(tmp_path, pairs)
    assert main(["judge", "--store", str(store.path), "--source", "dataset:mine", "--judge", "longest"]) == 0
    assert store.source_names() == ["dataset:mine"] and set(store.judgments_frame()["judge"]) == {"longest"}


def test_audit_text_gives_the_no_ties_ci(tmp_path, capsys):
    assert run(_args("--pairs", str(_pairs_file(tmp_path)), "--judge", "longest", "--n-boot", "50")) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "agreement (no ties)" in x)
    assert re.search(r"agreement \(no ties\) \d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\] over \d+ pairs", line), line


def test_the_calibrate_table_prints_long_judge_names_whole():
    import pandas as pd

    from core.views.text_report import format_table

    name = "calibrated-pandalm-letters-and-pointwise-cv@0123abcd"  # 51 characters
    row = {"judge": name, "pairs": 10, "agreement": 0.5, "ci95_low": 0.2, "ci95_high": 0.8, "p_longer": 0.5,
           "p_longer_ci95": [0.2, 0.8], "human_p_longer": 0.5, "human_p_longer_ci95": [0.2, 0.8]}
    lines = format_table(pd.DataFrame([row, {**row, "judge": "longest"}])).splitlines()
    assert lines[1].startswith(name + " ") and len(lines[1]) == len(lines[2])  # whole, and the rows aligned
    assert lines[0].startswith("judge".ljust(len(name)) + " pairs") and lines[3].startswith("humans".ljust(len(name)))
