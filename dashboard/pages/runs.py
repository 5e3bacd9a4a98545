"""Runs: configure and launch the loop as a worker process; watch, cancel, resume and delete runs."""
import streamlit as st

from core.views import runs_page as runs_ui
from dashboard import state
from dashboard.run_inputs import field_inputs

st.title("Runs")
store = state.get_store()
allowed = state.access_controls()  # a password or login, when one is configured
values = state.run_form_values()
presets = list(runs_ui.presets())
left, right = st.columns([1, 2])
left.selectbox("Preset", presets, key=state.RUN_PRESET_WIDGET, on_change=state.load_preset,
               index=presets.index(st.session_state[state.RUN_PRESET]) if st.session_state[state.RUN_PRESET]
               in presets else 0)
right.caption(f"The form holds {st.session_state[state.RUN_FORM_FROM]}. Presets: every run config in "
              f"sample_data/ and in {runs_ui.user_presets_dir()} (or $RLAIF_AUDIT_PRESETS).")
if note := st.session_state.get(state.RUN_FORM_NOTE):  # a run config that could not be loaded
    st.warning(note)
fields = runs_ui.form_fields(choices=runs_ui.form_choices(store, values))  # constitution versions
field_inputs([f for f in fields if f.main], values)
with st.expander("Advanced: every other setting of the run config"):
    for title, group in runs_ui.advanced_sections(fields):
        st.markdown(f"**{title}**")
        field_inputs(group, values, sources=state.sources())
est = runs_ui.estimate(store, values)
st.caption(est if isinstance(est, str) else est.text)
if st.button("Start run", type="primary", disabled=not allowed) and allowed:
    try:
        run_id = runs_ui.start_run_from_form(store, values)
    except ValueError as exc:
        st.error(f"Not started: {exc}")
    else:
        state.select_run(run_id)
        st.success(f"Started run {run_id} in a worker process. Follow it on the Training monitor.")

# Status, stage, heartbeat and message first, in widths that fit beside the sidebar; ids and times after.
COLUMNS = {
    "run": st.column_config.TextColumn("Run", width=170, help="Its name and the end of its id (names repeat)"),
    "status": st.column_config.TextColumn("Status", width=80),
    "round_of": st.column_config.TextColumn("Round", width=65),
    "stage": st.column_config.TextColumn("Stage", width=150),
    "stage_progress": st.column_config.ProgressColumn("Stage done", min_value=0, max_value=1, width=90),
    "run_progress": st.column_config.ProgressColumn("Run done", min_value=0, max_value=1, width=90,
                                                    help="Every round and stage of the run, this stage included"),
    "heartbeat": st.column_config.TextColumn("Heartbeat", width=110,
                                             help="Last sign of life of a running worker; when a run finished"),
    "message": st.column_config.TextColumn("Message", width=280, help="Shortened: the full text is under the table"),
    "started": st.column_config.TextColumn("Started", width=110),
    "run_id": st.column_config.TextColumn("Run ID", width=190),
}


@st.fragment(run_every="3s")
def run_list():
    table = runs_ui.runs_table(store)
    if table.empty:
        st.info("No runs yet.")
        return
    st.dataframe(table, hide_index=True, width="stretch", column_config=COLUMNS, column_order=list(COLUMNS))
    chosen = st.selectbox("Run", table["run_id"], key=state.RUN_SELECTED,
                          format_func=dict(zip(table["run_id"], table["run_id"] + " · " + table["name"])).get)
    st.caption(runs_ui.run_details(store, chosen))
    b1, b2, b3, b4 = st.columns(4)
    if b1.button("Cancel", key="cancel_run", disabled=not (allowed and runs_ui.can_cancel(store, chosen))) and allowed:
        runs_ui.cancel_run(store, chosen)
        st.toast(f"Cancel requested for {chosen}")
    if b2.button("Resume", key="resume_run", disabled=not (allowed and runs_ui.can_resume(store, chosen))) and allowed:
        runs_ui.resume_run(store, chosen)
        st.toast(f"Resumed {chosen}")
    judge_job = runs_ui.is_judge_job(store, chosen)
    if b3.button("New run from this config", key="reuse_config", on_click=state.load_run_config, args=(chosen,),
                 disabled=judge_job, help="A judge job has no run config: start another on the Data page" if judge_job
                 else "Fill the form above with this run's config"):
        st.rerun()  # the form lives outside this fragment
    sure = b4.checkbox("Delete with its data, labels and models", key="delete_confirm", disabled=not allowed)
    if b4.button("Delete", key="delete_run", disabled=not (allowed and sure and runs_ui.can_delete(store, chosen))) and allowed:
        try:
            runs_ui.remove_run(store, chosen)
        except ValueError as exc:
            st.error(str(exc))
        else:
            st.toast(f"Deleted {chosen}")
            st.rerun()


run_list()


# -- judge gate (core/human_labels/gate.py): why the chosen run stopped, or what it warned about --
@st.fragment(run_every="3s")
def gate_line():
    chosen = st.session_state.get(state.RUN_SELECTED)
    gate = runs_ui.latest_gate(store, chosen) if chosen else None
    if gate is None:
        return
    if gate["passed"]:
        st.caption(gate["text"])
    else:
        st.warning(gate["text"])


gate_line()
