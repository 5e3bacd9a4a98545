"""Router only: every page lives in dashboard/pages/."""
import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

st.set_page_config(page_title="RLAIF judge audit", layout="wide")
# Emoji icons, not ':material/...': Streamlit turns a page's material icon into a favicon fetched from
# fonts.gstatic.com at every page switch, and this tool sends nothing off the machine.
pages = [
    st.Page("pages/home.py", title="Start here", icon="🏠", default=True),
    st.Page("pages/spotcheck.py", title="Spot-check", icon="✍️"),
    st.Page("pages/audit.py", title="Agreement & bias", icon="⚖️"),
    st.Page("pages/constitution.py", title="Constitution", icon="📜"),
    st.Page("pages/runs.py", title="Runs", icon="▶️"),
    st.Page("pages/monitor.py", title="Training monitor", icon="📈"),
    st.Page("pages/data.py", title="Data", icon="🗄️"),
    st.Page("pages/report.py", title="Report", icon="📄"),
]
st.navigation(pages).run()
