"""Constitutions as numbered versions, the tuning / held-out split of a source's labelled pairs,
and which judge (and constitution version) judged each round of a run.

A version is never changed or deleted once written: the judge that read it is stored under a key
hashed from its text (``core/judges/identity.py``), so a version is a judge. Saving takes the next
number inside one write transaction (``BEGIN IMMEDIATE``), so two people saving at once both get a
version and neither overwrites the other. What counts as "the same text" (the fingerprint) and
what may be saved at all is decided in ``core/judges/constitutions.py``; this module keeps the rows.
"""
from __future__ import annotations

import time
from collections.abc import Iterable

import pandas as pd

PARTS = ("tuning", "heldout")


class DuplicateConstitution(ValueError):
    """A version whose text says what the latest version (or the one it was edited from) already says."""


class ConstitutionTables:
    """Constitution versions, pair splits and the judge of each run round."""

    def add_constitution_version(self, name: str, text: str, *, fingerprint: str, author: str, note: str,
                                 base_version: int | None = None) -> int:
        """Store ``text`` as the next version of ``name`` and return its number.

        Refused (DuplicateConstitution, nothing stored) when the latest version or ``base_version``
        has the same fingerprint: an edit that changes nothing the judge reads is not a version.
        """
        with self.transaction() as con:
            latest = con.execute("SELECT MAX(version) FROM constitution_versions WHERE name = ?", (name,)).fetchone()[0]
            same = con.execute("SELECT version FROM constitution_versions WHERE name = ? AND fingerprint = ? "
                               "AND version IN (?, ?) ORDER BY version DESC", (name, fingerprint, latest or 0,
                                                                               base_version or 0)).fetchone()
            if same:
                raise DuplicateConstitution(
                    f"not saved: {name}@{same[0]} already says this (the edit changes only whitespace or comments, "
                    "which the judge does not read)")
            version = (latest or 0) + 1
            con.execute("INSERT INTO constitution_versions VALUES (?,?,?,?,?,?,?,?)",
                        (name, version, text, fingerprint, author, note, base_version, time.time()))
        return version

    def constitution_versions(self, name: str | None = None) -> pd.DataFrame:
        """name, version, text, fingerprint, author, note, base_version, created_at; by name, then version."""
        sql = "SELECT * FROM constitution_versions"
        if name is None:
            return self._frame(sql + " ORDER BY name, version")
        return self._frame(sql + " WHERE name = ? ORDER BY version", (name,))

    def constitution_version(self, name: str, version: int) -> dict | None:
        df = self._frame("SELECT * FROM constitution_versions WHERE name = ? AND version = ?", (name, int(version)))
        return None if df.empty else df.iloc[0].to_dict()

    def constitution_names(self) -> list[str]:
        return self._frame("SELECT DISTINCT name FROM constitution_versions ORDER BY name")["name"].tolist()

    def constitutions_with_fingerprint(self, fingerprints: Iterable[str]) -> pd.DataFrame:
        """name, version, fingerprint of every version whose fingerprint is one of ``fingerprints``."""
        prints = list(dict.fromkeys(fingerprints))
        if not prints:
            return pd.DataFrame(columns=["name", "version", "fingerprint"])
        marks = ",".join("?" * len(prints))
        return self._frame(f"SELECT name, version, fingerprint FROM constitution_versions WHERE fingerprint IN "
                           f"({marks}) ORDER BY name, version", prints)

    # -- the tuning / held-out split of a source's labelled pairs -----------------------------------
    def pair_split(self, source: str) -> pd.DataFrame:
        """pair_id, part ('tuning' or 'heldout'), seed, created_at of every pair of ``source`` already split."""
        return self._frame("SELECT pair_id, part, seed, created_at FROM pair_splits WHERE source = ? "
                           "ORDER BY created_at, pair_id", (source,))

    def add_pair_split(self, source: str, parts: dict[str, str], *, seed: int) -> int:
        """Record the part of each pair not split yet; a pair already split keeps its part (a second
        writer at the same moment changes nothing). Returns how many pairs were added."""
        bad = {p for p in parts.values() if p not in PARTS}
        if bad:
            raise ValueError(f"a split part is one of {PARTS}, got {sorted(bad)}")
        now = time.time()
        with self.transaction() as con:
            before = con.total_changes
            con.executemany("INSERT OR IGNORE INTO pair_splits VALUES (?,?,?,?,?)",
                            [(source, pair_id, part, seed, now) for pair_id, part in parts.items()])
            return con.total_changes - before

    # -- which judge judged each round of a run ------------------------------------------------------
    def record_round_judge(self, run_id: str, round_: int, judge: str, constitution: str = "") -> None:
        with self.transaction() as con:
            con.execute("INSERT INTO run_judges VALUES (?,?,?,?,?) ON CONFLICT (run_id, round) DO UPDATE SET "
                        "judge = excluded.judge, constitution = excluded.constitution",
                        (run_id, int(round_), judge, constitution, time.time()))

    def round_judges(self, run_id: str | None = None) -> pd.DataFrame:
        """run_id, round, judge, constitution ('NAME@VERSION', '' when its text is no stored version)."""
        if run_id is None:
            return self._frame("SELECT run_id, round, judge, constitution FROM run_judges ORDER BY run_id, round")
        return self._frame("SELECT run_id, round, judge, constitution FROM run_judges WHERE run_id = ? "
                           "ORDER BY round", (run_id,))
