"""Closing the loop: round k+1 is judged by a judge calibrated on the spot-checks of rounds <= k.

With ``calibrate.from_spot_checks``, each round from 1 on fits ``core/judges/calibrated_model.py``'s logistic
regression on the human labels given so far to the run's pairs of the earlier rounds, over the
signals of the run's own (raw) judge and the length ratio. The raw judge still judges every pair
(its readings are stored: later rounds fit on them), and the calibrated verdicts are computed from
those stored readings, so nothing is read twice. The fitted JSON is kept as the round's
``calibrated_judge`` artifact and names every pair and annotator whose label trained it; the
round's ``calibration`` metrics say how many. With fewer than ``calibrate.min_labels`` labelled
pairs the round keeps the raw judge, and its message says so.

Which judge decided a round (``decisive_judge``) is what the reward model trains on: a run's
pairs may also carry verdicts of other judges (a judge job on ``run:<id>``, the raw judge beside
the calibrated one), and only the decisive judge's verdict of each pair is a preference.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.config import JudgeConfig, RunConfig
from core.store import Store

ARTIFACT = "calibrated_judge"


def decisive_judge(store: Store, run_id: str, cfg: RunConfig, round_: int) -> str:
    """The key of the judge whose verdicts are round ``round_``'s preferences."""
    from core.judges.identity import judge_identity

    path = store.get_artifact(run_id, round_, ARTIFACT)
    if path:
        return judge_identity(JudgeConfig(backend="calibrated", calibration=path)).key
    return judge_identity(cfg.judge).key


def decisive_judgments(store: Store, run_id: str, cfg: RunConfig) -> pd.DataFrame:
    """The run's judgments, one per pair: each round's decisive judge's."""
    judgments = store.judgments_frame(run_id=run_id)
    rounds = store.pairs_frame(run_id=run_id)[["pair_id", "round"]]
    judgments = judgments.merge(rounds, on="pair_id")
    keys = {r: decisive_judge(store, run_id, cfg, int(r)) for r in judgments["round"].unique()}
    keep = judgments["judge"].to_numpy() == judgments["round"].map(keys).to_numpy()
    return judgments[keep].drop(columns="round").reset_index(drop=True)


def fit_for_round(store: Store, run_id: str, cfg: RunConfig, round_: int, out_dir: Path) -> tuple[str | None, str]:
    """Fit (or find, on resume) the round's calibrated judge; return (its JSON path or None, a sentence)."""
    from core.human_labels.calibrated_fit import fit_calibrated, read_training_set
    from core.judges.calibrated_model import CalibrationError, RawJudge, save_model
    from core.judges.identity import judge_identity

    done = store.get_artifact(run_id, round_, ARTIFACT)
    if done:
        return done, f"round {round_}: judged by the calibrated judge fitted before ({Path(done).name})"
    raw_key = judge_identity(cfg.judge).key
    try:
        data = read_training_set(store, [f"run:{run_id}"], [raw_key])
    except CalibrationError:
        data = None
    if data is not None:
        rounds = store.pairs_frame(run_id=run_id).set_index("pair_id")["round"]
        earlier = data.pairs["pair_id"].map(rounds).to_numpy() < round_
        data = type(data)(data.pairs[earlier].reset_index(drop=True), data.signals[earlier].reset_index(drop=True),
                          data.judges)
    n = 0 if data is None else int(data.pairs["human"].isin(["A", "B"]).sum())
    if n < cfg.calibrate.min_labels:
        note = (f"round {round_}: kept the raw judge {raw_key}: {n} spot-checked pair(s) with a winner in rounds "
                f"< {round_}, fewer than calibrate.min_labels = {cfg.calibrate.min_labels}")
        store.add_metrics(run_id, round_, "calibration", 0, {"labels_used": n, "calibrated": 0})
        return None, note
    import dataclasses

    model = fit_calibrated(data, [RawJudge(raw_key, dataclasses.asdict(cfg.judge))], C=cfg.calibrate.C)
    path = save_model(model, Path(out_dir) / "calibrated_judge.json")
    trained = model.trained_on
    annotators = sorted({a for p in trained["pairs"] for a in p["annotators"]})
    store.add_metrics(run_id, round_, "calibration", 0, {
        "labels_used": trained["n_pairs"], "annotators": len(annotators), "calibrated": 1,
        "length_weight_share": float(model.length_weight_share())})
    store.set_artifact(run_id, round_, ARTIFACT, path)
    return str(path), (f"round {round_}: judged by a calibrated judge fitted on {trained['n_pairs']} spot-checked "
                       f"pairs of earlier rounds ({', '.join(annotators) or 'no names'}); file {path.name}")


def label_calibrated(store: Store, path: str, raw_key: str, pair_ids: list[str]) -> int:
    """Store the calibrated judge's verdicts on ``pair_ids`` from the raw judge's stored readings;
    return how many were written (pairs the raw judge has not judged stay unjudged by it). The
    calibrated judge reads stored readings itself (``core/judges/calibrated.py``), so nothing is read twice."""
    from core.judges import make_judge
    from core.loop.judging import label_pairs
    from core.schema import to_response_pairs

    read = store.judged_pair_ids(raw_key, pair_ids)
    pairs = to_response_pairs(store.get_pairs([p for p in pair_ids if p in read]))
    if not pairs:
        return 0
    judge = make_judge(JudgeConfig(backend="calibrated", calibration=path), store=store)
    try:
        return label_pairs(store, judge, pairs)
    finally:
        judge.close()
