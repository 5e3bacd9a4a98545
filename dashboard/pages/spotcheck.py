"""Spot-check: blind labels. The judges' verdicts are shown only after the person answers, and beside
the pair they belong to: the labelled pair stays on screen until Next.

Keys: A, B, T (tie), S (skip), U (undo); after a label, N for the next pair. The name is asked once
and then shown as text, so no text box is left to swallow a key.
"""
import streamlit as st

from core.views import spot_check as spotcheck
from dashboard import state

st.title("Spot-check the judge")
store = state.get_store()
who = state.remembered_annotator()
top = st.columns([2, 2, 3])
with top[0]:
    source = state.pick_source()
mode = top[1].radio("Which pair next", ["random", "active"], horizontal=True, key=state.SAMPLING,
                    help="random: a shuffled order of your own. active: favours pairs where the judge is unsure, "
                         "flips with the order, or lengths differ most; the agreement estimate stays unbiased.")
judges = spotcheck.judges_of(store, source) if source else []
judge = top[2].selectbox("Judge to check", judges, key="spot_judge",
                         format_func=spotcheck.display_names(judges).get) if judges else ""
if not source:
    st.stop()
if not who:
    st.text_input("Your name", key=state.ANNOTATOR_INPUT, placeholder="type it and press Enter",
                  on_change=state.take_annotator,
                  help="Recorded with every label, so the team's labels can be told apart; kept in this tab's "
                       "address, so a reload remembers it.")
    st.info("Type your name and press Enter to start labelling: every label is recorded with it.")
    st.stop()
name_line = st.columns([4, 1])
name_line[0].caption(f"Labelling as **{who}**")
name_line[1].button("Change name", key="change_name", on_click=state.forget_annotator)

progress = spotcheck.label_progress(store, source, who)
st.progress(progress["labelled_by_you"] / max(1, progress["total"]),
            text=f"You labelled {progress['labelled_by_you']} of {progress['total']} pairs · "
                 "keys: A, B, T tie, S skip, U undo, N next")

answered = st.session_state.get(state.ANSWERED)
skipped = st.session_state.setdefault(state.SKIPPED, set())
pair_id = answered["pair_id"] if answered else st.session_state.get(state.CURRENT_PAIR)
if not answered and (pair_id is None or not spotcheck.still_open(store, source, who, pair_id)):
    pair_id = spotcheck.next_pair_id(store, source, who, mode=mode, judge=judge, skipped=frozenset(skipped))
    st.session_state[state.CURRENT_PAIR] = pair_id
if pair_id is None:
    st.info("Nothing left to label here. Thank you!")
    st.stop()

pair = spotcheck.pair_texts(store, pair_id)
with st.container(height=110, border=True):
    st.caption(f"Prompt · pair {pair_id}")
    st.text(pair["prompt"])  # model and user text as plain text, never markdown or HTML
left, right = st.columns(2)
for column, name, text in ((left, "A", pair["response_a"]), (right, "B", pair["response_b"])):
    with column.container(height=260, border=True):
        st.caption(f"Response {name} · {len(text):,} characters")
        st.text(text)
buttons = st.columns(5)
if answered:  # this pair is labelled: its verdicts show here, with it, until the person moves on
    if buttons[0].button("Next pair", key="next_pair", type="primary", width="stretch", shortcut="N"):
        st.session_state[state.ANSWERED] = None
        st.session_state[state.CURRENT_PAIR] = None
        st.rerun()
else:
    choices = [("A is better", "A", "A"), ("B is better", "B", "B"), ("Tie", "TIE", "T"), ("Skip", None, "S")]
    for col, (label, value, key) in zip(buttons, choices):
        if col.button(label, key=f"label_{value}", width="stretch", shortcut=key,
                      type="primary" if value in ("A", "B") else "secondary"):
            if value:
                outcome = spotcheck.record_label(store, pair_id, who, value)
                st.session_state[state.ANSWERED] = {"pair_id": pair_id, "label": value, **outcome}
            else:
                skipped.add(pair_id)
                st.session_state[state.CURRENT_PAIR] = None
            st.rerun()
if buttons[4].button("Undo my last label", key="undo", width="stretch", shortcut="U"):
    undone = spotcheck.undo_last(store, who)
    st.session_state[state.ANSWERED] = None
    st.session_state[state.CURRENT_PAIR] = undone
    st.rerun()

if answered:
    said = {"A": "A is better", "B": "B is better", "TIE": "a tie"}[answered["label"]]
    box = st.warning if answered["changed"] else st.success
    box(f"Saved: you said {said} on pair {answered['pair_id']}. {answered['sentence']}")
    st.markdown(f"**What the judges said about this pair ({answered['pair_id']})**")
    for sentence in spotcheck.verdict_sentences(store, answered["pair_id"]) or ["No judge has judged this pair yet."]:
        st.markdown(f"- {sentence}")
