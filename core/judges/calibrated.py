"""The calibrated judge (``backend: calibrated``): the raw judges it was fitted on, read and combined.

It rebuilds each raw judge from the calibration file (``core/judges/calibrated_model.py``), lets each judge the
item's pair in both orders (``judge_pairs``), and feeds their readings and the length ratio to the
fitted logistic regression. The two orders of one pair that ``judge_pairs`` asks it about are read
from one set of raw readings, swapped, so the raw judges see each pair twice, not four times; and
because the model is antisymmetric, the calibrated judge's two orders always agree.

Given a store (``stored``), a raw judge's readings of the same texts already stored under its key
(``core/judges/stored.py``) are used instead of reading them again, and a raw judge is built (a
local model loaded) only when some pair is new to it: a calibrated judge over a source its raw
judges have read costs nothing more.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from core.config import JudgeConfig, _build, located
from core.judges.base import Judge, JudgeItem, judge_pairs
from core.judges.calibrated_model import CalibrationError, load_model, signal_frame
from core.judges.identity import judge_identity
from core.schema import OrderReading, ResponsePair

SIGNALS = ("p_a", "p_a_ab", "p_a_ba")


class CalibratedJudge(Judge):
    def __init__(self, model, configs: list[JudgeConfig], build: Callable[[JudgeConfig], Judge], *,
                 name: str = "calibrated", stored: Callable[[str], object] | None = None):
        keys = [judge_identity(c).key for c in configs]
        if keys != [j.name for j in model.judges]:
            raise CalibrationError(f"the calibration was fitted on judges {[j.name for j in model.judges]}, "
                                   f"but their definitions now build {keys}: the file no longer matches them")
        self.model, self.configs, self.keys, self.name = model, configs, keys, name
        self._build, self._stored, self._raw = build, stored, {}

    @classmethod
    def from_config(cls, cfg, *, build: Callable[[JudgeConfig], Judge],
                    stored: Callable[[str], object] | None = None) -> "CalibratedJudge":
        """The judge of a calibration file; ``build`` makes each raw judge from its config (``make_judge``),
        ``stored(key)`` gives a raw judge's stored readings (``StoredReadings``), when there is a store."""
        model = load_model(cfg.calibration)
        configs = []
        for j in model.judges:
            try:
                configs.append(_build(JudgeConfig, j.config, prefix=""))
            except ValueError as exc:
                raise located(exc, f"{cfg.calibration}, judge {j.name!r}") from exc
        return cls(model, configs, build, name=f"calibrated-{Path(cfg.calibration).stem}", stored=stored)

    def raw(self, i: int) -> Judge:
        """Raw judge ``i``, built on first need."""
        if i not in self._raw:
            self._raw[i] = self._build(self.configs[i])
        return self._raw[i]

    def read_orders(self, items: Sequence[JudgeItem], progress: Callable[[int], None] | None = None):
        keys, index = [], {}
        for item in items:  # one raw reading per unordered pair: an item and its swap share it
            key = (item.prompt, item.first, item.second)
            if key not in index and (item.prompt, item.second, item.first) not in index:
                index[key] = len(keys)
                keys.append(key)
        readings, cost = {}, [[0, 0, 0.0] for _ in keys]
        for i, name in enumerate(self.keys):
            js = self._raw_judgments(i, keys)
            readings[name] = {s: [getattr(j, s) for j in js] for s in SIGNALS}
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

    def _raw_judgments(self, i: int, keys: list[tuple[str, str, str]]) -> list:
        """Raw judge ``i``'s judgment of each (prompt, a, b): stored ones found again, the rest read now."""
        stored = self._stored(self.keys[i]) if self._stored else None
        found = [None if stored is None else stored.find(str(k), *key) for k, key in enumerate(keys)]
        missing = [ResponsePair(str(k), *key) for k, key in enumerate(keys) if found[k] is None]
        if missing:
            for j in judge_pairs(self.raw(i), missing):
                found[int(j.pair_id)] = j
        return found

    def close(self) -> None:
        for judge in self._raw.values():
            judge.close()
