"""The runs table: a run's row (status, stage, progress, heartbeat, cancel flag, resolved config),
what it wrote, and deleting it."""
from __future__ import annotations

import enum
import json
import time
import uuid

import pandas as pd

from core.store.database import _VERSIONED, _changed


class RunStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def is_finished(self) -> bool:
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class RunCancelled(Exception):
    """The run's cancel flag was set; the worker stops at the next safe point."""


_RUN_FIELDS = {"status", "stage", "round", "progress", "message", "error", "pid"}


class RunsTable:
    """Rows of the runs table (``kind`` 'judge' for a judge job, else 'train')."""

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

    def raise_if_cancelled(self, run_id: str) -> None:
        """RunCancelled when someone asked to cancel ``run_id``: workers call it at each safe point."""
        if run_id and self.get_run(run_id)["cancel_requested"]:
            raise RunCancelled(run_id)

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
                           "COALESCE(json_extract(config_json, '$.kind'), 'train') AS kind, "
                           "COALESCE(json_extract(config_json, '$.rounds'), 1) AS rounds, "
                           "COALESCE(json_extract(config_json, '$.reward.rlhf_arm'), 0) AS rlhf_arm "
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
            ("pair_splits", "DELETE FROM pair_splits WHERE source = 'run:' || ?"),
            ("run_judges", "DELETE FROM run_judges WHERE run_id = ?"),
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
