"""Runs: configure and launch the loop as a worker process; watch, cancel, resume and delete runs."""
import streamlit as st

from core import runs_ui
from core.rlhf.gate import latest_gate
from core.runs.worker import can_delete, delete_run, launch_run, runs_table
from dashboard import state

st.title("Runs")
store = state.get_store()
allowed = state.access_controls()  # a password or login, when one is configured
base = runs_ui.default_config()
with st.form("launch"):
    st.caption("Defaults come from sample_data/quick.yaml: the embedded SmolLM2-135M as policy and judge.")
    c1, c2, c3 = st.columns(3)
    values = {
        "name": c1.text_input("Run name", base.name),
        "policy_model": c1.text_input("Policy model ('smollm2-135m', 'tiny' or a folder)", base.policy_model),
        "judge.backend": c2.selectbox("Judge backend", runs_ui.JUDGE_BACKENDS, runs_ui.JUDGE_BACKENDS.index(base.judge.backend)),
        "judge.method": c2.selectbox("Local judge method", runs_ui.JUDGE_METHODS, runs_ui.JUDGE_METHODS.index(base.judge.method)),
        "judge.model": c2.text_input("Judge model (local name/folder, or the API model)", base.judge.model),
        "judge.principles": c2.text_input("Principles file (empty: the packaged constitution)", base.judge.principles),
        "prompts.path": c1.text_input("Prompts (JSONL/CSV/HF dataset folder)", base.prompts.path),
        "prompts.n": c3.number_input("Prompts per round", 2, 10000, base.prompts.n),
        "generation.responses_per_prompt": c3.number_input("Responses per prompt", 2, 8, base.generation.responses_per_prompt),
        "reward.epochs": c3.number_input("RM epochs", 0.5, 50.0, base.reward.epochs),
        "ppo.updates": c3.number_input("PPO updates", 1, 10000, base.ppo.updates),
        "ppo.kl_coef": c2.number_input("KL coefficient", 0.0, 10.0, base.ppo.kl_coef, format="%.3f"),
        "rounds": c1.number_input("Rounds", 1, 20, base.rounds),
    }
    start = st.form_submit_button("Start run", type="primary", disabled=not allowed)
if start and allowed:
    try:
        run_id = runs_ui.create_run(store, base, values)
    except ValueError as exc:
        st.error(f"Not started: {exc}")
    else:
        launch_run(store, run_id)
        st.success(f"Started run {run_id} in a worker process. Follow it on the Training monitor.")


@st.fragment(run_every="3s")
def run_list():
    table = runs_table(store)
    if table.empty:
        st.info("No runs yet.")
        return
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"progress": st.column_config.ProgressColumn("progress", min_value=0, max_value=1)})
    chosen = st.selectbox("Run", table["run_id"], key="runs_selected")
    b1, b2, b3 = st.columns(3)
    if b1.button("Cancel", key="cancel_run", disabled=not (allowed and runs_ui.can_cancel(store, chosen))) and allowed:
        store.request_cancel(chosen)
        st.toast(f"Cancel requested for {chosen}")
    if b2.button("Resume", key="resume_run", disabled=not (allowed and runs_ui.can_resume(store, chosen))) and allowed:
        launch_run(store, chosen)
        st.toast(f"Resumed {chosen}")
    sure = b3.checkbox("Delete with its data, labels and models", key="delete_confirm", disabled=not allowed)
    if b3.button("Delete", key="delete_run", disabled=not (allowed and sure and can_delete(store, chosen))) and allowed:
        try:
            delete_run(store, chosen)
        except ValueError as exc:
            st.error(str(exc))
        else:
            st.toast(f"Deleted {chosen}")
            st.rerun()


run_list()


# -- judge gate (core/rlhf/gate.py): why the chosen run stopped, or what it warned about --
@st.fragment(run_every="3s")
def gate_line():
    chosen = st.session_state.get("runs_selected")
    gate = latest_gate(store, chosen) if chosen else None
    if gate is None:
        return
    if gate["passed"]:
        st.caption(gate["text"])
    else:
        st.warning(gate["text"])


gate_line()
