"""One widget per RunConfig field, of the field's type; what each holds is written back to the form's values."""
from __future__ import annotations

import streamlit as st

from core.views.runs_page import FormField
from dashboard import state


def field_input(where, field: FormField):
    """The widget for ``field`` in container ``where``; its value is in session_state (``state.seed_run_form``)."""
    key, label, help_ = state.run_form_key(field.name), field.label, field.help or None
    if field.choices:
        return where.selectbox(label, field.choices, key=key, help=help_, format_func=lambda v: v or "(none)")
    if field.kind is bool:
        return where.checkbox(label, key=key, help=help_)
    if field.kind is int:
        return where.number_input(label, step=1, key=key, help=help_)
    if field.kind is float:
        return where.number_input(label, step=float(field.step), format="%g", key=key, help=help_)
    return where.text_input(label, key=key, help=help_)


def field_inputs(fields: list[FormField], values: dict, columns: int = 3) -> None:
    """Widgets for ``fields`` in ``columns`` columns; ``values`` takes what each one holds."""
    cols = st.columns(columns)
    for i, field in enumerate(fields):
        values[field.name] = field_input(cols[i % columns], field)
