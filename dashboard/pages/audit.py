"""Agreement & bias: every judge on the same human labels, side by side."""
import pandas as pd
import streamlit as st

from core.views import audit_charts as charts
from core.views.agreement import (
    COLUMN_HELP,
    active_estimate,
    breakdown_table,
    change_policy,
    display_names,
    focus_order,
    judge_definitions_table,
    policy_choices,
    policy_rule,
    policy_sentence,
    summary_sentence,
    summary_table,
)
from core.views.costs import COST_COLUMN_HELP, cost_sentence, cost_table
from core.views.findings import source_findings
from dashboard import state
from dashboard.cost_inputs import price_inputs


def policy_form(source: str, team: dict) -> None:
    """Change how this source's votes combine: it changes what everyone reads, so it needs the run
    password (when one is set) and a name, and the sentence above says who changed it."""
    if not state.access_controls("change how this source's labels combine"):
        return
    choices = policy_choices(team)
    current = team["policy"]["policy"] or choices[0]
    left, right = st.columns([2, 1])
    chosen = left.selectbox("How labels combine on this source", choices, key="consensus_policy",
                            index=choices.index(current) if current in choices else 0)
    st.caption(policy_rule(chosen))
    who = right.text_input("Your name (recorded with the change)", value=state.annotator(), key="policy_by")
    if right.button("Change it", key="set_policy", disabled=chosen == current):
        try:
            change_policy(state.get_store(), source, chosen, set_by=who)
        except ValueError as exc:
            st.error(str(exc))
        else:
            st.rerun()


st.title("Agreement & bias")
source, reports = state.source_reports()
n_labelled = max(r["n_pairs"] for r in reports.values())
team = state.team_labels(source, state.get_store().source_version(source))
counts = st.columns(4)
counts[0].metric("Pairs with a human label and a verdict", n_labelled)
counts[1].metric("Human labels (every vote)", team["n_labels"])
counts[2].metric("People who labelled", len(team["annotators"]))
counts[3].metric("Split votes counted as ties", team["consensus"].get("split, counted as a tie", 0))
st.info(policy_sentence(team["policy"]))
with st.expander("The human labels: who gave them, how they agree, how they become one label per pair"):
    st.markdown(summary_sentence(team))
    policy_form(source, team)
    if len(team["annotators"]):
        st.dataframe(team["annotators"].round(3), hide_index=True)
    if len(team["pairwise"]):
        st.dataframe(team["pairwise"].round(3), hide_index=True)
    if team["consensus"]:
        st.dataframe(pd.DataFrame([team["consensus"]]).rename(index={0: "pairs"}), hide_index=True)
shown = display_names(list(reports))
focus = st.selectbox("Judge to read about", focus_order(reports), key="audit_focus", format_func=shown.get)
for sentence in source_findings(state.get_store(), reports, focus, source):
    st.markdown(f"- {sentence}")
estimate = active_estimate(state.get_store(), source, focus)
if estimate:
    lo, hi = estimate["ci"]
    st.caption(f"Active spot-check estimate for {focus}: {estimate['estimate']:.0%} (95% CI {lo:.0%}–{hi:.0%}) "
               f"from {estimate['n_labels']} drawn pairs, unbiased by stratified design.")
explained = {name: st.column_config.Column(help=text, pinned=name == "Judge") for name, text in COLUMN_HELP.items()}
st.dataframe(summary_table(reports), hide_index=True, column_config=explained)
with st.expander("What each judge is: model, method, principles, tie margin (a change to any is a new judge)"):
    st.dataframe(judge_definitions_table(state.get_store(), list(reports)), hide_index=True)
left, right = st.columns(2)
left.plotly_chart(charts.agreement_figure(reports))
right.plotly_chart(charts.confusion_figure(reports[focus]))
left.plotly_chart(charts.position_figure(reports))
right.plotly_chart(charts.p_longer_figure(reports))
left.plotly_chart(charts.length_bucket_figure(reports))
right.plotly_chart(charts.calibration_figure(reports))
by_category = reports[focus].get("by_category")
if by_category:
    st.subheader("By category")
    st.dataframe(breakdown_table(by_category), hide_index=True, column_config=explained)

st.subheader("What the labels cost")
costs = state.source_costs(source, price_inputs("cost_"))
if focus in costs:
    st.markdown(cost_sentence(focus, costs[focus]))
st.dataframe(cost_table(costs), hide_index=True,
             column_config={name: st.column_config.Column(help=text) for name, text in COST_COLUMN_HELP.items()})
st.plotly_chart(charts.cost_figure(costs))
