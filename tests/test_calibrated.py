"""The calibrated judge (core/judges/calibrated_model.py): fitted on human labels over stored judge signals, saved
as JSON, cross-validated, and used as a judge through label_pairs. Real SQLite stores, tiny judges."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from core.cli import main
from core.config import JudgeConfig
from core.human_labels.calibrated_cv import evaluate, learning_curve
from core.human_labels.calibrated_fit import fit_calibrated, raw_judges, read_training_set
from core.judges import make_judge
from core.judges.calibrated_model import CalibrationError, RawJudge, load_model, model_to_dict, save_model
from core.loop.judging import label_pairs, source_pairs
from core.schema import Judgment, Preference, ResponsePair
from tests.conftest import ROOT

SOURCE = "dataset:synthetic"
LETTERS, POINT = "synth-letters", "synth-pointwise"
RAW = [RawJudge(LETTERS, {"backend": "local", "method": "letters"}),
       RawJudge(POINT, {"backend": "local", "method": "pointwise"})]


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def synthetic_store(store, *, n=300, humans="signal", seed=0):
    """n pairs with random lengths; two synthetic judges whose readings are stored as judgments.
    The letters judge has a position bias (+1.5 log-odds toward the first slot) over a hidden
    quality signal; humans follow that signal (``humans='signal'``) or only length (``'length'``: the
    longer answer; ``'short'``: the shorter)."""
    rng = np.random.default_rng(seed)
    quality = rng.normal(size=n)
    len_a, len_b = rng.integers(20, 400, size=n), rng.integers(20, 400, size=n)
    pairs, labels, judgments = [], [], []
    for i in range(n):
        pid = f"synthetic/{i}"
        pairs.append(ResponsePair(pid, f"question {i}", "a" * int(len_a[i]), "b" * int(len_b[i])))
        if humans == "signal":
            wins_a = quality[i] + 0.5 * rng.normal() > 0
        else:  # 'length': 90% the longer answer; 'short': 90% the shorter
            longer_wins = rng.random() < 0.9 if humans == "length" else rng.random() >= 0.9
            wins_a = len_a[i] > len_b[i] if longer_wins else len_a[i] < len_b[i]
        votes = ["A" if wins_a else "B"] + (["TIE"] if i % 10 == 0 else [])  # some pairs: a split vote, a human tie
        labels += [(pid, f"person-{k}", v) for k, v in enumerate(votes)]
        ab, ba = sigmoid(1.5 + quality[i]), sigmoid(-1.5 + quality[i])  # A first: lean A; B first: lean B
        judgments.append(Judgment(pid, LETTERS, Preference.A if ab + ba > 1 else Preference.B, (ab + ba) / 2,
                                  float(ab), float(ba), bool((ab > .5) == (ba > .5))))
        point = float(sigmoid(rng.normal()))  # a second judge that knows nothing
        judgments.append(Judgment(pid, POINT, Preference.A if point > .5 else Preference.B, point, point, point, True))
    store.import_dataset("synthetic", pairs, labels, judgments, [])
    return store


def test_fitted_json_round_trips_names_its_training_labels_and_predicts_the_same(store, tmp_path):
    data = read_training_set(synthetic_store(store), [SOURCE], [LETTERS, POINT])
    model = fit_calibrated(data, RAW, C=0.5)
    path = save_model(model, tmp_path / "cal.json")
    text = path.read_text(encoding="utf-8")
    saved = json.loads(text)  # plain JSON, nothing else
    assert saved["features"] == [f"{LETTERS}:p_a_ab", f"{LETTERS}:p_a_ba", f"{POINT}:p_a", "log_length_ratio"]
    assert saved["intercept"] == 0.0 and saved["C"] == 0.5 and saved["trained_on"]["sources"] == [SOURCE]
    # every 10th pair is a human tie (split vote): left out of training, and named as such
    assert saved["trained_on"]["n_pairs"] == 270 and saved["trained_on"]["n_ties_left_out"] == 30
    first = saved["trained_on"]["pairs"][0]
    assert first["pair_id"] == "synthetic/1" and first["annotators"] == ["person-0"] and first["human"] in "AB"
    loaded = load_model(path)
    assert model_to_dict(loaded) == model_to_dict(model)
    assert np.allclose(loaded.predict_p_a(data.signals), model.predict_p_a(data.signals), atol=0, rtol=0)


def test_swapping_a_and_b_gives_one_minus_the_probability(store):
    data = read_training_set(synthetic_store(store), [SOURCE], [LETTERS, POINT])
    model = fit_calibrated(data, RAW)
    s = data.signals
    swapped = s.assign(len_a=s["len_b"], len_b=s["len_a"], **{
        f"{LETTERS}:p_a_ab": 1 - s[f"{LETTERS}:p_a_ba"], f"{LETTERS}:p_a_ba": 1 - s[f"{LETTERS}:p_a_ab"],
        f"{POINT}:p_a": 1 - s[f"{POINT}:p_a"]})
    assert np.allclose(model.predict_p_a(swapped), 1 - model.predict_p_a(s), atol=1e-9)


def test_when_people_follow_a_judge_signal_it_beats_chance_and_length_in_cross_validation(store):
    data = read_training_set(synthetic_store(store, humans="signal"), [SOURCE], [LETTERS, POINT])
    model = fit_calibrated(data, RAW)
    report = evaluate(data, RAW, folds=5, model=model)
    table = report["table"].set_index("judge")
    assert table.loc["calibrated", "ci95_low"] > 0.75  # humans follow the signal with noise 0.5: ~0.85
    # the raw letters judge, read as its average, is weaker than its calibration (position bias costs it)
    assert report["versus"]["longest"]["beyond_noise"] and report["versus"]["longest"]["difference"] > 0.2
    assert report["same_as_longest"] < 0.7 and model.length_weight_share() < 0.2
    text = " ".join(report["findings"])
    assert "It learned more than length: it beats both length rules beyond noise ('longest' by +" in text
    assert "beats 'longest'" in text and "beats 'shortest'" in text and "chance" not in text
    assert "people 45%: no different from people within the margin of error" in report["findings"][-1]


def test_when_nothing_predicts_people_it_says_it_is_at_chance(store):
    synthetic_store(store, n=200, humans="signal")
    data = read_training_set(store, [SOURCE], [POINT])  # the judge that knows nothing; lengths are random too
    report = evaluate(data, RAW[1:], folds=5, model=fit_calibrated(data, RAW[1:]))
    assert report["table"].set_index("judge").loc["calibrated", "ci95_low"] <= 0.5
    assert "not above chance (50%) beyond noise" in report["findings"][0]
    assert "no evidence, at this n, that the signals it reads carry anything it could use" in report["findings"][0]
    assert "carry nothing" not in " ".join(report["findings"])  # a non-significant result shows no absence


def test_when_people_follow_only_length_it_says_it_learned_length(store):
    data = read_training_set(synthetic_store(store, humans="length"), [SOURCE], [LETTERS, POINT])
    report = evaluate(data, RAW, folds=5, model=fit_calibrated(data, RAW))
    assert report["same_as_longest"] > 0.9
    text = " ".join(report["findings"])
    row = report["table"].set_index("judge").loc["calibrated"]
    # here it even loses a little to the rule it learned (paired CI below 0)
    assert re.search(r"It (does no better than|is worse than) the 'longest' rule", text)
    assert f": it picks the longer answer on {row['p_longer']:.0%} of pairs, people on " in text
    assert "learned more than length" not in text and "did not merely" not in text
    assert "beats 'longest'" not in text  # it is no better than the rule it learned
    assert row["p_longer"] > 0.9 and row["human_p_longer"] == pytest.approx(0.9, abs=0.06)


def test_when_people_prefer_shorter_answers_it_says_it_does_no_better_than_shortest(store):
    """The other length rule: comparing with `longest` only, a judge that learned 'pick the shorter'
    beats `longest` by far and would read as having learned more than length."""
    data = read_training_set(synthetic_store(store, humans="short"), [SOURCE], [LETTERS, POINT])
    report = evaluate(data, RAW, folds=5, model=fit_calibrated(data, RAW))
    assert report["versus"]["longest"]["beyond_noise"] and report["versus"]["longest"]["difference"] > 0.5
    sentence = next(s for s in report["findings"] if "length rule" in s or "'shortest' rule" in s)
    row = report["table"].set_index("judge").loc["calibrated"]
    assert sentence.startswith("It does no better than the 'shortest' rule (always picking the shorter answer): ")
    assert "not different beyond noise" in sentence and "'longest' rule" not in sentence
    assert sentence.endswith(f"it picks the longer answer on {row['p_longer']:.0%} of pairs, people on "
                             f"{row['human_p_longer']:.0%}.") and row["p_longer"] < 0.1
    assert "learned more than length" not in " ".join(report["findings"])


def test_learning_curve_grows_with_labels_and_caps_at_what_a_fold_can_train_on(store):
    data = read_training_set(synthetic_store(store, n=120), [SOURCE], [LETTERS, POINT])
    curve = learning_curve(data, RAW, sizes=(25, 50, 400), folds=5, repeats=2)
    assert curve["requested"].tolist() == [25, 50, 400]
    assert curve["capped"].tolist() == [False, False, True] and curve["train_labels"].iloc[-1] < 108
    assert (curve["agreement"] > 0.7).all() and (curve["ci95_low"] <= curve["agreement"]).all()


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(coefficients=d["coefficients"][:-1]), "'coefficients' must be a list of 4 finite numbers"),
    (lambda d: d.update(scales=[1, 1, 0, 1]), "'scales' must be positive"),
    (lambda d: d.update(features=[*d["features"][:-1], "someone-else:p_a"]), "'someone-else:p_a' is neither"),
    (lambda d: d.pop("judges"), "field 'judges' must be a non-empty list"),
    (lambda d: d.update(format="pickle"), "not a calibrated judge file"),
])
def test_a_calibration_file_with_bad_content_is_refused_with_the_field(store, tmp_path, change, message):
    data = read_training_set(synthetic_store(store, n=60), [SOURCE], [LETTERS, POINT])
    path = save_model(fit_calibrated(data, RAW), tmp_path / "cal.json")
    content = json.loads(path.read_text())
    change(content)
    path.write_text(json.dumps(content))
    with pytest.raises(CalibrationError, match="cal.json: .*" + message.replace("(", r"\(").replace("[", r"\[")):
        load_model(path)
    with pytest.raises(ValueError, match="cal.json"):
        make_judge(JudgeConfig(backend="calibrated", calibration=str(path)))
    path.write_text('{"format": ')
    with pytest.raises(CalibrationError, match="cal.json: not JSON"):
        load_model(path)


def test_backend_calibrated_needs_its_file_and_a_run_refuses_a_bad_one(store, tmp_path):
    from core.config import load_config
    from core.runs.pipeline import start_run

    with pytest.raises(ValueError, match="'judge.calibration' is required for backend 'calibrated'"):
        JudgeConfig(backend="calibrated")
    (tmp_path / "cal.json").write_text('{"format": "something else"}')
    config = tmp_path / "run.yaml"
    config.write_text(f"prompts:\n  path: {ROOT / 'sample_data' / 'prompts.jsonl'}\n"
                      "judge:\n  backend: calibrated\n  calibration: cal.json\n")
    cfg = load_config(config)
    assert cfg.judge.calibration == str(tmp_path / "cal.json")  # relative to the run config, like principles
    with pytest.raises(CalibrationError, match="cal.json: not a calibrated judge file"):
        start_run(store, cfg)
    assert store.list_runs().empty


def test_it_labels_pairs_through_label_pairs_from_a_yaml_next_to_its_json(store, tmp_path):
    synthetic_store(store, n=80)
    raw = raw_judges(store, [SOURCE], ["longest", "random"])  # real judges, judging the source first
    data = read_training_set(store, [SOURCE], [j.name for j in raw])
    model = fit_calibrated(data, raw)
    folder = tmp_path / "judges"
    save_model(model, folder / "cal.json")
    (folder / "calibrated.yaml").write_text("backend: calibrated\ncalibration: cal.json\n")  # relative to the YAML
    judge = make_judge(str(folder / "calibrated.yaml"))
    assert re.fullmatch("calibrated-cal@[0-9a-f]{8}", judge.name)  # the file's content is in its key
    pairs = source_pairs(store, SOURCE)
    assert label_pairs(store, judge, pairs, chunk_size=16) == 80
    stored = store.source_judgments(SOURCE, judge.name).set_index("pair_id").loc[data.pairs["pair_id"]]
    assert np.allclose(stored["p_a"].to_numpy(float), model.predict_p_a(data.signals), atol=1e-12)
    assert stored["consistent"].all()  # antisymmetric: both orders always agree
    assert set(stored["verdict"]) <= {"A", "B"}
    assert label_pairs(store, judge, pairs) == 0  # resumable like any judge


def test_cli_calibrate_judges_the_source_fits_and_prints_the_cv_table(store, tmp_path, capsys):
    synthetic_store(store, n=80, humans="length")
    out = tmp_path / "cal.json"
    code = main(["calibrate", "--source", SOURCE, "--judge", "longest", "--judge", "random", "--out", str(out),
                 "--store", str(store.path)])
    printed = capsys.readouterr().out
    assert code == 0 and load_model(out).trained_on["n_pairs"] == 72
    assert "agreement [95% CI]" in printed and "\nlongest " in printed and "\nhumans " in printed
    assert re.search(r"It (does no better than|is worse than) the 'longest' rule", printed)
    # the Agreement page's row: out-of-fold verdicts, stored as one more judge of the source
    from core.human_labels.with_verdicts import source_audit

    cv_judge = next(j for j in store.source_judges(SOURCE) if "-cv" in j)
    assert re.fullmatch("calibrated-cal-cv@[0-9a-f]{8}", cv_judge) and f"'{cv_judge}'" in printed
    from core.views.agreement import judge_definitions_table

    shown = judge_definitions_table(store, [cv_judge]).iloc[0]
    assert shown["Judge"] == "calibrated-cal-cv" and shown["Backend"] == "calibrated"
    reports = source_audit(store, SOURCE, n_boot=50)
    row = next(line for line in printed.splitlines() if line.startswith("calibrated-cal@")).split()
    assert reports[cv_judge]["agreement_no_ties"] == pytest.approx(float(row[2]), abs=5e-4)
    assert main(["calibrate", "--source", "dataset:nope", "--judge", "longest", "--out", str(out),
                 "--store", str(store.path)]) == 2


def test_agreement_page_shows_the_calibrated_judge_as_one_more_row(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from core.data.sample_workspace import ensure_sample_workspace
    from core.store import Store
    from dashboard.state import get_store

    path = tmp_path / "store.sqlite"
    monkeypatch.setenv("RLAIF_AUDIT_STORE", str(path))
    get_store.clear()
    ensure_sample_workspace(Store(path))  # 60 pairs the team labelled, judged by the yardsticks
    assert main(["calibrate", "--source", "dataset:sample", "--judge", "longest", "--judge", "random",
                 "--out", str(tmp_path / "team.json"), "--store", str(path)]) == 0
    at = AppTest.from_file(str(ROOT / "dashboard" / "pages" / "audit.py"), default_timeout=60).run()
    assert not at.exception
    cv_judge = next(j for j in Store(path).source_judges("dataset:sample") if "-cv@" in j)
    assert "calibrated-team-cv" in at.selectbox(key="audit_focus").options  # its readable name
    at.selectbox(key="audit_focus").set_value(cv_judge).run()
    assert not at.exception
    summary = next(d.value for d in at.dataframe if "Agreement (95% CI)" in d.value.columns)
    assert set(summary["Judge"]) == {"calibrated-team-cv", "longest", "random", "shortest"}
    assert any(m.value.startswith("- Agreement with humans") for m in at.markdown)


def other_source(store, n: int = 40) -> str:
    """Pairs the calibrated judge was not fitted on, where people always prefer the shorter answer."""
    rng = np.random.default_rng(11)
    pairs = [ResponsePair(f"other/{i}", f"other question {i}", "a" * int(la), "b" * int(lb))
             for i, (la, lb) in enumerate(rng.integers(20, 400, size=(n, 2)))]
    store.add_pairs(pairs, dataset="other")
    for p in pairs:
        store.set_human_label(p.pair_id, "ann", "A" if len(p.response_a) < len(p.response_b) else "B")
    return "dataset:other"


def test_a_calibrated_judge_audited_on_another_source_says_what_it_was_fitted_on(store, tmp_path):
    from core.human_labels.calibrated_cv import record_out_of_fold
    from core.human_labels.with_verdicts import source_audit
    from core.judges.identity import judge_identity
    from core.views.findings import source_findings

    synthetic_store(store, n=80, humans="length")
    raw = raw_judges(store, [SOURCE], ["longest", "random"])
    data = read_training_set(store, [SOURCE], [j.name for j in raw])
    path = save_model(fit_calibrated(data, raw), tmp_path / "cal.json")
    other = other_source(store)
    judge = make_judge(JudgeConfig(backend="calibrated", calibration=str(path)))
    for source in (other, SOURCE):
        label_pairs(store, judge, source_pairs(store, source))
    said = source_findings(store, source_audit(store, other, n_boot=200), judge.name, other)
    assert said[-1].startswith("'calibrated-cal' was fitted on people's labels of dataset:synthetic, not on "
                               "dataset:other: its cross-validated agreement holds for dataset:synthetic only.")
    said = source_findings(store, source_audit(store, SOURCE, n_boot=200), judge.name, SOURCE)
    assert "these pairs among them: its agreement here is in-sample" in said[-1] and "'calibrated-cal-cv'" in said[-1]
    # its out-of-fold row and any other judge get no such sentence
    identity = judge_identity(JudgeConfig(backend="calibrated", calibration=str(path)))
    cv = record_out_of_fold(store, evaluate(data, raw, name=identity.key), identity=identity)
    reports = source_audit(store, SOURCE, n_boot=200)
    for name in (cv, "longest"):
        assert not any("was fitted on" in s for s in source_findings(store, reports, name, SOURCE))
