"""Spot-check: blind labels. The judge's verdict is read only after the person answers."""
import streamlit as st

from core import spotcheck
from core.judges.identity import display_names
from dashboard import state

st.title("Spot-check the judge")
store = state.get_store()
source = state.pick_source()
who = st.text_input("Your name (recorded with every label)", key=state.ANNOTATOR).strip()
mode = st.radio("Which pair next", ["random", "active"], horizontal=True, key=state.SAMPLING,
                help="active: favours pairs where the judge is unsure, flips with the order, or lengths differ most; "
                     "the agreement estimate stays unbiased.")
judges = store.source_judges(source) if source else []
judge = st.selectbox("Judge to check", judges, key="spot_judge",
                     format_func=display_names(judges).get) if judges else ""
if not source or not who:
    st.stop()

progress = spotcheck.label_progress(store, source, who)
st.progress(progress["labelled_by_you"] / max(1, progress["total"]),
            text=f"You labelled {progress['labelled_by_you']} of {progress['total']} pairs")
answered = st.session_state.get(state.ANSWERED)
if answered:
    st.success(f"Saved your label for {answered}. What the judges said (P(A better) when A was shown first / second):")
    st.dataframe(spotcheck.reveal(store, answered), hide_index=True)

pair_id = st.session_state.get(state.CURRENT_PAIR)
skipped = st.session_state.setdefault(state.SKIPPED, set())
if pair_id is None or not spotcheck.still_open(store, source, who, pair_id):
    pair_id = spotcheck.next_pair_id(store, source, who, mode=mode, judge=judge, skipped=frozenset(skipped))
    st.session_state[state.CURRENT_PAIR] = pair_id
if pair_id is None:
    st.info("Nothing left to label here. Thank you!")
else:
    pair = store.get_pairs([pair_id]).iloc[0]
    st.caption(f"Pair {pair_id}")
    st.markdown("**Prompt**")
    st.text(pair["prompt"])  # model and user text as plain text, never markdown or HTML
    left, right = st.columns(2)
    left.markdown("**Response A**")
    left.text(pair["response_a"])
    right.markdown("**Response B**")
    right.text(pair["response_b"])
    buttons = st.columns(4)
    for col, (label, value) in zip(buttons, [("A is better", "A"), ("B is better", "B"), ("Tie", "TIE"),
                                             ("Skip", None)]):
        if col.button(label, key=f"label_{value}", width="stretch"):
            if value:
                store.set_human_label(pair_id, who, value)
                st.session_state[state.ANSWERED] = pair_id
            else:
                skipped.add(pair_id)
            st.session_state[state.CURRENT_PAIR] = None
            st.rerun()
if st.button("Undo my last label", key="undo"):
    undone = spotcheck.undo_last(store, who)
    st.session_state[state.ANSWERED] = None
    st.session_state[state.CURRENT_PAIR] = undone
    st.rerun()
