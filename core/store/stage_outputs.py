"""What a run's stages write besides pairs and verdicts: prompts, responses, metrics, PPO rollouts
and the paths of artifacts (models, preference files, flags)."""
from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from core.schema import Response
from core.store.database import _where


class StageOutputs:
    """Prompts, responses, metrics, PPO samples and artifacts of runs."""

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

    def prompts_frame(self, run_id: str) -> pd.DataFrame:
        return self._frame("SELECT * FROM prompts WHERE run_id = ? ORDER BY round, prompt_id", (run_id,))

    def responses_frame(self, run_id: str) -> pd.DataFrame:
        return self._frame("SELECT * FROM responses WHERE run_id = ? ORDER BY round, prompt_id, response_id",
                           (run_id,))

    def metrics_frame(self, run_id: str, *, stage: str | None = None) -> pd.DataFrame:
        where, params = _where(run_id=run_id, stage=stage)
        return self._frame(f"SELECT round, stage, step, key, value, created_at FROM metrics {where} "
                           "ORDER BY round, stage, step", params)

    def ppo_samples_frame(self, run_id: str) -> pd.DataFrame:
        return self._frame("SELECT * FROM ppo_samples WHERE run_id = ? ORDER BY round, step, idx", (run_id,))
