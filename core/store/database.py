"""The database under the store: the SQLite file in WAL mode, its tables, short transactions, and
the change counters every write bumps. The tables' reads and writes are in the sibling modules
(``runs``, ``stage_outputs``, ``pairs``, ``sources``, ``labels``, ``audit_snapshots``, ``judges``,
``constitutions``),
composed into ``core.store.Store``.

All SQL of the project lives in this folder, so moving to a server database is a change here
only. Each write is one short transaction; a chunk of judgments or an import is one transaction,
so a killed process leaves whole chunks or nothing. Rows are keyed so that writing the same thing
twice updates it instead of doubling it.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd


def default_store_path() -> Path:
    """$RLAIF_AUDIT_STORE, or .rlaif/store.sqlite under the current folder (CLI and dashboard share it)."""
    return Path(os.environ.get("RLAIF_AUDIT_STORE", ".rlaif/store.sqlite"))


_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, stage TEXT NOT NULL DEFAULT '',
    round INTEGER NOT NULL DEFAULT 0, progress REAL NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT '',
    config_json TEXT NOT NULL, error TEXT NOT NULL DEFAULT '', cancel_requested INTEGER NOT NULL DEFAULT 0,
    pid INTEGER, created_at REAL NOT NULL, updated_at REAL NOT NULL, heartbeat_at REAL
);
CREATE TABLE IF NOT EXISTS prompts (
    run_id TEXT NOT NULL, round INTEGER NOT NULL, prompt_id TEXT NOT NULL, text TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT '', cluster INTEGER NOT NULL DEFAULT -1,
    PRIMARY KEY (run_id, round, prompt_id)
);
CREATE TABLE IF NOT EXISTS responses (
    response_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, round INTEGER NOT NULL, prompt_id TEXT NOT NULL,
    text TEXT NOT NULL, n_tokens INTEGER NOT NULL, n_chars INTEGER NOT NULL, model TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS pairs (
    pair_id TEXT PRIMARY KEY, run_id TEXT, dataset TEXT NOT NULL DEFAULT '', round INTEGER NOT NULL DEFAULT 0,
    prompt_id TEXT NOT NULL DEFAULT '', prompt TEXT NOT NULL, response_a TEXT NOT NULL, response_b TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT '', model_a TEXT NOT NULL DEFAULT '', model_b TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL, len_a INTEGER NOT NULL DEFAULT 0, len_b INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS pairs_run ON pairs (run_id, round);
CREATE INDEX IF NOT EXISTS pairs_dataset ON pairs (dataset);
CREATE TABLE IF NOT EXISTS judgments (
    pair_id TEXT NOT NULL, judge TEXT NOT NULL, verdict TEXT NOT NULL, p_a REAL, p_a_ab REAL, p_a_ba REAL,
    consistent INTEGER, raw_ab TEXT NOT NULL DEFAULT '', raw_ba TEXT NOT NULL DEFAULT '',
    tokens_in INTEGER NOT NULL DEFAULT 0, tokens_out INTEGER NOT NULL DEFAULT 0, seconds REAL NOT NULL DEFAULT 0,
    created_at REAL NOT NULL, PRIMARY KEY (pair_id, judge)
);
CREATE TABLE IF NOT EXISTS human_labels (
    pair_id TEXT NOT NULL, annotator TEXT NOT NULL, label TEXT NOT NULL, created_at REAL NOT NULL,
    updated_at REAL NOT NULL, origin TEXT NOT NULL DEFAULT 'spot-check', PRIMARY KEY (pair_id, annotator)
);
CREATE TABLE IF NOT EXISTS consensus_policies (
    source TEXT PRIMARY KEY, policy TEXT NOT NULL, set_by TEXT NOT NULL DEFAULT '', set_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL, round INTEGER NOT NULL, stage TEXT NOT NULL, step INTEGER NOT NULL,
    key TEXT NOT NULL, value REAL, created_at REAL NOT NULL, PRIMARY KEY (run_id, round, stage, step, key)
);
CREATE TABLE IF NOT EXISTS ppo_samples (
    run_id TEXT NOT NULL, round INTEGER NOT NULL, step INTEGER NOT NULL, idx INTEGER NOT NULL,
    prompt TEXT NOT NULL, response TEXT NOT NULL, score REAL, n_tokens INTEGER NOT NULL, n_chars INTEGER NOT NULL,
    PRIMARY KEY (run_id, round, step, idx)
);
CREATE TABLE IF NOT EXISTS spot_check_draws (
    source TEXT NOT NULL, judge TEXT NOT NULL, batch INTEGER NOT NULL, pair_id TEXT NOT NULL, stratum TEXT NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY (source, judge, batch, pair_id)
);
CREATE TABLE IF NOT EXISTS artifacts (
    run_id TEXT NOT NULL, round INTEGER NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY (run_id, round, kind)
);
CREATE TABLE IF NOT EXISTS pair_placements (
    pair_id TEXT PRIMARY KEY, chosen_side TEXT NOT NULL, seed INTEGER, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS judge_cache (
    definition TEXT NOT NULL, item_key TEXT NOT NULL, p_first REAL, raw TEXT NOT NULL DEFAULT '',
    tokens_in INTEGER NOT NULL DEFAULT 0, tokens_out INTEGER NOT NULL DEFAULT 0, seconds REAL NOT NULL DEFAULT 0,
    created_at REAL NOT NULL, PRIMARY KEY (definition, item_key)
);
"""

# What the audit reads, kept small and fast at 100,000 pairs: a covering index that gives a
# source's pairs in order without touching their texts (and the pair_id lookup for joins), an
# index by judge, the judges of each source, and change counters (per table and per source) that
# every write bumps (``_changed``), so that the dashboard's cache key is one tiny read instead of
# COUNT(*) over every table, and the last audit snapshot of each source, kept as a blob.
_VERSIONED = ("pairs", "judgments", "human_labels")
_SOURCE_OF = "CASE WHEN {row}.run_id IS NULL THEN 'dataset:' || {row}.dataset ELSE 'run:' || {row}.run_id END"
_AUDIT_SCHEMA = """
CREATE INDEX IF NOT EXISTS pairs_audit ON pairs
    (run_id, dataset, created_at, pair_id, len_a, len_b, category, model_a, model_b);
CREATE INDEX IF NOT EXISTS judgments_judge ON judgments (judge);
CREATE TABLE IF NOT EXISTS data_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 0);
INSERT OR IGNORE INTO data_versions VALUES ('store', abs(random()));
CREATE TABLE IF NOT EXISTS source_judges (source TEXT NOT NULL, judge TEXT NOT NULL, PRIMARY KEY (source, judge));
CREATE TABLE IF NOT EXISTS source_versions (source TEXT PRIMARY KEY, pairs INTEGER NOT NULL DEFAULT 0,
    judgments INTEGER NOT NULL DEFAULT 0, human_labels INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS audit_snapshots (source TEXT PRIMARY KEY, pairs INTEGER NOT NULL, judgments INTEGER NOT NULL,
    data BLOB NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS judge_definitions (judge TEXT PRIMARY KEY, name TEXT NOT NULL, digest TEXT NOT NULL,
    definition TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS constitution_versions (name TEXT NOT NULL, version INTEGER NOT NULL, text TEXT NOT NULL,
    fingerprint TEXT NOT NULL, author TEXT NOT NULL, note TEXT NOT NULL, base_version INTEGER,
    created_at REAL NOT NULL, PRIMARY KEY (name, version));
CREATE INDEX IF NOT EXISTS constitution_fingerprints ON constitution_versions (fingerprint);
CREATE TABLE IF NOT EXISTS pair_splits (source TEXT NOT NULL, pair_id TEXT NOT NULL,
    part TEXT NOT NULL CHECK (part IN ('tuning', 'heldout')), seed INTEGER NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (source, pair_id));
CREATE TABLE IF NOT EXISTS run_judges (run_id TEXT NOT NULL, round INTEGER NOT NULL, judge TEXT NOT NULL,
    constitution TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL, PRIMARY KEY (run_id, round));
""" + "".join(f"INSERT OR IGNORE INTO data_versions (name) VALUES ('{table}');\n" for table in _VERSIONED)


def _changed(con: sqlite3.Connection, table: str, *, sources: Iterable[str] = (),
             pair_ids: Sequence[str] | None = None, judges: Iterable[str] = ()) -> None:
    """Count one change of ``table`` (pairs, judgments or human_labels): in ``data_versions``, and in
    ``source_versions`` for ``sources`` and for the sources holding ``pair_ids``; record ``judges``
    as judges of those sources. Every write to those three tables calls it in its transaction:
    set-based, once per write, because per-row triggers made a 100,000-pair import 3x slower."""
    con.execute("UPDATE data_versions SET version = version + 1 WHERE name = ?", (table,))
    bump = f"ON CONFLICT (source) DO UPDATE SET {table} = {table} + 1"
    for source in dict.fromkeys(sources):
        con.execute(f"INSERT INTO source_versions (source, {table}) VALUES (?, 1) {bump}", (source,))
    if pair_ids:
        of_pairs = ("FROM pairs p WHERE p.pair_id IN (SELECT value FROM json_each(?))", json.dumps(list(pair_ids)))
        con.execute(f"INSERT INTO source_versions (source, {table}) SELECT DISTINCT {_SOURCE_OF.format(row='p')}, 1 "
                    f"{of_pairs[0]} {bump}", (of_pairs[1],))
        for judge in dict.fromkeys(judges):
            con.execute(f"INSERT OR IGNORE INTO source_judges SELECT DISTINCT {_SOURCE_OF.format(row='p')}, ? "
                        f"{of_pairs[0]}", (judge, of_pairs[1]))


class Database:
    """One SQLite file. Cheap to create; opens a connection per transaction."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
            if "len_a" not in {row[1] for row in con.execute("PRAGMA table_info(pairs)")}:
                # a store from before the lengths were kept: add and fill them once
                con.executescript("ALTER TABLE pairs ADD COLUMN len_a INTEGER NOT NULL DEFAULT 0; "
                                  "ALTER TABLE pairs ADD COLUMN len_b INTEGER NOT NULL DEFAULT 0; "
                                  "UPDATE pairs SET len_a = length(response_a), len_b = length(response_b);")
            if "origin" not in {row[1] for row in con.execute("PRAGMA table_info(human_labels)")}:
                # a store from before labels kept their origin: an import wrote its labels in the same
                # transaction as its pairs, with the same time, which no spot-check can share
                con.executescript("ALTER TABLE human_labels ADD COLUMN origin TEXT NOT NULL DEFAULT 'spot-check'; "
                                  "UPDATE human_labels SET origin = 'import' WHERE created_at = "
                                  "(SELECT p.created_at FROM pairs p WHERE p.pair_id = human_labels.pair_id);")
            older = not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'source_judges'").fetchone()
            con.executescript(_AUDIT_SCHEMA)
            if older:  # a store from before the table: record once which judge judged which source
                con.execute("INSERT OR IGNORE INTO source_judges SELECT DISTINCT CASE WHEN p.run_id IS NULL THEN "
                            "'dataset:' || p.dataset ELSE 'run:' || p.run_id END, j.judge "
                            "FROM judgments j JOIN pairs p USING (pair_id)")

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        con.execute("PRAGMA busy_timeout=30000")
        con.execute("PRAGMA synchronous=NORMAL")
        return con

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction: all of it lands, or none of it."""
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            yield con
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    def _frame(self, sql: str, params: Sequence = ()) -> pd.DataFrame:
        con = self._connect()
        try:
            return pd.read_sql_query(sql, con, params=list(params))
        finally:
            con.close()

    def integrity_check(self) -> str:
        """SQLite's own check of the file: 'ok', or what is broken."""
        con = self._connect()
        try:
            return "; ".join(row[0] for row in con.execute("PRAGMA integrity_check"))
        finally:
            con.close()

    def data_version(self) -> tuple:
        """Changes whenever pairs, judgments or labels change: a cache key for the dashboard.

        (store, pairs, judgments, human_labels): a random number drawn when the file was made
        (two stores with the same counts never share a key), then change counters that every
        write bumps (``_changed``), so reading it costs the same at 100 pairs and at 100,000.
        """
        con = self._connect()
        try:
            versions = dict(con.execute("SELECT name, version FROM data_versions").fetchall())
        finally:
            con.close()
        return tuple(versions.get(name, 0) for name in ("store", *_VERSIONED))

    def source_version(self, source: str) -> tuple:
        """(store, pairs, judgments, human_labels) change counters of one source: a cache key that
        a run writing elsewhere leaves alone. Bumped by every write, like ``data_version``."""
        con = self._connect()
        try:
            return self._source_version(con, source)
        finally:
            con.close()

    @staticmethod
    def _source_version(con: sqlite3.Connection, source: str) -> tuple:
        store = con.execute("SELECT version FROM data_versions WHERE name = 'store'").fetchone()
        row = con.execute("SELECT pairs, judgments, human_labels FROM source_versions WHERE source = ?",
                          (source,)).fetchone()
        return (store[0] if store else 0, *(row or (0, 0, 0)))


def _numbers(rows: Iterable[tuple], width: int) -> np.ndarray:
    """Rows of numbers (no None) as a float array of shape (n, width), read in one C loop."""
    rows = rows if isinstance(rows, list) else rows.fetchall()
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.float64, count=len(rows) * width)
    return flat.reshape(len(rows), width)


def _source_filter(source: str, alias: str = "") -> tuple[str, list]:
    kind, _, name = source.partition(":")
    if kind == "run":
        return f"WHERE {alias}run_id = ?", [name]
    if kind == "dataset":
        return f"WHERE {alias}run_id IS NULL AND {alias}dataset = ?", [name]
    raise ValueError(f"a pair source is 'run:<id>' or 'dataset:<name>', got {source!r}")


def _where(**filters) -> tuple[str, list]:
    parts = [(k, v) for k, v in filters.items() if v is not None]
    if not parts:
        return "", []
    return "WHERE " + " AND ".join(f"{k} = ?" for k, _ in parts), [v for _, v in parts]
