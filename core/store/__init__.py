"""The run store: every table the project keeps, in one SQLite file; all SQL lives in this folder.

``Store`` is one object over the file, made of one part per group of tables, so that a reader
finds a table's SQL by its name: ``runs`` (a run's row), ``stage_outputs`` (prompts, responses,
metrics, rollouts, artifacts), ``pairs`` (pairs and judgments), ``sources`` (reads by pair source),
``labels`` (people's labels, spot-check draws), ``audit_snapshots`` (the audit's numbers per
source), ``judges`` (judge definitions, the API answer cache), ``constitutions`` (numbered
constitution versions, the tuning / held-out split of a source, the judge of each run round);
``database`` holds the file, the tables and the transactions. Moving to a server database is a
change in this folder only.
"""
from core.store.audit_snapshots import AuditSnapshots
from core.store.constitutions import ConstitutionTables, DuplicateConstitution
from core.store.database import Database, default_store_path
from core.store.judges import JudgeTables
from core.store.labels import LabelsTable
from core.store.pairs import PairsTable
from core.store.runs import RunCancelled, RunsTable, RunStatus
from core.store.sources import SourceReads
from core.store.stage_outputs import StageOutputs

__all__ = ["DuplicateConstitution", "RunCancelled", "RunStatus", "Store", "default_store_path"]


class Store(RunsTable, StageOutputs, PairsTable, SourceReads, LabelsTable, AuditSnapshots, JudgeTables,
            ConstitutionTables, Database):
    """A run store on one SQLite file (``Database``), with every table's reads and writes."""
