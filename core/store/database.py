"""The run store: one SQLite file in WAL mode that every stage writes as it goes.

All SQL of the project lives in this module, so moving to a server database is a one-file
change. Each write is one short transaction; a chunk of judgments or an import is one
transaction, so a killed process leaves whole chunks or nothing. Rows are keyed so that
writing the same thing twice updates it instead of doubling it.
"""
from __future__ import annotations

import contextlib
import enum
import itertools
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from core.schema import Judgment, OrderReading, Preference, Response, ResponsePair


def default_store_path() -> Path:
    """$RLAIF_AUDIT_STORE, or .rlaif/store.sqlite under the current folder (CLI and dashboard share it)."""
    return Path(os.environ.get("RLAIF_AUDIT_STORE", ".rlaif/store.sqlite"))


class RunStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def is_finished(self) -> bool:
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


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
    updated_at REAL NOT NULL, PRIMARY KEY (pair_id, annotator)
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


_RUN_FIELDS = {"status", "stage", "round", "progress", "message", "error", "pid"}


class Store:
    """A run store on one SQLite file. Cheap to create; opens a connection per transaction."""

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

    # -- runs -------------------------------------------------------------------------
    def create_run(self, config: dict, name: str = "run") -> str:
        run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        now = time.time()
        with self.transaction() as con:
            con.execute(
                "INSERT INTO runs (run_id, name, status, config_json, created_at, updated_at) VALUES (?,?,?,?,?,?)",
                (run_id, name, RunStatus.QUEUED.value, json.dumps(config), now, now),
            )
        return run_id

    def update_run(self, run_id: str, **fields) -> None:
        unknown = set(fields) - _RUN_FIELDS
        if unknown:
            raise ValueError(f"unknown run fields: {sorted(unknown)}")
        if isinstance(fields.get("status"), RunStatus):
            fields["status"] = fields["status"].value
        now = time.time()
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.transaction() as con:
            con.execute(f"UPDATE runs SET {sets}, updated_at = ?, heartbeat_at = ? WHERE run_id = ?",
                        (*fields.values(), now, now, run_id))

    def heartbeat(self, run_id: str) -> None:
        with self.transaction() as con:
            con.execute("UPDATE runs SET heartbeat_at = ? WHERE run_id = ?", (time.time(), run_id))

    def request_cancel(self, run_id: str) -> None:
        with self.transaction() as con:
            con.execute("UPDATE runs SET cancel_requested = 1 WHERE run_id = ?", (run_id,))

    def clear_cancel(self, run_id: str) -> None:
        with self.transaction() as con:
            con.execute("UPDATE runs SET cancel_requested = 0 WHERE run_id = ?", (run_id,))

    def get_run(self, run_id: str) -> dict:
        df = self._frame("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        if df.empty:
            raise KeyError(f"no run {run_id!r} in {self.path}")
        row = df.iloc[0].to_dict()
        row["config"] = json.loads(row.pop("config_json"))
        return row

    def list_runs(self) -> pd.DataFrame:
        """Every run, newest first; ``kind`` is 'judge' for a judge job (core/runs/judge_jobs.py), else 'train'."""
        return self._frame("SELECT run_id, name, status, stage, round, progress, message, error, cancel_requested, "
                           "pid, created_at, updated_at, heartbeat_at, "
                           "COALESCE(json_extract(config_json, '$.kind'), 'train') AS kind "
                           "FROM runs ORDER BY created_at DESC")

    def delete_run(self, run_id: str) -> dict[str, int]:
        """Delete a run and everything it wrote (its pairs' judgments and human labels too), in one
        transaction; return the rows deleted per table. The run folder is ``worker.delete_run``'s."""
        of_pairs = "pair_id IN (SELECT pair_id FROM pairs WHERE run_id = ?)"
        statements = [
            ("judgments", f"DELETE FROM judgments WHERE {of_pairs}"),
            ("human_labels", f"DELETE FROM human_labels WHERE {of_pairs}"),
            ("pair_placements", f"DELETE FROM pair_placements WHERE {of_pairs}"),
            ("spot_check_draws", "DELETE FROM spot_check_draws WHERE source = 'run:' || ?"),
            ("source_judges", "DELETE FROM source_judges WHERE source = 'run:' || ?"),
            ("audit_snapshots", "DELETE FROM audit_snapshots WHERE source = 'run:' || ?"),
            *[(t, f"DELETE FROM {t} WHERE run_id = ?")
              for t in ("pairs", "prompts", "responses", "metrics", "ppo_samples", "artifacts", "runs")],
            ("source_versions", "DELETE FROM source_versions WHERE source = 'run:' || ?"),
        ]
        with self.transaction() as con:
            deleted = {table: con.execute(sql, (run_id,)).rowcount for table, sql in statements}
            for table in _VERSIONED:
                if deleted[table]:
                    _changed(con, table)
            return deleted

    def integrity_check(self) -> str:
        """SQLite's own check of the file: 'ok', or what is broken."""
        con = self._connect()
        try:
            return "; ".join(row[0] for row in con.execute("PRAGMA integrity_check"))
        finally:
            con.close()

    # -- stage outputs ----------------------------------------------------------------
    def add_prompts(self, run_id: str, round_: int, prompts: Iterable) -> None:
        with self.transaction() as con:
            con.executemany(
                "INSERT OR REPLACE INTO prompts VALUES (?,?,?,?,?,?)",
                [(run_id, round_, p.prompt_id, p.text, p.category, p.cluster) for p in prompts],
            )

    def add_responses(self, run_id: str, responses: Iterable[Response]) -> None:
        with self.transaction() as con:
            con.executemany(
                "INSERT OR REPLACE INTO responses VALUES (?,?,?,?,?,?,?,?)",
                [(r.response_id, run_id, r.round, r.prompt_id, r.text, r.n_tokens, r.n_chars, r.model)
                 for r in responses],
            )

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
                "INSERT INTO human_labels VALUES (?,?,?,?,?) ON CONFLICT (pair_id, annotator) "
                "DO UPDATE SET label = excluded.label, updated_at = excluded.updated_at",
                [(pid, who, Preference.parse(label).value, now, now) for pid, who, label in labels])
            if labels:
                _changed(con, "human_labels", pair_ids=[pid for pid, _, _ in labels])
            self._replace_judgments(con, judgments, now)
        self.warm_audit_snapshots([f"dataset:{dataset}"])

    def judged_pair_ids(self, judge: str, pair_ids: Sequence[str]) -> set[str]:
        df = self._frame("SELECT pair_id FROM judgments WHERE judge = ?", (judge,))
        return set(df["pair_id"]) & set(pair_ids)

    def set_human_label(self, pair_id: str, annotator: str, label: Preference | str) -> None:
        """Record one annotator's label; labelling the same pair again updates it."""
        label = Preference.parse(label)
        if label is Preference.INVALID or not annotator.strip():
            raise ValueError(f"a human label needs an annotator and a, b or tie; got {annotator!r}, {label.value}")
        now = time.time()
        with self.transaction() as con:
            con.execute(
                "INSERT INTO human_labels VALUES (?,?,?,?,?) ON CONFLICT (pair_id, annotator) "
                "DO UPDATE SET label = excluded.label, updated_at = excluded.updated_at",
                (pair_id, annotator.strip(), label.value, now, now),
            )
            _changed(con, "human_labels", pair_ids=[pair_id])

    def delete_human_label(self, pair_id: str, annotator: str) -> None:
        with self.transaction() as con:
            if con.execute("DELETE FROM human_labels WHERE pair_id = ? AND annotator = ?", (pair_id, annotator)).rowcount:
                _changed(con, "human_labels", pair_ids=[pair_id])

    def add_metrics(self, run_id: str, round_: int, stage: str, step: int, values: dict) -> None:
        now = time.time()
        rows = [(run_id, round_, stage, int(step), k, float(v), now)
                for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        with self.transaction() as con:
            con.executemany("INSERT OR REPLACE INTO metrics VALUES (?,?,?,?,?,?,?)", rows)

    def add_ppo_samples(self, run_id: str, round_: int, step: int, samples: Sequence[dict]) -> None:
        with self.transaction() as con:
            con.executemany(
                "INSERT OR REPLACE INTO ppo_samples VALUES (?,?,?,?,?,?,?,?,?)",
                [(run_id, round_, step, i, s["prompt"], s["response"], s["score"], s["n_tokens"], s["n_chars"])
                 for i, s in enumerate(samples)],
            )

    def set_artifact(self, run_id: str, round_: int, kind: str, path: str | Path) -> None:
        with self.transaction() as con:
            con.execute("INSERT OR REPLACE INTO artifacts VALUES (?,?,?,?,?)",
                        (run_id, round_, kind, str(path), time.time()))

    def get_artifact(self, run_id: str, round_: int, kind: str) -> str | None:
        df = self._frame("SELECT path FROM artifacts WHERE run_id = ? AND round = ? AND kind = ?",
                         (run_id, round_, kind))
        return None if df.empty else str(df.iloc[0]["path"])

    def artifact_paths(self, run_id: str, kind: str) -> dict[int, str]:
        """{round: path} of one kind of artifact over every round of a run, rounds in order."""
        df = self._frame("SELECT round, path FROM artifacts WHERE run_id = ? AND kind = ? ORDER BY round",
                         (run_id, kind))
        return {int(r): str(p) for r, p in zip(df["round"], df["path"])}

    # -- frames for the audit and the dashboard ----------------------------------------
    def prompts_frame(self, run_id: str) -> pd.DataFrame:
        return self._frame("SELECT * FROM prompts WHERE run_id = ? ORDER BY round, prompt_id", (run_id,))

    def responses_frame(self, run_id: str) -> pd.DataFrame:
        return self._frame("SELECT * FROM responses WHERE run_id = ? ORDER BY round, prompt_id, response_id",
                           (run_id,))

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

    def human_labels_frame(self, *, pair_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Every human label (of ``pair_ids`` only, when given: read in SQL, not filtered after), oldest first."""
        if pair_ids is None:
            return self._frame("SELECT * FROM human_labels ORDER BY updated_at")
        return self._frame("SELECT * FROM human_labels WHERE pair_id IN (SELECT value FROM json_each(?)) "
                           "ORDER BY updated_at", (json.dumps(list(pair_ids)),))

    def metrics_frame(self, run_id: str, *, stage: str | None = None) -> pd.DataFrame:
        where, params = _where(run_id=run_id, stage=stage)
        return self._frame(f"SELECT round, stage, step, key, value, created_at FROM metrics {where} "
                           "ORDER BY round, stage, step", params)

    def ppo_samples_frame(self, run_id: str) -> pd.DataFrame:
        return self._frame("SELECT * FROM ppo_samples WHERE run_id = ? ORDER BY round, step, idx", (run_id,))

    def pair_sources(self) -> pd.DataFrame:
        """Every dataset and run that holds pairs, with pair and human-label counts."""
        return self._frame(
            "SELECT CASE WHEN run_id IS NULL THEN 'dataset:' || dataset ELSE 'run:' || run_id END AS source, "
            "COUNT(*) AS n_pairs, SUM(EXISTS (SELECT 1 FROM human_labels h WHERE h.pair_id = p.pair_id)) "
            "AS n_labelled, MIN(created_at) AS created_at FROM pairs p GROUP BY source ORDER BY created_at")

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

    def source_human_labels(self, source: str) -> pd.DataFrame:
        where, params = _source_filter(source, alias="p.")
        return self._frame("SELECT h.* FROM human_labels h JOIN pairs p USING (pair_id) "
                           f"{where} ORDER BY h.updated_at", params)

    def source_placements(self, source: str) -> pd.DataFrame:
        """Where imports from chosen/rejected sources put the chosen response: pair_id, chosen_side, seed."""
        where, params = _source_filter(source, alias="p.")
        return self._frame("SELECT s.pair_id, s.chosen_side, s.seed FROM pair_placements s "
                           f"JOIN pairs p USING (pair_id) {where} ORDER BY p.created_at, s.pair_id", params)

    def get_pairs(self, pair_ids: Sequence[str]) -> pd.DataFrame:
        marks = ",".join("?" * len(pair_ids))
        return self._frame(f"SELECT * FROM pairs WHERE pair_id IN ({marks})", list(pair_ids))

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

    def pair_judgments(self, pair_id: str) -> pd.DataFrame:
        df = self._frame("SELECT judge, verdict, p_a, p_a_ab, p_a_ba, consistent FROM judgments WHERE pair_id = ? "
                         "ORDER BY judge", (pair_id,))
        df["consistent"] = df["consistent"].map({1: True, 0: False}).astype(object)
        return df

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

    def source_judges(self, source: str) -> list[str]:
        """The judges that judged any pair of one source (recorded as they write: no scan of the judgments)."""
        con = self._connect()
        try:
            return [j for (j,) in con.execute("SELECT judge FROM source_judges WHERE source = ? ORDER BY judge",
                                              (source,))]
        finally:
            con.close()

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

    def source_vote_codes(self, source: str) -> dict[str, np.ndarray]:
        """Every human vote on one source's pairs as numbers, oldest update first: the pair's
        ``rowid`` and ``code`` (0 A, 1 B, 2 TIE). Read apart from ``audit_snapshot`` so that a new
        label costs only this."""
        where, params = _source_filter(source, alias="p.")
        con = self._connect()
        try:
            votes = _numbers(con.execute(
                "SELECT p.rowid, CASE h.label WHEN 'A' THEN 0 WHEN 'B' THEN 1 ELSE 2 END FROM human_labels h "
                f"JOIN pairs p USING (pair_id) {where} ORDER BY h.updated_at", params), 2).astype(np.int64)
        finally:
            con.close()
        return {"rowid": votes[:, 0], "code": votes[:, 1]}

    def counts(self, run_id: str) -> dict[str, int]:
        """Rows per table for one run: what each stage has written so far."""
        con = self._connect()
        try:
            out = {t: con.execute(f"SELECT COUNT(*) FROM {t} WHERE run_id = ?", (run_id,)).fetchone()[0]
                   for t in ("prompts", "responses", "pairs", "metrics", "ppo_samples", "artifacts")}
            out["judgments"] = con.execute("SELECT COUNT(*) FROM judgments JOIN pairs USING (pair_id) "
                                           "WHERE run_id = ?", (run_id,)).fetchone()[0]
        finally:
            con.close()
        return out

    # -- judge cache --
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
