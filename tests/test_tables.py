"""Tables people read: human column names and rounded numbers."""
from __future__ import annotations

from core.auditing import breakdown_table, source_audit, summary_table
from core.workspace import ensure_sample_workspace


def test_the_audit_tables_speak_in_words_and_round(store):
    ensure_sample_workspace(store)
    reports = source_audit(store, "dataset:sample", n_boot=20)
    for table in (summary_table(reports), breakdown_table(reports["longest"]["by_category"])):
        assert not [c for c in table.columns if "_" in c or c[:1].islower()], list(table.columns)
        numbers = table.select_dtypes("number").to_numpy().ravel()
        assert all(abs(x * 1000 - round(x * 1000)) < 1e-6 for x in numbers if x == x)
    assert {"Judge", "Agreement", "95% CI low", "Cohen's κ"} <= set(summary_table(reports).columns)
