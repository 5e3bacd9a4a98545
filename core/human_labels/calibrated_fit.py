"""Fitting the calibrated judge on people's labels: the training set (each labelled pair with every
raw judge's stored signals), the fit, and the raw judges it reads, judged first where they have not
judged a source yet. The model itself, and its file, are ``core/judges/calibrated_model.py``."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.config import JudgeConfig
from core.human_labels.with_verdicts import read_source
from core.judges import judge_config_from, make_judge
from core.judges.calibrated_model import (
    CalibratedModel,
    CalibrationError,
    RawJudge,
    choose_features,
    feature_matrix,
    fit_arrays,
    signal_frame,
)
from core.loop.judging import label_pairs, source_pairs


@dataclass(frozen=True)
class TrainingSet:
    """Labelled pairs of the sources with every raw judge's signals: one row per pair (ties included)."""
    pairs: pd.DataFrame  # pair_id, source, human ('A'/'B'/'TIE'), annotators (names), len_a, len_b
    signals: pd.DataFrame  # signal_frame, aligned with pairs
    judges: tuple[str, ...]


def read_training_set(store, sources: list[str], judge_names: list[str]) -> TrainingSet:
    """The human-labelled pairs of ``sources`` that every judge of ``judge_names`` judged."""
    pairs, signals = [], []
    for source in sources:
        data = read_source(store, source)
        missing = [n for n in judge_names if n not in data.verdicts]
        if missing:
            raise CalibrationError(f"{source}: not judged by {', '.join(missing)} (judge it first)")
        keep = data.pairs["human"].notna().to_numpy().copy()
        for name in judge_names:
            keep &= data.verdicts[name]["code"] >= 0
        frame = data.pairs.loc[keep, ["pair_id", "human", "len_a", "len_b"]].assign(source=source)
        who = store.source_human_labels(source).groupby("pair_id")["annotator"].agg(sorted)
        frame["annotators"] = frame["pair_id"].map(who)
        pairs.append(frame)
        signals.append(signal_frame({n: {k: v[keep] for k, v in data.verdicts[n].items()} for n in judge_names},
                                    frame["len_a"], frame["len_b"]))
    return TrainingSet(pd.concat(pairs, ignore_index=True), pd.concat(signals, ignore_index=True),
                       tuple(judge_names))


def usable_rows(data: TrainingSet, features) -> np.ndarray:
    """Rows with a human winner (not a tie) and every feature readable."""
    x = feature_matrix(data.signals, features)
    return (data.pairs["human"].isin(["A", "B"]).to_numpy()) & np.isfinite(x).all(axis=1)


def fit_calibrated(data: TrainingSet, judges: list[RawJudge], *, C: float = 1.0, length: bool = True
                   ) -> CalibratedModel:
    """Fit on every pair of ``data`` with a human winner and every signal readable."""
    if C <= 0:
        raise CalibrationError(f"C must be > 0, got {C!r}")
    features = choose_features(data.signals, [j.name for j in judges], length=length)
    use = usable_rows(data, features)
    x = feature_matrix(data.signals[use], features)
    y = (data.pairs["human"].to_numpy()[use] == "A").astype(np.int64)
    means, scales, coef = fit_arrays(x, y, features, C=C)
    trained = data.pairs[use]
    trained_on = {"sources": sorted(set(trained["source"])), "n_pairs": int(use.sum()),
                  "n_ties_left_out": int((data.pairs["human"] == "TIE").sum()),
                  "pairs": [{"pair_id": r.pair_id, "source": r.source, "human": r.human,
                             "annotators": list(r.annotators) if isinstance(r.annotators, list) else []}
                            for r in trained.itertuples()]}
    return CalibratedModel(tuple(judges), features, tuple(means.tolist()), tuple(scales.tolist()),
                           tuple(coef.tolist()), 0.0, float(C), trained_on)


def principle_judges(store, spec, ref: str) -> list[JudgeConfig]:
    """The judge ``spec`` (a name, YAML path or JudgeConfig that reads principles) asked about each
    principle of constitution version ``ref`` alone: raw judges whose signals let the calibrated
    judge weigh the principles one by one (``core/judges/constitutions.py``)."""
    from core.judges.constitutions import principle_configs, with_version

    cfg = judge_config_from(spec) if isinstance(spec, str) else spec
    return [principle for _, principle in principle_configs(with_version(cfg, ref, store), store)]


def raw_judges(store, sources: list[str], specs, *, progress=None, judge_missing: bool = True) -> list[RawJudge]:
    """Build each raw judge (a built-in name, YAML path or JudgeConfig), judge the sources' pairs it
    has not judged yet (``label_pairs``: resumable, cached in the store; not with ``judge_missing=False``),
    and return its name and definition."""
    out = []
    for spec in specs:
        cfg = judge_config_from(spec) if isinstance(spec, str) else spec
        if cfg.backend == "calibrated":
            raise CalibrationError("a calibrated judge cannot be a raw judge of another one")
        judge = make_judge(cfg, store=store)
        try:
            for source in sources if judge_missing else ():
                label_pairs(store, judge, source_pairs(store, source), progress=progress)
        finally:
            judge.close()
        out.append(RawJudge(judge.name, dataclasses.asdict(cfg)))
    return out
