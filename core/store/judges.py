"""What each judge key stands for, and the answers an API judge already paid for."""
from __future__ import annotations

import json
import time
from collections.abc import Sequence

import pandas as pd

from core.schema import OrderReading
from core.store.database import _where


class JudgeTables:
    """Judge definitions and the API judge's answer cache."""

    def save_judge_definition(self, judge: str, name: str, digest: str, definition: str) -> None:
        """What a judge key stands for (``core/judges/identity.py``); the first record of a key stays."""
        with self.transaction() as con:
            con.execute("INSERT OR IGNORE INTO judge_definitions VALUES (?, ?, ?, ?, ?)",
                        (judge, name, digest, definition, time.time()))

    def judge_definitions(self, judges: Sequence[str] | None = None) -> pd.DataFrame:
        """judge, name, digest, definition (JSON text), created_at; judged before definitions were
        stored (or by a judge built outside ``make_judge``): no row."""
        sql = "SELECT judge, name, digest, definition, created_at FROM judge_definitions"
        if judges is None:
            return self._frame(sql + " ORDER BY judge")
        return self._frame(sql + " WHERE judge IN (SELECT value FROM json_each(?)) ORDER BY judge",
                           (json.dumps(list(judges)),))

    # Readings an API judge already paid for, keyed by a hash of the judge definition and one
    # of the item in the order shown (core/judges/cache.py makes both; no secret is in them).
    def cached_readings(self, definition: str, item_keys: Sequence[str]) -> dict[str, OrderReading]:
        keys, found = list(dict.fromkeys(item_keys)), {}
        con = self._connect()
        try:
            for start in range(0, len(keys), 500):  # stay under SQLite's bound-variable limit
                part = keys[start:start + 500]
                rows = con.execute(
                    "SELECT item_key, p_first, raw, tokens_in, tokens_out, seconds FROM judge_cache "
                    f"WHERE definition = ? AND item_key IN ({','.join('?' * len(part))})", (definition, *part),
                ).fetchall()
                found.update({k: OrderReading(p, raw, t_in, t_out, secs) for k, p, raw, t_in, t_out, secs in rows})
        finally:
            con.close()
        return found

    def add_cached_reading(self, definition: str, item_key: str, reading: OrderReading) -> None:
        """One short transaction per reading, so a crash loses no answer already paid for."""
        with self.transaction() as con:
            con.execute("INSERT OR REPLACE INTO judge_cache VALUES (?,?,?,?,?,?,?,?)",
                        (definition, item_key, reading.p_first, reading.raw, reading.tokens_in,
                         reading.tokens_out, reading.seconds, time.time()))

    def cached_reading_count(self, definition: str | None = None) -> int:
        where, params = _where(definition=definition)
        return int(self._frame(f"SELECT COUNT(*) AS n FROM judge_cache {where}", params)["n"].iloc[0])
