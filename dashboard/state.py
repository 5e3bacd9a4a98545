"""The only home of session_state keys and st.cache_* wrappers."""
from __future__ import annotations

import streamlit as st

from core.runs.store import Store, default_store_path


@st.cache_resource
def get_store() -> Store:
    return Store(default_store_path())
