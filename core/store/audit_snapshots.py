"""The audit snapshot of a source kept as a blob (``core/store/snapshot.py`` encodes it), rebuilt
when the source's pairs or verdicts change."""
from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from core.store.database import _numbers, _source_filter


class AuditSnapshots:
    """Per-source snapshots of pairs and verdicts as numbers."""

    def audit_snapshot(self, source: str) -> dict:
        """What the audit of one source reads of its pairs and verdicts (core/store/snapshot.py).

        ``pairs``: the source's pairs without their texts (pair_id, len_a, len_b, category), in
        ``audit_rows`` order, and ``rowid`` their SQLite rowids (``source_vote_codes`` keys the
        human votes by them). ``verdicts``: per judge, numpy arrays aligned with ``pairs``:
        ``code`` (0 A, 1 B, 2 TIE, 3 INVALID, -1 not judged), ``p_a``, ``p_a_ab``, ``p_a_ba`` (NaN
        where missing) and ``consistent`` (1, 0, NaN). ``costs``: per judge, its label count,
        usable (not INVALID) count and summed tokens_in, tokens_out and seconds.

        Read in one read transaction, so it all agrees. The store keeps the last snapshot of each
        source as a blob keyed by the source's pair and judgment versions: a reader finds it
        there until pairs or verdicts of that source change (labels do not enter it), and builds
        and keeps a new one otherwise. Building is fast at 100,000 pairs: the covering index
        ``pairs_audit`` gives the pairs without their texts, and one join reads every judge's
        verdicts as numbers.
        """
        from core.store import snapshot as snap

        where, params = _source_filter(source, alias="p.")
        con = self._connect()
        try:
            con.execute("BEGIN")  # a read snapshot: a writer committing meanwhile cannot misalign the arrays
            _, pairs_version, judgments_version, _ = self._source_version(con, source)
            kept = con.execute("SELECT data FROM audit_snapshots WHERE source = ? AND pairs = ? AND judgments = ?",
                               (source, pairs_version, judgments_version)).fetchone()
            if kept:
                con.execute("COMMIT")
                return snap.decode(kept[0])
            rows = con.execute(f"SELECT p.rowid, p.len_a, p.len_b, p.pair_id, p.category FROM pairs p {where} "
                               "ORDER BY p.created_at, p.pair_id", params).fetchall()
            judges = [j for (j,) in con.execute("SELECT judge FROM source_judges WHERE source = ? ORDER BY judge",
                                                (source,))]
            # all judges in one pass; every value a number (-1: missing) so that numpy reads them in one go
            which = "CASE j.judge " + " ".join(f"WHEN ? THEN {k}" for k in range(len(judges))) + " ELSE -1 END"
            judged = _numbers(con.execute(
                f"SELECT p.rowid, {which}, CASE j.verdict WHEN 'A' THEN 0 WHEN 'B' THEN 1 WHEN 'TIE' THEN 2 "
                "WHEN 'INVALID' THEN 3 ELSE -1 END, IFNULL(j.p_a, -1), IFNULL(j.p_a_ab, -1), IFNULL(j.p_a_ba, -1), "
                "IFNULL(j.consistent, -1), j.tokens_in, j.tokens_out, j.seconds "
                f"FROM pairs p JOIN judgments j USING (pair_id) {where}", [*judges, *params]), 10) if judges else \
                np.zeros((0, 10))
            con.execute("COMMIT")
        finally:
            con.close()
        built = snap.build(_numbers([r[:3] for r in rows], 3), [r[3:] for r in rows], judges, judged)
        with self.transaction() as con:
            con.execute("INSERT OR REPLACE INTO audit_snapshots VALUES (?, ?, ?, ?, ?)",
                        (source, pairs_version, judgments_version, snap.encode(built), time.time()))
        return built

    def clear_audit_snapshots(self) -> None:
        """Drop every kept audit snapshot (the next reader builds it again from the rows)."""
        with self.transaction() as con:
            con.execute("DELETE FROM audit_snapshots")

    def warm_audit_snapshots(self, sources: Sequence[str] | None = None) -> list[str]:
        """Build the audit snapshot of every source (or of ``sources``) whose kept one is missing or
        stale, so that the dashboard's first look finds it; return the sources built. The bulk
        writers (imports, the judge stage) call this when they finish."""
        names = self.source_names() if sources is None else list(sources)
        con = self._connect()
        try:
            fresh = {s for (s,) in con.execute(
                "SELECT a.source FROM audit_snapshots a JOIN source_versions v USING (source) "
                "WHERE a.pairs = v.pairs AND a.judgments = v.judgments")}
        finally:
            con.close()
        built = [s for s in names if s not in fresh]
        for source in built:
            self.audit_snapshot(source)
        return built
