"""Router only: every page lives in dashboard/pages/."""
import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

st.set_page_config(page_title="RLAIF judge audit", layout="wide")
# No page icons: Streamlit turns a ':material/...' icon into a favicon fetched from fonts.gstatic.com at
# every page switch (this tool sends nothing off the machine), and emoji need a font the browser may lack.
pages = [
    st.Page("pages/home.py", title="Start here", default=True),
    st.Page("pages/spotcheck.py", title="Spot-check"),
    st.Page("pages/audit.py", title="Agreement & bias"),
    st.Page("pages/constitution.py", title="Constitution"),
    st.Page("pages/runs.py", title="Runs"),
    st.Page("pages/monitor.py", title="Training monitor"),
    st.Page("pages/data.py", title="Data"),
    st.Page("pages/report.py", title="Report"),
]
st.navigation(pages).run()
