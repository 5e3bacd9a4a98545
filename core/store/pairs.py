"""Pairs and judgments: written by the loop's stages and by imports (one transaction each), read
by pair id, by run or by judge."""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence

import pandas as pd

from core.schema import Judgment, Preference, ResponsePair
from core.store.database import _changed, _where


class PairsTable:
    """Pairs, judgments, placements and an import's labels; keyed so that a rewrite updates."""

    def add_pairs(self, pairs: Iterable[ResponsePair], *, run_id: str | None = None, dataset: str = "") -> None:
        now, pairs = time.time(), list(pairs)
        with self.transaction() as con:
            self._replace_pairs(con, pairs, run_id=run_id, dataset=dataset, now=now)

    @staticmethod
    def _replace_pairs(con: sqlite3.Connection, pairs: Sequence[ResponsePair], *, run_id: str | None, dataset: str,
                       now: float) -> None:
        ids = [p.pair_id for p in pairs]
        _changed(con, "pairs", pair_ids=ids)  # the sources these ids held before (a replaced pair leaves one)
        con.executemany(
            "INSERT OR REPLACE INTO pairs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(p.pair_id, run_id, dataset, p.round, p.prompt_id, p.prompt, p.response_a, p.response_b,
              p.category, p.model_a, p.model_b, now, len(p.response_a), len(p.response_b)) for p in pairs])
        _changed(con, "pairs", sources=[f"run:{run_id}" if run_id is not None else f"dataset:{dataset}"])

    def add_judgments(self, judgments: Iterable[Judgment]) -> None:
        """One transaction per call: the labeling stage calls it once per chunk."""
        now, judgments = time.time(), list(judgments)
        with self.transaction() as con:
            self._replace_judgments(con, judgments, now)

    @staticmethod
    def _replace_judgments(con: sqlite3.Connection, judgments: Sequence[Judgment], now: float) -> None:
        con.executemany(
            "INSERT OR REPLACE INTO judgments VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(j.pair_id, j.judge, j.verdict.value, j.p_a, j.p_a_ab, j.p_a_ba,
              None if j.consistent is None else int(j.consistent), j.raw_ab, j.raw_ba,
              j.tokens_in, j.tokens_out, j.seconds, now) for j in judgments])
        if judgments:
            _changed(con, "judgments", pair_ids=[j.pair_id for j in judgments], judges=[j.judge for j in judgments])

    def import_dataset(self, dataset: str, pairs: Sequence[ResponsePair], labels: Sequence[tuple[str, str, str]],
                       judgments: Sequence[Judgment] = (),
                       placements: Sequence[tuple[str, str, int | None]] = ()) -> None:
        """Pairs, their human labels (pair_id, annotator, label), judgments and placements in ONE transaction.

        A placement (pair_id, 'A' or 'B', seed) records where a chosen/rejected source's chosen
        response was put; seed is None when the file itself gave the side.
        """
        now = time.time()
        with self.transaction() as con:
            self._replace_pairs(con, pairs, run_id=None, dataset=dataset, now=now)
            con.executemany("DELETE FROM pair_placements WHERE pair_id = ?", [(p.pair_id,) for p in pairs])
            con.executemany("INSERT INTO pair_placements VALUES (?,?,?,?)",
                            [(pid, side, seed, now) for pid, side, seed in placements])
            con.executemany(
                "INSERT INTO human_labels (pair_id, annotator, label, created_at, updated_at, origin) "
                "VALUES (?,?,?,?,?,'import') ON CONFLICT (pair_id, annotator) "
                "DO UPDATE SET label = excluded.label, updated_at = excluded.updated_at, origin = 'import'",
                [(pid, who, Preference.parse(label).value, now, now) for pid, who, label in labels])
            if labels:
                _changed(con, "human_labels", pair_ids=[pid for pid, _, _ in labels])
            self._replace_judgments(con, judgments, now)
        self.warm_audit_snapshots([f"dataset:{dataset}"])

    def judged_pair_ids(self, judge: str, pair_ids: Sequence[str]) -> set[str]:
        df = self._frame("SELECT pair_id FROM judgments WHERE judge = ?", (judge,))
        return set(df["pair_id"]) & set(pair_ids)

    def pairs_frame(self, *, run_id: str | None = None, dataset: str | None = None, round_: int | None = None
                    ) -> pd.DataFrame:
        where, params = _where(run_id=run_id, dataset=dataset, round=round_)
        df = self._frame(f"SELECT * FROM pairs {where} ORDER BY created_at, pair_id", params)
        df["len_a"] = df["response_a"].str.len()
        df["len_b"] = df["response_b"].str.len()
        return df

    def judgments_frame(self, *, judge: str | None = None, run_id: str | None = None) -> pd.DataFrame:
        where, params = _where(**{"j.judge": judge, "p.run_id": run_id})
        df = self._frame(f"SELECT j.* FROM judgments j JOIN pairs p USING (pair_id) {where}", params)
        df["consistent"] = df["consistent"].map({1: True, 0: False}).astype(object)
        return df

    def judgments_with_texts(self, judge: str) -> pd.DataFrame:
        """Every judgment of ``judge`` with the texts it read (prompt, response_a, response_b), raw answers
        left out: how a verdict already paid for is found again for the same texts under another id."""
        df = self._frame("SELECT p.prompt, p.response_a, p.response_b, j.pair_id, j.judge, j.verdict, j.p_a, "
                         "j.p_a_ab, j.p_a_ba, j.consistent, j.tokens_in, j.tokens_out, j.seconds "
                         "FROM judgments j JOIN pairs p USING (pair_id) WHERE j.judge = ?", (judge,))
        df["consistent"] = df["consistent"].map({1: True, 0: False}).astype(object)
        return df

    def get_pairs(self, pair_ids: Sequence[str]) -> pd.DataFrame:
        marks = ",".join("?" * len(pair_ids))
        return self._frame(f"SELECT * FROM pairs WHERE pair_id IN ({marks})", list(pair_ids))

    def pair_judgments(self, pair_id: str) -> pd.DataFrame:
        df = self._frame("SELECT judge, verdict, p_a, p_a_ab, p_a_ba, consistent FROM judgments WHERE pair_id = ? "
                         "ORDER BY judge", (pair_id,))
        df["consistent"] = df["consistent"].map({1: True, 0: False}).astype(object)
        return df
