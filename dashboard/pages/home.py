"""Start here: what the tool is, and the first steps with where each stands."""
import streamlit as st

from core.views.home import WHAT_IT_IS, first_steps
from dashboard import state

st.title("RLAIF judge audit")
st.markdown(WHAT_IT_IS)
st.subheader("First steps")
for n, step in enumerate(first_steps(state.get_store()), start=1):
    left, right = st.columns([3, 2])
    left.page_link(step.page, label=f"{n}. {step.title}")
    right.caption(("Done: " if step.done else "To do: ") + step.status)
