"""Runs: what is in the store, live."""
import streamlit as st

from core.runs.worker import runs_table
from dashboard.state import get_store

st.title("Runs")
store = get_store()
st.caption(f"Store: `{store.path.resolve()}` · start a run with `python -m core run --config sample_data/quick.yaml`")


@st.fragment(run_every="3s")
def run_list():
    table = runs_table(store)
    if table.empty:
        st.info("No runs yet.")
        return
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"progress": st.column_config.ProgressColumn("progress", min_value=0, max_value=1)})


run_list()
