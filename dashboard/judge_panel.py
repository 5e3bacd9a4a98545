"""The Data page's "Judge these pairs": background judge jobs (core/runs/judge_jobs.py) with progress,
cancel and resume, through the same worker and store as training runs."""
from __future__ import annotations

import streamlit as st

from core.views import data_page as judge_jobs
from dashboard import state

OTHER_YAML = "a judge YAML file on this machine…"


def show(may_act: bool) -> None:
    store = state.get_store()
    st.subheader("Judge these pairs")
    st.caption("Runs in a background worker (like a training run): leave the page, cancel, resume; pairs already "
               "judged by the same judge definition are never judged again. The Agreement page shows each judge "
               "as it lands.")
    sources = state.sources()
    if not sources:
        st.info("Upload pairs first.")
        return
    cols = st.columns([3, 3])
    source = cols[0].selectbox("Pairs to judge", sources, key="judge_job_source")
    saved = judge_jobs.saved_judges()
    options = ["longest", "shortest", "random", judge_jobs.EMBEDDED, *saved, OTHER_YAML]
    labels = {"longest": "longest (yardstick)", "shortest": "shortest (yardstick)", "random": "random (yardstick)",
              judge_jobs.EMBEDDED: "embedded SmolLM2-135M (letters, both orders; minutes on CPU)", OTHER_YAML: OTHER_YAML}
    choice = cols[1].selectbox("Judge", options, key="judge_job_choice",
                               format_func=lambda o: labels.get(o, f"API judge: {o.rsplit('/', 1)[-1]}"))
    if choice == OTHER_YAML:
        choice = st.text_input("Path of the judge YAML (fields of JudgeConfig, docs/scaling.md)", key="judge_job_yaml")
    with st.expander("Add an OpenAI-compatible judge (API key from an environment variable, never stored)"):
        with st.form("api_judge"):
            c1, c2 = st.columns(2)
            name = c1.text_input("Judge name", "my-api-judge")
            model = c1.text_input("Model", "gpt-4o-mini")
            base_url = c2.text_input("Base URL", "https://api.openai.com/v1")
            key_env = c2.text_input("Name of the environment variable holding the key", "OPENAI_API_KEY")
            if st.form_submit_button("Save judge", disabled=not may_act) and may_act:
                try:
                    path = judge_jobs.write_api_judge(judge_jobs.judges_folder(), name=name, base_url=base_url, model=model,
                                                      api_key_env=key_env)
                except ValueError as exc:
                    st.error(f"Not saved. {exc}")
                else:
                    st.success(f"Saved {path.name}: pick it in the Judge list.")
    if st.button("Judge these pairs", key="start_judge_job", type="primary", disabled=not (may_act and choice)):
        try:
            run_id = judge_jobs.start_judge_job(store, source, choice)
        except ValueError as exc:
            st.error(f"Not started. {exc}")
        else:
            st.success(f"Judging {source} in the background (job {run_id}).")
    jobs_panel(source, may_act)


@st.fragment(run_every="2s")
def jobs_panel(source: str, may_act: bool) -> None:
    store = state.get_store()
    jobs = judge_jobs.jobs_of(store, source)
    for job in jobs[:6]:
        status = job["display_status"]
        with st.container(border=True):
            top = st.columns([5, 1, 1])
            top[0].markdown(f"**{job['name'].removeprefix(f'judge {source} · ')}** · {status}"
                            + (f" · {job['message']}" if job["message"] else ""))
            if job["error"]:
                top[0].error(job["error"])
            if status in ("running", "queued"):
                top[0].progress(float(job["progress"] or 0.0), text=job["stage"] or "queued")
            finished = status in ("succeeded", "failed", "cancelled")
            if top[1].button("Cancel", key=f"cancel_job_{job['run_id']}", disabled=not may_act or finished
                             or status == "lost"):
                judge_jobs.cancel_job(store, job["run_id"])
            if top[2].button("Resume", key=f"resume_job_{job['run_id']}",
                             disabled=not may_act or status not in ("failed", "cancelled", "lost")):
                judge_jobs.resume_job(store, job["run_id"])
