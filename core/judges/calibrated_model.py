"""A judge calibrated by spot-checks: a small logistic regression over the raw judges' own signals.

From the human labels on named pair sources (``dataset:<name>`` or ``run:<id>``) and the
judgments the raw judges already stored for those pairs, fit P(A better) on per-pair features:

* per raw judge, the log-odds of P(A) read in each order (``p_a_ab``, ``p_a_ba``) when its two
  orders differ (a letters judge), else of its one reading ``p_a`` (pointwise and likelihood
  judges score each response once, so both orders are equal);
* ``log_length_ratio``: log((len_a + 1) / (len_b + 1)) in characters.

Features are standardised and the L2-regularised logistic regression (scikit-learn) is fitted on
every labelled pair *and its swapped copy* (A and B exchanged, label flipped) without an
intercept, so the model is exactly antisymmetric: shown B first it says 1 - what it says shown A
first, and no slot preference of the training set can leak in. Human ties are left out of
training. A pair a raw judge did not judge, or whose reading could not be read, is left out too,
and the calibrated judge's reading of such an item is INVALID, never A or B.

The model is saved as plain JSON (``save_model`` / ``load_model``; no pickle): the raw judges'
definitions, feature names, means, scales, coefficients, intercept, and the sources, pair ids and
annotators whose labels trained it. ``core/judges/calibrated.py`` offers it as a judge
(``backend: calibrated``); ``core/human_labels/calibrated_cv.py`` measures it by k-fold cross-validation.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

FORMAT = "rlaif-audit calibrated judge"
VERSION = 1
LENGTH = "log_length_ratio"
_CLIP = 1e-4  # P clipped to [_CLIP, 1 - _CLIP] before the log-odds: a yardstick's 0/1 stays finite
_ORDER_SIGNALS = ("p_a_ab", "p_a_ba")


class CalibrationError(ValueError):
    """A calibration file or training set that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class RawJudge:
    """A raw judge the calibrated one reads: its name in the store and the definition that rebuilds it."""
    name: str
    config: dict  # JudgeConfig fields


@dataclass(frozen=True)
class CalibratedModel:
    judges: tuple[RawJudge, ...]
    features: tuple[str, ...]  # "<judge>:<signal>" or LENGTH
    means: tuple[float, ...]
    scales: tuple[float, ...]
    coefficients: tuple[float, ...]
    intercept: float = 0.0
    C: float = 1.0
    trained_on: dict = field(default_factory=dict)  # sources, pairs (pair_id, source, human, annotators)

    def predict_p_a(self, signals: pd.DataFrame) -> np.ndarray:
        """P(A better) per row of ``signals`` (``signal_frame`` columns); NaN where a signal is missing."""
        x = feature_matrix(signals, self.features)
        z = ((x - np.asarray(self.means)) / np.asarray(self.scales)) @ np.asarray(self.coefficients) + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))

    def weights(self) -> dict[str, float]:
        """Each feature's standardised coefficient: how much one standard deviation of it moves the log-odds."""
        return dict(zip(self.features, self.coefficients))

    def length_weight_share(self) -> float:
        """Share of the |standardised coefficients| on length (the length ratio and the readings of the
        `longest`/`shortest` yardsticks), in [0, 1]: 1 means it reads length alone."""
        rulers = {j.name for j in self.judges if j.config.get("backend") in ("longest", "shortest")}
        total = sum(abs(c) for c in self.coefficients)
        on_length = sum(abs(c) for f, c in self.weights().items() if f == LENGTH or f.rpartition(":")[0] in rulers)
        return on_length / total if total > 0 else float("nan")


def logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _CLIP, 1 - _CLIP)
    return np.log(p / (1 - p))


def signal_frame(judges: dict[str, dict[str, np.ndarray]], len_a, len_b) -> pd.DataFrame:
    """Columns ``<judge>:p_a``, ``<judge>:p_a_ab``, ``<judge>:p_a_ba`` (NaN where missing), len_a, len_b."""
    out = {"len_a": np.asarray(len_a, dtype=np.float64), "len_b": np.asarray(len_b, dtype=np.float64)}
    for name, columns in judges.items():
        for signal in ("p_a", *_ORDER_SIGNALS):
            out[f"{name}:{signal}"] = np.asarray(columns[signal], dtype=np.float64)
    return pd.DataFrame(out)


def choose_features(signals: pd.DataFrame, judge_names: list[str], *, length: bool = True) -> tuple[str, ...]:
    """Both orders' readings of a judge whose orders ever differ, else its one reading; then length."""
    features = []
    for name in judge_names:
        ab, ba = signals[f"{name}:p_a_ab"].to_numpy(), signals[f"{name}:p_a_ba"].to_numpy()
        both = np.isfinite(ab) & np.isfinite(ba)
        if both.any() and np.abs(ab[both] - ba[both]).max() > 1e-6:
            features += [f"{name}:{s}" for s in _ORDER_SIGNALS]
        else:
            features.append(f"{name}:p_a")
    return tuple(features + ([LENGTH] if length else []))


def feature_matrix(signals: pd.DataFrame, features) -> np.ndarray:
    """Rows of signals as the model's raw features (log-odds and log length ratio); NaN where missing."""
    cols = []
    for name in features:
        if name == LENGTH:
            cols.append(np.log((signals["len_a"].to_numpy(np.float64) + 1) / (signals["len_b"].to_numpy(np.float64) + 1)))
        elif name in signals:
            p = signals[name].to_numpy(np.float64)
            cols.append(np.where(np.isfinite(p), logit(np.nan_to_num(p, nan=0.5)), np.nan))
        else:
            raise CalibrationError(f"no signal {name!r} among {sorted(signals.columns)}")
    return np.column_stack(cols) if cols else np.zeros((len(signals), 0))


def swap_matrix(features) -> np.ndarray:
    """S with x_swapped = x @ S: A and B exchanged turns each order's log-odds into minus the other's."""
    features = list(features)
    s = np.zeros((len(features), len(features)))
    for i, name in enumerate(features):
        judge, _, signal = name.rpartition(":")
        other = {"p_a_ab": "p_a_ba", "p_a_ba": "p_a_ab"}.get(signal)
        j = features.index(f"{judge}:{other}") if other and f"{judge}:{other}" in features else i
        s[i, j] = -1.0
    return s


def fit_arrays(x: np.ndarray, y: np.ndarray, features, *, C: float = 1.0):
    """(means, scales, coefficients) of the antisymmetric L2 logistic regression of y (1: A) on x."""
    from sklearn.linear_model import LogisticRegression

    if len(y) == 0:
        raise CalibrationError("no labelled pair with every signal to train on (human ties are left out)")
    if len(set(y.tolist())) < 2:
        raise CalibrationError("the training labels are all on one side; the swapped copies alone teach nothing")
    s = swap_matrix(features)
    xa, ya = np.vstack([x, x @ s]), np.concatenate([y, 1 - y])
    means, scales = xa.mean(axis=0), xa.std(axis=0)
    scales = np.where(scales > 1e-12, scales, 1.0)
    model = LogisticRegression(C=C, fit_intercept=False, max_iter=1000)
    model.fit((xa - means) / scales, ya)
    return means, scales, model.coef_[0]


def model_to_dict(model: CalibratedModel) -> dict:
    return {"format": FORMAT, "version": VERSION,
            "judges": [{"name": j.name, "config": j.config} for j in model.judges],
            "features": list(model.features), "means": list(model.means), "scales": list(model.scales),
            "coefficients": list(model.coefficients), "intercept": model.intercept, "C": model.C,
            "antisymmetric": model.intercept == 0.0, "trained_on": model.trained_on}


def save_model(model: CalibratedModel, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(model_to_dict(model), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def load_model(path: str | Path) -> CalibratedModel:
    """Read a calibration JSON; any bad content is a CalibrationError naming the file and the field."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{path}: cannot read calibration file: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise CalibrationError(f"{path}: not JSON (line {exc.lineno}): {exc.msg}") from exc
    try:
        return model_from_dict(data)
    except CalibrationError as exc:
        raise CalibrationError(f"{path}: {exc}") from None


def model_from_dict(data) -> CalibratedModel:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CalibrationError(f"not a calibrated judge file (expected \"format\": {FORMAT!r})")
    if data.get("version") != VERSION:
        raise CalibrationError(f"field 'version' must be {VERSION}, got {data.get('version')!r}")
    judges = data.get("judges")
    if not isinstance(judges, list) or not judges or not all(
            isinstance(j, dict) and isinstance(j.get("name"), str) and isinstance(j.get("config"), dict) for j in judges):
        raise CalibrationError("field 'judges' must be a non-empty list of {\"name\": str, \"config\": {...}}")
    features = data.get("features")
    if not isinstance(features, list) or not features or not all(isinstance(f, str) for f in features):
        raise CalibrationError("field 'features' must be a non-empty list of names")
    names = {j["name"] for j in judges}
    for f in features:
        judge, _, signal = f.rpartition(":")
        if f != LENGTH and (judge not in names or signal not in ("p_a", *_ORDER_SIGNALS)):
            raise CalibrationError(f"field 'features': {f!r} is neither {LENGTH!r} nor '<judge>:p_a|p_a_ab|p_a_ba' "
                                   f"of a listed judge")
    numbers = {k: _numbers(data, k, len(features)) for k in ("means", "scales", "coefficients")}
    if any(s <= 0 for s in numbers["scales"]):
        raise CalibrationError("field 'scales' must be positive")
    intercept = _numbers({"intercept": [data.get("intercept", 0.0)]}, "intercept", 1)[0]
    return CalibratedModel(tuple(RawJudge(j["name"], j["config"]) for j in judges), tuple(features),
                           numbers["means"], numbers["scales"], numbers["coefficients"], intercept,
                           float(data.get("C", 1.0)), data.get("trained_on") or {})


def _numbers(data: dict, key: str, n: int) -> tuple[float, ...]:
    values = data.get(key)
    if not isinstance(values, list) or len(values) != n or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        raise CalibrationError(f"field {key!r} must be a list of {n} finite numbers (one per feature), "
                               f"got {str(values)[:60]}")
    return tuple(float(v) for v in values)


