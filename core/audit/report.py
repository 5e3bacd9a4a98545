"""The whole audit of one judge against human labels, as one JSON-ready dict (``audit_report``), and
of every judge of one pair source read from the store (``audit_source``)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.audit.agreement import joint_counts, summary_from_codes
from core.audit.breakdown import breakdown_from_codes
from core.audit.calibration import calibration_from_codes
from core.audit.frames import LABELS, audit_frame, label_codes
from core.audit.human import human_ceiling
from core.audit.position import position_bias, slot_a_rate
from core.audit.self_preference import self_preference_from_codes
from core.audit.verbosity import agreement_by_length_from_codes, length_controlled_from_codes, verbosity_from_codes
from core.audit.yardstick import length_yardsticks_from_codes


def _records(table: pd.DataFrame | None) -> list[dict] | None:
    return None if table is None else table.to_dict(orient="records")


def _position(frame: pd.DataFrame, n_boot: int, seed) -> dict:
    both = position_bias(frame["p_a_ab"], frame["p_a_ba"], n_boot=n_boot, seed=seed)
    if both is not None:
        return {"orders": "both", **both}
    return {"orders": "one", **slot_a_rate(frame["verdict"])}


def _self_preference(frame, human, judge, family, n_boot, seed) -> dict | None:
    if not family or "model_a" not in frame.columns or "model_b" not in frame.columns:
        return None
    return self_preference_from_codes(human, judge, frame["model_a"], frame["model_b"], family=family,
                                      n_boot=n_boot, seed=seed)


def _human_ceiling(frame: pd.DataFrame) -> dict | None:
    if "annotators" not in frame.columns:
        return None
    # only pairs with two or more votes enter the ceiling: skip the rest before building vote matrices
    if "n_annotators" in frame.columns:
        multi = (frame["n_annotators"].to_numpy() >= 2) & frame["annotators"].notna().to_numpy()
    else:
        multi = frame["annotators"].map(lambda v: isinstance(v, (list, tuple)) and len(v) >= 2).to_numpy(dtype=bool)
    if not multi.any():
        return None
    return human_ceiling(frame.loc[multi, "annotators"].tolist(), frame.loc[multi, "verdict"])


def audit_report(pairs: pd.DataFrame, judgments: pd.DataFrame | None = None, *, judge: str | None = None,
                 seed: int = 0, n_boot: int = 1000, judge_family: str | None = None,
                 length_bins: int = 4, calibration_bins: int = 10) -> dict:
    """Audit one judge's verdicts against the human labels of the same pairs.

    ``pairs`` is a pairs frame; ``judgments`` a judgments frame (or None when ``pairs``
    carries a ``verdict`` column); ``judge`` picks one judge from a frame of several;
    ``judge_family`` (a model family or name) turns on the self-preference section where the
    pairs have ``model_a``/``model_b``. Every interval is a seeded bootstrap of ``n_boot``
    resamples (Wilson or Wald where noted in the section's function).

    Flat keys: n_pairs, agreement, agreement_ci95, agreement_no_ties, cohen_kappa,
    judge_p_longer, human_p_longer, position_consistency (None with one order), ece (None
    without soft labels), and more; nested sections: agreement_detail, confusion_matrix,
    verbosity, length_controlled, agreement_by_length, length_yardsticks (the judge against picking
    the longer / shorter answer on the same pairs; a length yardstick is not compared with
    itself), position, calibration, human_human,
    self_preference, by_category, by_principle. Values are plain Python (NaN for undefined);
    ``to_json_ready`` turns NaN into None.
    """
    frame = audit_frame(pairs, judgments, judge=judge)
    human = label_codes(frame["human"], name="human")
    verdict = label_codes(frame["verdict"], name="verdict")
    agreement = summary_from_codes(human, verdict, n_boot=n_boot, seed=seed)
    verbosity = verbosity_from_codes(human, verdict, frame["len_a"], frame["len_b"], n_boot=n_boot, seed=seed)
    position = _position(frame, n_boot, seed)
    calibration = calibration_from_codes(human, frame["p_a"], n_bins=calibration_bins)
    counts = joint_counts(human, verdict)[:3]
    name = _judge_name(frame, judgments, judge)
    return {
        "n_pairs": agreement["n_pairs"],
        "judge": name,
        "agreement": agreement["agreement"],
        "agreement_ci95": agreement["agreement_ci95"],
        "agreement_no_ties": agreement["agreement_no_ties"],
        "cohen_kappa": agreement["cohen_kappa"],
        "judge_p_longer": verbosity["judge_p_longer"],
        "human_p_longer": verbosity["human_p_longer"],
        "verbosity_bias": verbosity["verbosity_bias"],
        "position_consistency": position.get("position_consistency"),
        "ece": None if calibration is None else calibration["ece"],
        "agreement_detail": agreement,
        "confusion_matrix": {h: dict(zip([*LABELS, "INVALID"], map(int, row))) for h, row in zip(LABELS, counts)},
        "verbosity": verbosity,
        "length_controlled": length_controlled_from_codes(human, verdict, frame["len_a"], frame["len_b"]),
        "agreement_by_length": _records(agreement_by_length_from_codes(
            human, verdict, frame["len_a"], frame["len_b"], bins=length_bins, n_boot=n_boot, seed=seed)),
        "length_yardsticks": length_yardsticks_from_codes(human, verdict, frame["len_a"], frame["len_b"],
                                                          n_boot=n_boot, seed=seed, exclude=name),
        "position": position,
        "calibration": calibration,
        "human_human": _human_ceiling(frame),
        "self_preference": _self_preference(frame, human, verdict, judge_family, n_boot, seed),
        "by_category": _records(_breakdown(frame, "category", human, verdict, n_boot, seed)),
        "by_principle": _records(_breakdown(frame, "principle", human, verdict, n_boot, seed)),
        "seed": seed,
        "n_boot": n_boot,
    }


def _breakdown(frame, column, human, verdict, n_boot, seed):
    if column not in frame.columns:
        return None
    return breakdown_from_codes(frame[column], human, verdict, frame["len_a"], frame["len_b"],
                                n_boot=n_boot, seed=seed)


def _judge_name(frame: pd.DataFrame, judgments: pd.DataFrame | None, judge: str | None) -> str | None:
    if judge is not None:
        return judge
    if judgments is not None and "judge" in judgments.columns and judgments["judge"].nunique() == 1:
        return str(judgments["judge"].iloc[0])
    return None


def to_json_ready(value):
    """The report with NaN/inf as None and numpy scalars as Python numbers, for ``json.dump``."""
    if isinstance(value, dict):
        return {str(k): to_json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class SourceData:
    """What the audit of one source reads from the store (``read_source``), ready to compute on.

    ``pairs``: one row per pair of the source, texts left out, with the human majority
    (``human``, None where nobody labelled it), ``n_annotators`` and, where several people
    labelled it, their votes (``annotators``). ``verdicts``: per judge, numpy arrays aligned
    with ``pairs`` (``Store.audit_snapshot``): ``code`` (-1 where not judged), p_a, p_a_ab,
    p_a_ba, consistent.
    """
    pairs: pd.DataFrame
    verdicts: dict[str, dict[str, np.ndarray]]


_LABEL_OF_CODE = np.array(["A", "B", "TIE", "INVALID"], dtype=object)


def audit_source(data: SourceData, *, judges: list[str] | None = None, n_boot: int = 1000,
                 seed: int = 0) -> dict[str, dict]:
    """Audit report per judge over the pairs of ``data`` that have a human label: the compute half."""
    labelled = data.pairs["human"].notna().to_numpy()
    reports = {}
    for name in judges if judges is not None else sorted(data.verdicts):
        columns = data.verdicts.get(name)
        keep = None if columns is None else labelled & (columns["code"] >= 0)
        if keep is None or not keep.any():
            continue
        consistent = columns["consistent"][keep]
        subset = data.pairs[keep].assign(
            verdict=_LABEL_OF_CODE[columns["code"][keep]], p_a=columns["p_a"][keep], p_a_ab=columns["p_a_ab"][keep],
            p_a_ba=columns["p_a_ba"][keep],
            consistent=np.where(np.isnan(consistent), None, consistent == 1).astype(object))
        reports[name] = to_json_ready(audit_report(subset, judge=name, n_boot=n_boot, seed=seed))
    return reports

