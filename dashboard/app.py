"""Router only: every page lives in dashboard/pages/."""
import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

st.set_page_config(page_title="RLAIF judge audit", layout="wide")
pages = [
    st.Page("pages/spotcheck.py", title="Spot-check", icon=":material/rate_review:", default=True),
    st.Page("pages/audit.py", title="Agreement & bias", icon=":material/balance:"),
    st.Page("pages/constitution.py", title="Constitution", icon=":material/gavel:"),
    st.Page("pages/runs.py", title="Runs", icon=":material/play_circle:"),
    st.Page("pages/monitor.py", title="Training monitor", icon=":material/monitoring:"),
    st.Page("pages/data.py", title="Data", icon=":material/database:"),
    st.Page("pages/report.py", title="Report", icon=":material/description:"),
]
st.navigation(pages).run()
