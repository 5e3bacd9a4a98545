"""The only home of session_state keys and st.cache_* wrappers."""
from __future__ import annotations

import streamlit as st

from core.runs.store import Store, default_store_path

ANNOTATOR = "annotator"
SOURCE = "source"
CURRENT_PAIR = "current_pair"
ANSWERED = "answered_pair"
SAMPLING = "sampling"
SKIPPED = "skipped_pairs"


@st.cache_resource
def get_store() -> Store:
    """The store, with the sample workspace loaded on first start."""
    from core.workspace import ensure_sample_workspace

    store = Store(default_store_path())
    ensure_sample_workspace(store)
    return store


def data_version() -> tuple:
    return get_store().data_version()


@st.cache_data(max_entries=16, show_spinner="Auditing…")
def cached_audit(source: str, version: tuple, n_boot: int = 1000) -> dict:
    from core.auditing import source_audit

    return source_audit(get_store(), source, n_boot=n_boot)


def sources() -> list[str]:
    return get_store().pair_sources()["source"].tolist()


def pick_source(label: str = "Pairs") -> str | None:
    options = sources()
    if not options:
        st.info("No pairs in the store yet: upload some on the Data page or run the loop.")
        return None
    current = st.session_state.get(SOURCE)
    index = options.index(current) if current in options else 0
    st.session_state[SOURCE] = st.selectbox(label, options, index=index, key="source_select")
    return st.session_state[SOURCE]


def annotator() -> str:
    return st.session_state.get(ANNOTATOR, "")
