"""Report: one self-contained HTML file with the findings in plain language."""
import streamlit as st

from core.views.agreement import display_names, focus_order, policy_sentence, source_policy
from core.views.constitution_compare import report_versions
from core.views.findings import source_findings
from core.views.report_html import build_report_html, disagreements, latest_run_with_metrics, run_section
from dashboard import state
from dashboard.cost_inputs import price_inputs

st.title("Report for stakeholders")
source, reports = state.source_reports()
focus = st.selectbox("Judge", focus_order(reports), key="report_focus", format_func=display_names(list(reports)).get)
labels_note = policy_sentence(source_policy(state.get_store(), source))
st.caption(labels_note)
said = source_findings(state.get_store(), reports, focus, source)
st.markdown("\n".join(f"- {s}" for s in said))
with st.expander("Prices for the cost section"):
    prices = price_inputs("cost_report_")
latest = latest_run_with_metrics(state.get_store())
include_run = st.checkbox(f"Include the latest training run ({latest})", value=True, key="report_run",
                          disabled=latest is None, help="Its reward model's accuracy against the judge and people, "
                          "what PPO did to response length, the gaming flags.") if latest else False
report_key = (source, focus, state.get_store().source_version(source), tuple(sorted(prices.items())),
              latest if include_run else None, state.get_store().data_version())
if st.button("Build HTML report", key="build_report", type="primary"):
    with st.spinner("Building the report…"):
        html = build_report_html(reports, source=source, focus=focus, said=said,
                                 examples=disagreements(state.get_store(), source, focus),
                                 costs=state.source_costs(source, prices),
                                 team=state.team_labels(source, state.get_store().source_version(source)),
                                 run_html=run_section(state.get_store(), latest) if include_run else "",
                                 labels_note=labels_note, constitution=report_versions(state.get_store(), source, focus))
        st.session_state[state.REPORT] = {"key": report_key, "html": html.encode("utf-8")}
built = st.session_state.get(state.REPORT)
if built and built["key"] == report_key:  # stays after a download and any rerun, until the inputs change
    st.download_button("Download report.html", built["html"], file_name=f"judge-audit-{display_names([focus])[focus]}.html",
                       mime="text/html", key="dl_report", on_click="ignore")
    st.caption(f"{len(built['html']) / 1e6:.1f} MB, self-contained: opens offline.")
