"""One widget per RunConfig field, of the field's type; what each holds is written back to the form's values."""
from __future__ import annotations

import streamlit as st

from core.views.runs_page import FILE_CHOICE, FormField, source_choices
from dashboard import state


def field_input(where, field: FormField, sources: list[str] = ()):
    """The widget for ``field`` in container ``where``; its value is in session_state (``state.seed_run_form``).
    A source field is a choice of ``sources`` (the store's) and 'human_pairs', or a file path typed in."""
    key, label, help_ = state.run_form_key(field.name), field.label, field.help or None
    if field.source:
        choice = where.selectbox(label, source_choices(list(sources), st.session_state.get(key, "")), key=key,
                                 help=help_)
        if choice != FILE_CHOICE:
            return choice
        return where.text_input(f"{label}: pairs file (JSONL)", key=state.run_form_file_key(field.name),
                                placeholder="/path/to/human_pairs.jsonl")
    if field.choices:
        return where.selectbox(label, field.choices, key=key, help=help_, format_func=lambda v: v or "(none)")
    if field.kind is bool:
        return where.checkbox(label, key=key, help=help_)
    if field.kind is int:
        return where.number_input(label, step=1, key=key, help=help_)
    if field.kind is float:
        return where.number_input(label, step=float(field.step), format="%g", key=key, help=help_)
    return where.text_input(label, key=key, help=help_)


def field_inputs(fields: list[FormField], values: dict, columns: int = 3, sources: list[str] = ()) -> None:
    """Widgets for ``fields`` in ``columns`` columns; ``values`` takes what each one holds."""
    cols = st.columns(columns)
    for i, field in enumerate(fields):
        values[field.name] = field_input(cols[i % columns], field, sources)
