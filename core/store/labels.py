"""People's labels: one per pair and annotator, the active spot-check draws, and what is left to label."""
from __future__ import annotations

import json
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.schema import Preference
from core.store.database import _changed, _numbers, _source_filter


class LabelsTable:
    """Human labels and spot-check draws."""

    def set_human_label(self, pair_id: str, annotator: str, label: Preference | str) -> None:
        """Record one annotator's label; labelling the same pair again updates it."""
        label = Preference.parse(label)
        if label is Preference.INVALID or not annotator.strip():
            raise ValueError(f"a human label needs an annotator and a, b or tie; got {annotator!r}, {label.value}")
        now = time.time()
        with self.transaction() as con:
            con.execute(
                "INSERT INTO human_labels (pair_id, annotator, label, created_at, updated_at, origin) "
                "VALUES (?,?,?,?,?,'spot-check') ON CONFLICT (pair_id, annotator) "
                "DO UPDATE SET label = excluded.label, updated_at = excluded.updated_at",
                (pair_id, annotator.strip(), label.value, now, now),
            )
            _changed(con, "human_labels", pair_ids=[pair_id])

    def delete_human_label(self, pair_id: str, annotator: str) -> None:
        with self.transaction() as con:
            if con.execute("DELETE FROM human_labels WHERE pair_id = ? AND annotator = ?", (pair_id, annotator)).rowcount:
                _changed(con, "human_labels", pair_ids=[pair_id])

    def human_labels_frame(self, *, pair_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Every human label (of ``pair_ids`` only, when given: read in SQL, not filtered after), oldest first."""
        if pair_ids is None:
            return self._frame("SELECT * FROM human_labels ORDER BY updated_at")
        return self._frame("SELECT * FROM human_labels WHERE pair_id IN (SELECT value FROM json_each(?)) "
                           "ORDER BY updated_at", (json.dumps(list(pair_ids)),))

    def source_human_labels(self, source: str) -> pd.DataFrame:
        where, params = _source_filter(source, alias="p.")
        return self._frame("SELECT h.* FROM human_labels h JOIN pairs p USING (pair_id) "
                           f"{where} ORDER BY h.updated_at", params)

    def last_human_label(self, annotator: str) -> dict | None:
        df = self._frame("SELECT * FROM human_labels WHERE annotator = ? ORDER BY updated_at DESC LIMIT 1",
                         (annotator,))
        return None if df.empty else df.iloc[0].to_dict()

    def add_spot_check_draws(self, source: str, judge: str, draws: pd.DataFrame) -> None:
        """A planned batch of active spot-checks (pair_id, stratum, batch), kept so estimates stay unbiased."""
        now = time.time()
        with self.transaction() as con:
            con.executemany("INSERT OR IGNORE INTO spot_check_draws VALUES (?,?,?,?,?,?)",
                            [(source, judge, int(d.batch), d.pair_id, d.stratum, now) for d in draws.itertuples()])

    def spot_check_draws(self, source: str, judge: str) -> pd.DataFrame:
        return self._frame("SELECT pair_id, stratum, batch FROM spot_check_draws WHERE source = ? AND judge = ? "
                           "ORDER BY batch, created_at, pair_id", (source, judge))

    def unlabelled_pair_ids(self, source: str, annotator: str, *, pair_id: str | None = None) -> list[str]:
        """The source's pairs (in ``audit_rows`` order) that ``annotator`` has not labelled; with
        ``pair_id``, just that one if it is such a pair (a point lookup)."""
        where, params = _source_filter(source, alias="p.")
        if pair_id is not None:
            where, params = f"{where} AND p.pair_id = ?", [*params, pair_id]
        con = self._connect()
        try:
            return [i for (i,) in con.execute(
                f"SELECT p.pair_id FROM pairs p {where} AND NOT EXISTS (SELECT 1 FROM human_labels h "
                "WHERE h.pair_id = p.pair_id AND h.annotator = ?) ORDER BY p.created_at, p.pair_id",
                [*params, annotator])]
        finally:
            con.close()

    def label_progress(self, source: str, annotator: str) -> dict[str, int]:
        """Pairs in the source, those ``annotator`` labelled, and those anyone labelled: counted in SQL."""
        where, params = _source_filter(source, alias="p.")
        con = self._connect()
        try:
            total, mine, anyone = con.execute(
                "SELECT COUNT(*), SUM(EXISTS (SELECT 1 FROM human_labels h WHERE h.pair_id = p.pair_id "
                "AND h.annotator = ?)), SUM(EXISTS (SELECT 1 FROM human_labels h WHERE h.pair_id = p.pair_id)) "
                f"FROM pairs p {where}", [annotator, *params]).fetchone()
        finally:
            con.close()
        return {"total": total, "labelled_by_you": mine or 0, "labelled_by_anyone": anyone or 0}

    def source_vote_codes(self, source: str) -> dict:
        """Every human vote on one source's pairs, oldest update first, as arrays: the pair's ``rowid``,
        ``code`` (0 A, 1 B, 2 TIE), ``imported`` (1 for a label that came with an import) and
        ``annotator``; and the source's consensus ``policy`` (None: the default). Read apart from ``audit_snapshot`` so
        that a new label costs only this."""
        where, params = _source_filter(source, alias="p.")
        con = self._connect()
        try:
            rows = con.execute(
                "SELECT p.rowid, CASE h.label WHEN 'A' THEN 0 WHEN 'B' THEN 1 ELSE 2 END, h.origin = 'import', "
                f"h.annotator FROM human_labels h JOIN pairs p USING (pair_id) {where} ORDER BY h.updated_at",
                params).fetchall()
            policy = self._policy_row(con, source)
        finally:
            con.close()
        votes = _numbers([r[:3] for r in rows], 3).astype(np.int64)
        return {"rowid": votes[:, 0], "code": votes[:, 1], "imported": votes[:, 2],
                "annotator": np.array([r[3] for r in rows], dtype=object), "policy": policy["policy"]}

    def label_origin_counts(self) -> dict[str, int]:
        """How many human labels came with imports and how many from spot-checks, over the whole store."""
        con = self._connect()
        try:
            return dict(con.execute("SELECT origin, COUNT(*) FROM human_labels GROUP BY origin").fetchall())
        finally:
            con.close()

    def set_consensus_policy(self, source: str, policy: str, *, set_by: str = "") -> None:
        """How the votes on ``source``'s pairs become one human label (``core.audit.consensus``); a
        change counts as a change of the source's labels, so every cached audit of it is read again."""
        with self.transaction() as con:
            con.execute("INSERT INTO consensus_policies VALUES (?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET "
                        "policy = excluded.policy, set_by = excluded.set_by, set_at = excluded.set_at",
                        (source, policy, set_by, time.time()))
            _changed(con, "human_labels", sources=[source])

    def consensus_policy(self, source: str) -> dict:
        """The source's consensus policy: ``policy``, ``set_by`` and ``set_at``; all None where nobody set one
        (``core.audit.consensus`` then applies its default)."""
        con = self._connect()
        try:
            return self._policy_row(con, source)
        finally:
            con.close()

    @staticmethod
    def _policy_row(con, source: str) -> dict:
        row = con.execute("SELECT policy, set_by, set_at FROM consensus_policies WHERE source = ?", (source,)).fetchone()
        return {"policy": row[0], "set_by": row[1], "set_at": row[2]} if row else \
            {"policy": None, "set_by": None, "set_at": None}
