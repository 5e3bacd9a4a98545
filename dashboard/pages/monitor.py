"""Training monitor: reward, KL, entropy and length during RL (PPO, RLOO or GRPO; reward model or judge); RM loss and accuracy; verbosity gaming
and over-optimisation (flags, flagged samples, proxy reward vs audited win rate); up to four runs
overlaid. Live."""
import streamlit as st

from core.views import gaming_charts
from core.views import gaming_panel as panel
from core.views import rlhf_arm_charts as rlhf_charts
from core.views import rlhf_arm_panel as rlhf_panel
from core.views import training_charts as charts
from core.views import training_monitor as monitor
from dashboard import state

st.title("Training monitor")
store = state.get_store()
runs = monitor.training_runs(store)  # judge jobs have no training curves
if runs.empty:
    st.info("No runs yet: start one on the Runs page.")
    st.stop()
names = dict(zip(runs["run_id"], runs["run_id"] + " · " + runs["name"]))
with_curves = monitor.runs_with_curves(store, runs["run_id"].tolist())
state.monitor_run_index(runs["run_id"].tolist(), with_curves)  # sets the box's value before it is drawn
run_id = st.selectbox("Run", runs["run_id"], key=state.MONITOR_RUN, format_func=names.get,
                      on_change=state.remember_monitor_run)
state.remember_monitor_run(run_id)
if why := monitor.no_curves_reason(store, run_id):  # say why there is nothing to draw, and offer a run that has
    st.warning(why)
    other = next((r for r in with_curves if r != run_id), None)
    if other and st.button(f"Show the latest run with curves: {names[other]}", key="show_run_with_curves",
                           on_click=state.select_run, args=(other,)):
        st.rerun()
left, right = st.columns([3, 1])
others = left.multiselect(f"Overlay other runs to compare (up to {monitor.MAX_COMPARED} in all)",
                          [r for r in runs["run_id"] if r != run_id], key="monitor_compare", format_func=names.get,
                          max_selections=monitor.MAX_COMPARED - 1)
smoothing = right.slider("Smoothing (EMA weight)", 0.0, 0.95, 0.0, 0.05, key="monitor_smoothing",
                         help="0 draws the raw points; above 0 the smoothed curve, the raw points faint behind it")
shown = [run_id, *others]


@st.fragment(run_every="2s" if any(monitor.is_live(store, r) for r in shown) else None)
def curves():
    st.caption(monitor.status_line(store, run_id))
    ppo = monitor.compare_metrics(store, shown, "ppo")
    focus = next(iter(ppo.values()))
    reading = monitor.read_length(focus, reward=monitor.rl_setup(store.get_run(run_id)["config"])[1],
                                  cap=monitor.length_cap(store, run_id))
    if reading and reading.warning:
        st.warning(reading.text)
    elif reading:  # not a one-line `a if c else b`: Streamlit's magic would st.write its value onto the page
        st.info(reading.text)
    if any(not m.empty for m in ppo.values()):  # no empty charts for runs that never reached RL (said above)
        ppo_charts(ppo, focus)
    st.plotly_chart(charts.training_figure(monitor.compare_metrics(store, shown, "reward"), monitor.RM_KEYS,
                                           "Reward model training", x_title="reward-model training step",
                                           smoothing=smoothing), key="rm")
    rm = monitor.rm_summary(store, run_id)
    if not rm.empty:
        st.subheader("Reward model accuracy (held out: against the judge; human: against people)")
        st.dataframe(rm, hide_index=True)
    gaming_panel()


def ppo_charts(ppo, focus):
    for keys, title, key in ((monitor.PPO_REWARD_KEYS, "RL reward", "ppo_reward"),
                             (monitor.PPO_KL_KEYS, "KL to the reference, entropy", "ppo_kl")):
        st.plotly_chart(charts.training_figure(ppo, keys, title, smoothing=smoothing), key=key)
    if note := monitor.kl_note(ppo):
        st.caption(note)
    if cost := monitor.reward_cost_reading(focus, store.get_run(run_id)["config"]):
        st.caption(cost)
    st.plotly_chart(charts.reward_kl_figure(ppo), key="ppo_reward_kl")
    st.plotly_chart(charts.training_figure(ppo, monitor.PPO_LENGTH_KEYS, "Response length", smoothing=smoothing),
                    key="ppo_len")


def gaming_panel():
    st.subheader("Verbosity gaming and over-optimisation")
    g = panel.gaming_panel(store, run_id)
    if g.empty:
        st.info("No verbosity-gaming metrics for this run yet: they appear from its first PPO update.")
        return
    if g.warning:
        st.warning(g.warning)
    if g.reading:
        st.info(g.reading)
    if g.flags.empty:
        st.caption("No flag has fired.")
    else:
        st.dataframe(g.flags, hide_index=True)
    st.plotly_chart(gaming_charts.length_figure(g.steps), key="gaming_length")
    st.plotly_chart(gaming_charts.correlation_figure(g.steps, corr_threshold=g.config.corr_threshold,
                                                     share_threshold=g.config.explained_share_threshold),
                    key="gaming_corr")
    st.plotly_chart(gaming_charts.overopt_figure(g.overopt), key="gaming_overopt")
    if not g.samples.empty:
        st.markdown("**Flagged samples**: the longest rollouts of each update a flag fired at.")
        st.dataframe(g.samples, hide_index=True)
    st.markdown("**Thresholds in use** (the run's `monitor:` section; definitions in `docs/verbosity.md`)")
    st.dataframe(g.thresholds, hide_index=True)


curves()


# -- RLAIF vs RLHF reward model (core/rlhf): stage 'reward_arms', written when reward.rlhf_arm is on --
@st.fragment(run_every="5s" if monitor.is_live(store, run_id) else None)
def rlhf_arm_section():
    st.subheader("RLAIF vs RLHF reward model")
    table = rlhf_panel.arms_table(store, run_id)
    if table.empty:
        st.caption("No RLHF arm in this run: with `reward.rlhf_arm: true` each round also trains a reward model on "
                   "human labels beside one on the judge's labels, on the same pairs, and compares them here.")
        return
    for sentence in rlhf_panel.arms_reading(table):
        st.info(sentence)
    st.plotly_chart(rlhf_charts.arms_figure(table), key="rlhf_arms")
    st.dataframe(table, hide_index=True)


rlhf_arm_section()
