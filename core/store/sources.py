"""Reads by pair source: ``dataset:<name>`` (imported pairs) or ``run:<id>`` (pairs a run made)."""
from __future__ import annotations

import pandas as pd

from core.store.database import _source_filter


class SourceReads:
    """What the audit and the pages read of one source, texts left out unless asked for."""

    def pair_sources(self) -> pd.DataFrame:
        """Every dataset and run that holds pairs, with pair and human-label counts."""
        return self._frame(
            "SELECT CASE WHEN run_id IS NULL THEN 'dataset:' || dataset ELSE 'run:' || run_id END AS source, "
            "COUNT(*) AS n_pairs, SUM(EXISTS (SELECT 1 FROM human_labels h WHERE h.pair_id = p.pair_id)) "
            "AS n_labelled, MIN(created_at) AS created_at FROM pairs p GROUP BY source ORDER BY created_at")

    def source_names(self) -> list[str]:
        """Every pair source ('dataset:<name>', 'run:<id>'), oldest first: pair_sources without the counts."""
        con = self._connect()
        try:
            rows = con.execute(
                "SELECT CASE WHEN run_id IS NULL THEN 'dataset:' || dataset ELSE 'run:' || run_id END, "
                "MIN(created_at) AS first FROM pairs GROUP BY run_id, dataset ORDER BY first").fetchall()
        finally:
            con.close()
        return [name for name, _ in rows]

    def source_pairs_frame(self, source: str) -> pd.DataFrame:
        """Every pair of one source with its texts, in ``audit_rows`` order (empty when it has none)."""
        where, params = _source_filter(source)
        df = self._frame(f"SELECT * FROM pairs {where} ORDER BY created_at, pair_id", params)
        df["len_a"] = df["response_a"].str.len()
        df["len_b"] = df["response_b"].str.len()
        return df

    def audit_rows(self, source: str) -> pd.DataFrame:
        """Pairs of one source without their texts (lengths stored at insert): fast at 100k pairs."""
        where, params = _source_filter(source)
        return self._frame(
            "SELECT pair_id, len_a, len_b, category, model_a, model_b "
            f"FROM pairs {where} ORDER BY created_at, pair_id", params)

    def source_judgments(self, source: str, judge: str | None = None) -> pd.DataFrame:
        """The judgments of one source's pairs (of one judge, if given), raw texts left out."""
        where, params = _source_filter(source, alias="p.")
        if judge is not None:
            where, params = f"{where} AND j.judge = ?", [*params, judge]
        df = self._frame("SELECT j.pair_id, j.judge, j.verdict, j.p_a, j.p_a_ab, j.p_a_ba, j.consistent, "
                         f"j.tokens_in, j.tokens_out, j.seconds FROM pairs p JOIN judgments j USING (pair_id) {where}",
                         params)
        df["consistent"] = df["consistent"].map({1: True, 0: False}).astype(object)
        return df

    def judgment_cost_totals(self, source: str) -> pd.DataFrame:
        """What one source's judgments cost, summed per judge in SQL: judge, n_labels, n_usable
        (not INVALID), tokens_in, tokens_out, seconds. One row per judge, whatever the pair count."""
        where, params = _source_filter(source, alias="p.")
        return self._frame("SELECT j.judge, COUNT(*) AS n_labels, SUM(j.verdict != 'INVALID') AS n_usable, "
                           "SUM(j.tokens_in) AS tokens_in, SUM(j.tokens_out) AS tokens_out, SUM(j.seconds) AS seconds "
                           f"FROM pairs p JOIN judgments j USING (pair_id) {where} GROUP BY j.judge ORDER BY j.judge",
                           params)

    def source_placements(self, source: str) -> pd.DataFrame:
        """Where imports from chosen/rejected sources put the chosen response: pair_id, chosen_side, seed."""
        where, params = _source_filter(source, alias="p.")
        return self._frame("SELECT s.pair_id, s.chosen_side, s.seed FROM pair_placements s "
                           f"JOIN pairs p USING (pair_id) {where} ORDER BY p.created_at, s.pair_id", params)

    def source_judges(self, source: str) -> list[str]:
        """The judges that judged any pair of one source (recorded as they write: no scan of the judgments)."""
        con = self._connect()
        try:
            return [j for (j,) in con.execute("SELECT judge FROM source_judges WHERE source = ? ORDER BY judge",
                                              (source,))]
        finally:
            con.close()
