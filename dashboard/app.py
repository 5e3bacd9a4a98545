"""Router only: every page lives in dashboard/pages/."""
import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

st.set_page_config(page_title="RLAIF judge audit", layout="wide")
pages = [st.Page("pages/runs.py", title="Runs", icon=":material/play_circle:", default=True)]
st.navigation(pages).run()
