"""The calibrated judge (``backend: calibrated``): the raw judges it was fitted on, read and combined.

It rebuilds each raw judge from the calibration file (``core/judges/calibrated_model.py``), lets each judge the
item's pair in both orders (``judge_pairs``), and feeds their readings and the length ratio to the
fitted logistic regression. The two orders of one pair that ``judge_pairs`` asks it about are read
from one set of raw readings, swapped, so the raw judges see each pair twice, not four times; and
because the model is antisymmetric, the calibrated judge's two orders always agree.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from core.config import JudgeConfig, _build, located
from core.judges.base import Judge, JudgeItem, judge_pairs
from core.judges.calibrated_model import CalibrationError, load_model, signal_frame
from core.schema import OrderReading, ResponsePair


class CalibratedJudge(Judge):
    def __init__(self, model, raw: list[Judge], *, name: str = "calibrated"):
        names = [j.name for j in raw]
        if names != [j.name for j in model.judges]:
            raise CalibrationError(f"the calibration was fitted on judges {[j.name for j in model.judges]}, "
                                   f"but their definitions now build {names}: the file no longer matches them")
        self.model, self.raw, self.name = model, raw, name

    @classmethod
    def from_config(cls, cfg, *, build: Callable[[JudgeConfig], Judge]) -> "CalibratedJudge":
        """The judge of a calibration file; ``build`` makes each raw judge from its config (``make_judge``)."""
        model = load_model(cfg.calibration)
        raw = []
        try:
            for j in model.judges:
                try:
                    raw_cfg = _build(JudgeConfig, j.config, prefix="")
                except ValueError as exc:
                    raise located(exc, f"{cfg.calibration}, judge {j.name!r}") from exc
                raw.append(build(raw_cfg))
            return cls(model, raw, name=f"calibrated-{Path(cfg.calibration).stem}")  # make_judge adds the digest
        except Exception:
            for judge in raw:
                judge.close()
            raise

    def read_orders(self, items: Sequence[JudgeItem], progress: Callable[[int], None] | None = None):
        keys, index = [], {}
        for item in items:  # one raw reading per unordered pair: an item and its swap share it
            key = (item.prompt, item.first, item.second)
            if key not in index and (item.prompt, item.second, item.first) not in index:
                index[key] = len(keys)
                keys.append(key)
        pairs = [ResponsePair(str(k), p, a, b) for k, (p, a, b) in enumerate(keys)]
        readings, cost = {}, [[0, 0, 0.0] for _ in keys]
        for judge in self.raw:
            js = judge_pairs(judge, pairs)
            readings[judge.name] = {"p_a": [j.p_a for j in js], "p_a_ab": [j.p_a_ab for j in js],
                                    "p_a_ba": [j.p_a_ba for j in js]}
            for c, j in zip(cost, js):
                c[0], c[1], c[2] = c[0] + j.tokens_in, c[1] + j.tokens_out, c[2] + j.seconds
        signals = signal_frame({n: {k: pd.array(v, dtype="Float64").to_numpy(float, na_value=float("nan"))
                                    for k, v in r.items()} for n, r in readings.items()},
                               [len(a) for _, a, _ in keys], [len(b) for _, _, b in keys])
        p_a = self.model.predict_p_a(signals)
        where = [(index[(i.prompt, i.first, i.second)], False) if (i.prompt, i.first, i.second) in index
                 else (index[(i.prompt, i.second, i.first)], True) for i in items]
        shares = pd.Series([k for k, _ in where]).value_counts()  # the raw cost is split over the orders asked
        out = []
        for k, swapped in where:
            p = 1.0 - p_a[k] if swapped else p_a[k]
            n = int(shares[k])
            out.append(OrderReading(None if p != p else float(p), raw=f"calibrated P(first)={p:.4g}",
                                    tokens_in=int(cost[k][0]) // n, tokens_out=int(cost[k][1]) // n,
                                    seconds=float(cost[k][2]) / n))
        if progress:
            progress(len(items))
        return out

    def close(self) -> None:
        for judge in self.raw:
            judge.close()
