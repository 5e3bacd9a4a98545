"""Data: bring labelled pairs or prompts in; take preference data and labels out."""
import streamlit as st

from core.views import data_page as exports
from dashboard import judge_panel, state

st.title("Data")
store = state.get_store()
may_upload = state.access_controls("upload pairs or prompts")  # uploads change what everyone audits
if may_upload:
    st.subheader("Upload human-labelled pairs")
    st.caption("Formats (docs/formats.md): pairs JSONL (id, prompt, response_a, response_b, human_preferred), TRL "
               "preference data, HH-RLHF transcripts, or any CSV/JSONL with a column mapping. The whole file is checked "
               "first; a bad line stops the import and nothing is stored.")
    fmt = st.selectbox("Format", ["pairs", "trl", "hh-rlhf", "mapped"], key="pairs_format")
    mapping = st.text_input("Column mapping (mapped only), e.g. prompt=question,response_a=left,response_b=right,"
                            "human=winner", key="pairs_mapping") if fmt == "mapped" else None
    pairs_file = st.file_uploader("Pairs file", type=["jsonl", "json", "csv", "tsv", "parquet"], key="pairs_upload")
    dataset = st.text_input("Dataset name", "uploaded", key="pairs_dataset")
    if pairs_file is not None and st.button("Import pairs", key="import_pairs"):
        try:
            n = exports.import_uploaded_pairs(store, pairs_file.getvalue(), filename=pairs_file.name, dataset=dataset,
                                              fmt=fmt, mapping=mapping)
        except ValueError as exc:
            st.error(f"Nothing imported. {exc}")
        else:
            st.success(f"Imported {n} pairs into dataset:{dataset}.")

    st.subheader("Upload prompts (JSONL or CSV)")
    prompts_file = st.file_uploader("Prompts file", type=["jsonl", "csv"], key="prompts_upload")
    if prompts_file is not None and st.button("Save prompts", key="save_prompts"):
        try:
            path, n = exports.save_uploaded_prompts(prompts_file.getvalue(), filename=prompts_file.name,
                                                    folder=exports.uploads_folder())
        except ValueError as exc:
            st.error(f"Not saved. {exc}")
        else:
            st.success(f"{n} prompts saved to {path}: use this path in the Runs form.")

judge_panel.show(may_upload)

st.subheader("Download")
source = state.pick_source("Pairs to export")
if source:
    judges = exports.judges_of(store, source)
    judge = st.selectbox("Chosen side follows the judge", judges, key="export_judge") if judges else None
    # built on request, not on every render: at 100,000 pairs the files take seconds to write; kept in the
    # session (for this source, judge and data version) so the buttons stay after a download or a rerun
    built_key = (source, judge, store.source_version(source))
    if st.button("Build the files for download", key="build_downloads"):
        with st.spinner("Building the files…"):
            st.session_state[state.DOWNLOADS] = {
                "key": built_key, "labels": exports.human_labels_csv(store, source),
                "prefs": exports.preference_jsonl(store, source, judge) if judge else None}
    built = st.session_state.get(state.DOWNLOADS)
    if built and built["key"] == built_key:
        if built["prefs"] is not None:
            st.download_button("Preference dataset (TRL JSONL)", built["prefs"], file_name="preferences.jsonl",
                               mime="application/jsonl", key="dl_prefs", on_click="ignore")
        st.download_button("Human labels (CSV)", built["labels"], file_name="human_labels.csv", mime="text/csv",
                           key="dl_labels", on_click="ignore")
    elif built:
        st.caption("The data changed since the files were built: build them again.")
