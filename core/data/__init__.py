"""Bringing labelled pairs in from the formats teams already hold (``docs/formats.md``).

``pairs`` (this project's JSONL), ``trl`` (TRL preference datasets), ``hh-rlhf`` (HH-RLHF
transcripts) and ``mapped`` (any table with a column mapping: spreadsheets, Label Studio and
Argilla exports). The way out is ``core.data.exporters``.
"""
from core.data.importers import FORMATS, ImportSummary, dataset_name, import_file, import_upload, read_file

__all__ = ["FORMATS", "ImportSummary", "dataset_name", "import_file", "import_upload", "read_file"]
