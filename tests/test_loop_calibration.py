"""Round k+1 judged by a judge calibrated on the spot-checks of rounds <= k, with a record of which labels."""
from __future__ import annotations

import json

import pytest
import yaml

from core.config import config_from_dict
from core.human_labels.calibrated_rounds import decisive_judge, decisive_judgments, fit_for_round, label_calibrated
from core.judges import make_judge
from core.loop.judging import label_pairs
from core.schema import ResponsePair
from tests.conftest import SAMPLE


def _pairs(round_: int, n: int) -> list[ResponsePair]:
    """Half with the long answer first; people here prefer the SHORT answer (the judge, 'longest', does not)."""
    return [ResponsePair(f"r{round_}/{i}", f"Q{round_}.{i}?", *(("A long, padded answer. " * 3, "Short.") if i % 2
                                                                  else ("Short.", "A long, padded answer. " * 3)),
                         round=round_) for i in range(n)]


def _cfg(**calibrate):
    data = yaml.safe_load((SAMPLE / "tiny.yaml").read_text())
    data["judge"] = {"backend": "longest"}
    data["calibrate"] = {"from_spot_checks": True, **calibrate}
    return config_from_dict(data, base_dir=SAMPLE)


def _judged_run(store, cfg, pairs) -> str:
    """A run holding ``pairs``, all judged by the run's raw judge, 'longest'."""
    run_id = store.create_run(cfg.to_dict(), name="loop")
    store.add_pairs(pairs, run_id=run_id)
    label_pairs(store, make_judge("longest"), pairs)
    return run_id


def test_the_next_round_is_judged_by_a_judge_fitted_on_earlier_spot_checks(store, tmp_path):
    cfg = _cfg(min_labels=6)
    first, second = _pairs(0, 10), _pairs(1, 6)
    run_id = _judged_run(store, cfg, [*first, *second])
    for p in first[:8]:  # spot-checks of round 0 only: people pick the short answer
        store.set_human_label(p.pair_id, "ada" if int(p.pair_id[-1]) < 4 else "bo", "B" if int(p.pair_id[-1]) % 2 else "A")
    path, note = fit_for_round(store, run_id, cfg, 1, tmp_path / "round1")
    assert path and "fitted on 8 spot-checked pairs of earlier rounds (ada, bo)" in note
    trained = json.loads(open(path).read())["trained_on"]
    assert {p["pair_id"] for p in trained["pairs"]} == {p.pair_id for p in first[:8]}  # which labels trained it
    assert {a for p in trained["pairs"] for a in p["annotators"]} == {"ada", "bo"}
    assert label_calibrated(store, path, "longest", [p.pair_id for p in second]) == len(second)
    key = decisive_judge(store, run_id, cfg, 1)
    assert key.startswith("calibrated-calibrated_judge@") and decisive_judge(store, run_id, cfg, 0) == "longest"
    decided = decisive_judgments(store, run_id, cfg).set_index("pair_id")
    assert len(decided) == 16 and decided["judge"].nunique() == 2  # one verdict per pair, two deciders
    for p in second:  # the calibrated judge learned the people's taste: the short answer wins
        short = "B" if p.response_a.startswith("A long") else "A"
        assert decided.loc[p.pair_id, "verdict"] == short and decided.loc[p.pair_id, "judge"] == key
    assert store.metrics_frame(run_id, stage="calibration").set_index("key")["value"]["labels_used"] == 8


def test_too_few_spot_checks_keep_the_raw_judge_and_say_so(store, tmp_path):
    cfg = _cfg(min_labels=20)
    first = _pairs(0, 6)
    run_id = _judged_run(store, cfg, first)
    store.set_human_label(first[0].pair_id, "ada", "A")
    path, note = fit_for_round(store, run_id, cfg, 1, tmp_path)
    assert path is None and "kept the raw judge longest: 1 spot-checked pair" in note and "min_labels = 20" in note
    assert decisive_judge(store, run_id, cfg, 1) == "longest"


def test_labels_on_the_rounds_own_pairs_do_not_train_its_judge(store, tmp_path):
    cfg = _cfg(min_labels=2)
    pairs = _pairs(1, 6)
    run_id = _judged_run(store, cfg, pairs)
    for p in pairs:
        store.set_human_label(p.pair_id, "ada", "A")
    assert fit_for_round(store, run_id, cfg, 1, tmp_path)[0] is None  # only rounds < 1 may train round 1


@pytest.mark.slow
def test_a_two_round_run_calibrates_round_1_on_round_0_spot_checks(store):
    from core.runs.pipeline import run_round, start_run
    from core.runs.progress import Reporter

    data = yaml.safe_load((SAMPLE / "tiny.yaml").read_text())
    data["calibrate"] = {"from_spot_checks": True, "min_labels": 4}
    data["monitor"] = {"probe_reward_model": False, "n_attack_pairs": 0, "eval_every": 0}
    cfg = config_from_dict(data, base_dir=SAMPLE)
    run_id = start_run(store, cfg)
    reporter = Reporter(store, run_id, show_bars=False)
    run_round(store, run_id, cfg, 0, reporter)
    for p in store.pairs_frame(run_id=run_id).itertuples():  # a person spot-checks round 0
        store.set_human_label(p.pair_id, "ada", "A" if len(p.response_a) <= len(p.response_b) else "B")
    reporter.round = 1
    run_round(store, run_id, cfg, 1, reporter)
    assert store.get_artifact(run_id, 1, "calibrated_judge")
    calibration = store.metrics_frame(run_id, stage="calibration").set_index("key")["value"]
    assert calibration["calibrated"] == 1 and calibration["labels_used"] >= 4
    round1 = store.pairs_frame(run_id=run_id).query("round == 1")["pair_id"]
    decided = decisive_judgments(store, run_id, cfg)
    assert set(decided[decided["pair_id"].isin(round1)]["judge"]) == {decisive_judge(store, run_id, cfg, 1)}
    assert store.get_artifact(run_id, 1, "reward_model")  # the round trained on the calibrated verdicts
