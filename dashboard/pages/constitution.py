"""Constitution: edit the judge's principles beside the faults the audit found, save versions, judge the
labelled pairs with one, and compare versions on held-out pairs the edit was not written against."""
import streamlit as st

from core.views import constitution as view
from core.views import constitution_compare as compare
from dashboard import state
from dashboard.judge_panel import jobs_panel

st.title("Constitution workbench")
store = state.get_store()
allowed = state.access_controls("save constitution versions and start judge jobs")
source = state.pick_source("Labelled pairs")
if not source:
    st.stop()
st.caption(view.split_sentence(store, source))
top = st.columns([3, 2, 2])
judge = top[0].selectbox("Judge", view.judge_choices(), key=state.CONSTITUTION_JUDGE, format_func=view.judge_label,
                         help="The judge every version is shown to; judge YAMLs saved on the Data page are listed too.")
name = top[1].selectbox("Constitution", view.names(store), key=state.CONSTITUTION_NAME)
versions = view.versions(store, name)
if st.session_state.get(state.CONSTITUTION_VERSION) not in versions:
    st.session_state[state.CONSTITUTION_VERSION] = versions[0]
version = top[2].selectbox("Version to edit", versions, key=state.CONSTITUTION_VERSION,
                           format_func=lambda v: f"{name}@{v}")

left, right = st.columns(2)
with left:
    st.subheader(f"Edit {name}@{version}")
    st.text_area("Principles: one per line; lines starting with # are comments the judge does not see",
                 key=state.seed_constitution_text(name, version), height=340)
    who, why = st.columns([1, 2])
    who.text_input("Your name", key=state.CONSTITUTION_AUTHOR)
    why.text_input("Why this version (the fault it answers)", key=state.CONSTITUTION_NOTE)
    st.button("Save as the next version", key="save_constitution", type="primary", disabled=not allowed,
              on_click=state.save_constitution, args=(name, version))
    saved = st.session_state.get(state.CONSTITUTION_SAVED)
    if saved:
        (st.success if saved[0] == "success" else st.error)(saved[1])


@st.fragment(run_every="5s")
def faults_panel() -> None:
    """The tuning part's faults, redrawn as a judge job lands its verdicts."""
    st.subheader("What the audit found on the tuning pairs")
    try:
        found = state.constitution_faults(source, judge, name, version, store.source_version(source))
    except ValueError as exc:
        st.warning(str(exc))
        return
    for sentence in found["sentences"]:
        st.markdown(f"- {sentence}")
    if len(found["principles"]):
        st.dataframe(found["principles"], hide_index=True)
    if found["examples"]:
        with st.expander(f"{len(found['examples'])} tuning pairs where {found['shown']} disagreed with people"):
            for example in found["examples"]:
                st.caption(f"Pair {example['pair_id']} · people: {example['human']} · judge: {example['verdict']}")
                st.text(example["prompt"])
                a, b = st.columns(2)
                a.text(example["response_a"])
                b.text(example["response_b"])


with right:
    faults_panel()

st.subheader("Versions")
st.dataframe(view.versions_table(store, name), hide_index=True)
old_col, new_col = st.columns(2)
# keyed by the version being edited, so the diff starts at "what this version changed"
old = old_col.selectbox("Diff from", versions, key=f"constitution_diff_old.{name}@{version}",
                        index=versions.index(view.edited_from(store, name, version)), format_func=lambda v: f"{name}@{v}")
new = new_col.selectbox("to", versions, key=f"constitution_diff_new.{name}@{version}", index=versions.index(version),
                        format_func=lambda v: f"{name}@{v}")
st.code(view.diff(store, name, old, new), language="diff")

st.subheader("Judge and compare")
cols = st.columns([2, 3, 3])
baseline = cols[0].selectbox("Baseline", versions[::-1], key=state.CONSTITUTION_BASELINE,
                             format_func=lambda v: f"{name}@{v}")
per_principle = cols[1].checkbox("Also ask about each principle on its own (one judge per principle: that many "
                                 "times the judge time)", key=state.CONSTITUTION_PER_PRINCIPLE)
if cols[2].button(f"Judge the labelled pairs with {name}@{version}", key="judge_constitution", type="primary",
                  disabled=not allowed) and allowed:
    try:
        run_id = view.start_judging(store, source, judge, name, version, baseline=baseline, per_principle=per_principle)
    except ValueError as exc:
        st.error(f"Not started. {exc}")
    else:
        st.success(f"Judging the labelled pairs of {source} with {name}@{version} in the background (job {run_id}).")
jobs_panel(source, allowed)


@st.fragment(run_every="5s")
def comparison_panel() -> None:
    candidates = [v for v in versions if v != baseline]
    if not candidates:
        st.info(f"Save a version beside {name}@{baseline} to compare it.")
        return
    if st.session_state.get(state.CONSTITUTION_CANDIDATE) not in candidates:
        st.session_state[state.CONSTITUTION_CANDIDATE] = version if version in candidates else candidates[0]
    candidate = st.selectbox("Pairs whose verdict changed: version", candidates, key=state.CONSTITUTION_CANDIDATE,
                             format_func=lambda v: f"{name}@{v} against {name}@{baseline}")
    shown = state.constitution_comparison(source, judge, name, baseline, candidate, store.source_version(source),
                                          len(versions))
    if shown["table"].empty:
        st.info(f"No version of {name} has judged the labelled pairs of {source} with this judge yet.")
        return
    st.dataframe(shown["table"], hide_index=True)
    st.plotly_chart(compare.comparison_figure(shown["table"]))
    for sentence in shown["sentences"]:
        st.markdown(f"- {sentence}")
    if shown["multiple"]:
        st.warning(shown["multiple"])
    keys = {v["ref"]: v["key"] for v in shown["data"]["versions"]}
    for part, title in compare.PART_LABELS.items():
        changed = shown["changed"].get(part) or {}
        if not changed:
            continue
        st.markdown(f"**{shown['candidate']} against {shown['baseline']}, {title}**")
        for column, kind in zip(st.columns(2), ("now agrees", "now disagrees")):
            ids = changed.get(kind, [])
            column.caption(f"{kind} with people: {len(ids)} pairs" + (" (the first 20)" if len(ids) > 20 else ""))
            for pair_id in ids[:20]:
                with column.expander(f"Pair {pair_id}"):
                    pair = compare.pair_detail(store, pair_id, keys)
                    st.caption(f"people: {pair['human']} · " + " · ".join(f"{r}: {v}" for r, v in pair["verdicts"].items()))
                    st.text(pair["prompt"])
                    st.caption("Response A")
                    st.text(pair["response_a"])
                    st.caption("Response B")
                    st.text(pair["response_b"])


comparison_panel()
