"""One self-contained HTML file for stakeholders: findings in plain words, plots embedded.

plotly.js is inlined, so the file opens offline. Every piece of text that came from a model
or a user is escaped with ``html.escape``: a response holding <script> shows as text.
"""
from __future__ import annotations

import html
import time
from pathlib import Path

from core.human_labels.with_verdicts import disagreements
from core.views import audit_charts as charts
from core.views.agreement import display_names, summary_sentence, summary_table
from core.views.costs import cost_sentence, cost_table
from core.views.findings import at_chance, findings, worse_than_chance

__all__ = ["build_report_html", "disagreements", "latest_run_with_metrics", "plotly_js", "run_section"]

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:0} .sub{color:#666} table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:right} th{background:#f5f5f5}
td:first-child,th:first-child{text-align:left} li{margin:.3em 0}
.wide{overflow-x:auto;max-width:100%} .plotly-graph-div{max-width:100%}
pre{white-space:pre-wrap;background:#f7f7f7;padding:8px;border-radius:4px;max-height:14em;overflow:auto}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:8px 12px}
"""


_CARTESIAN_JS = Path(__file__).with_name("assets") / "plotly-cartesian.min.js"  # core/views/assets/README.md
_CARTESIAN_TRACES = {"bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour", "image",
                     "pie", "scatter", "scatterternary", "violin"}


def plotly_js(html_body: str) -> str:
    """The plotly.js to inline once: the 1.5 MB cartesian bundle when every figure's traces are in
    it (the version must match the Python package's), else the full 4.8 MB bundle."""
    import re

    import plotly.io as pio
    import plotly.offline

    small = _CARTESIAN_JS.read_text(encoding="utf-8")
    every_trace_type = set(pio.templates["plotly"].data.to_plotly_json())
    used = set(re.findall(r'"type":\s*"([a-z0-9]+)"', html_body)) & every_trace_type
    same_version = f"v{plotly.offline.get_plotlyjs_version()}" in small[:200]
    return small if same_version and used <= _CARTESIAN_TRACES else plotly.offline.get_plotlyjs()


def _fig(fig) -> str:
    """A figure as a div that fits the page width (plotly.js is inlined once, in the head)."""
    import plotly.graph_objects as go

    # the template's per-trace-type defaults name every trace type plotly has; only its layout is used here
    fig.update_layout(autosize=True, width=None, template=go.layout.Template(layout=fig.layout.template.layout))
    return f"<div class='wide'>{fig.to_html(full_html=False, include_plotlyjs=False, default_width='100%')}</div>"


def _trained_how(config: dict) -> str:
    """How the run's policy was trained, in one sentence."""
    from core.views.training_monitor import rl_method, rl_setup

    if rl_setup(config)[1] == "judge":
        return f"The policy was trained with {rl_method(config)}: no reward model; the judge's verdicts were the reward."
    return f"The reward model is trained on the judge's labels; the policy is trained with {rl_method(config)}."


def _table(frame) -> str:
    return f"<div class='wide'>{frame.to_html(index=False, na_rep='–', escape=True)}</div>"


def build_report_html(reports: dict[str, dict], *, source: str, focus: str, examples: list[dict] = (),
                      costs: dict[str, dict] | None = None, run_html: str = "", said: list[str] | None = None,
                      team: dict | None = None, labels_note: str = "", constitution: dict | None = None) -> str:
    """The report for judge ``focus`` (others shown beside it as yardsticks).

    ``said``: the findings as the page showed them (``findings.source_findings``); by default
    ``findings`` of the focus judge. ``team`` (``agreement.annotator_summary``): who labelled the
    pairs and how well people agree with one another, the ceiling a judge is measured under.
    ``costs`` (``core.audit.cost.source_costs``) adds what the labels cost beside human labels;
    ``run_html`` (``run_section``) what a training run's reward model and PPO showed; ``labels_note``
    (``core.views.agreement.policy_sentence``) how the human labels were combined; ``constitution``
    (``core.views.constitution_compare.report_versions``) the constitution versions measured on
    held-out pairs and the diff of the version the judge used.
    """
    if focus not in reports:
        raise ValueError(f"no audit for judge {focus!r}; audited: {sorted(reports)}")
    e = html.escape
    report = reports[focus]
    said = findings(report, baselines=reports) if said is None else said
    items = "".join(f"<li>{e(s)}</li>" for s in said)
    table = _table(summary_table(reports).round(3))
    figs = [charts.agreement_figure(reports), charts.p_longer_figure(reports), charts.position_figure(reports),
            charts.length_bucket_figure(reports), charts.calibration_figure(reports), charts.confusion_figure(report)]
    plots = "".join(_fig(f) for f in figs)
    warn = _warnings(report)
    name = display_names(list(reports))[focus]
    body = f"""<h1>Judge audit: {e(name)}</h1>
<p class="sub">Pairs: {e(source)} · {report['n_pairs']} pairs with human labels · generated
{e(time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))}</p>
{'<p>' + e(labels_note) + '</p>' if labels_note else ''}
{warn}<h2>Findings</h2><ul>{items}</ul>
<h2>All judges on the same pairs</h2>{table}
{_people_section(team)}<h2>Charts</h2>{plots}
{_constitution_section(constitution)}{run_html}{_cost_section(costs, focus)}{_examples(examples)}
<p class="sub">Intervals are seeded bootstrap 95% CIs ({report.get('n_boot')} resamples). Agreement counts ties as a
label (MT-Bench definition); κ is Cohen's kappa over A/B/TIE.</p>"""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Judge audit: {e(name)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{_STYLE}</style><script>{plotly_js(body)}</script></head><body>
{body}</body></html>"""


def _warnings(report: dict) -> str:
    """Boxes above the findings for what a stakeholder must not miss; each claim backed by a 95% interval."""
    warn = ""
    if report.get("verbosity", {}).get("judge_more_length_biased"):
        warn = ("<p class='warn'><b>Verbosity risk.</b> This judge prefers longer answers more than people do, "
                "beyond the margin of error. A reward model trained on its labels is likely to reward length, "
                "and PPO against that reward model is then likely to lengthen answers.</p>")
    if worse_than_chance(report):
        warn += ("<p class='warn'><b>Worse than chance.</b> The whole 95% interval of this judge's Cohen's κ is "
                 "below 0: on these pairs it disagrees with people more often than guessing would. Its verdicts "
                 "carry information, inverted: do not train on them as they are.</p>")
    elif at_chance(report):
        warn += ("<p class='warn'><b>No better than chance.</b> The 95% interval of this judge's Cohen's κ includes "
                 "0: on these pairs it agrees with people no more often than guessing would.</p>")
    return warn


def _people_section(team: dict | None) -> str:
    """Who labelled the pairs, how their votes agree (Krippendorff's α, pairwise κ) and how they became one label."""
    if not team or not team.get("n_labels"):
        return ""
    tables = "".join(_table(team[k].round(3)) for k in ("annotators", "pairwise") if len(team[k]))
    return (f"<h2>Agreement between people</h2><p>{html.escape(summary_sentence(team))}</p>{tables}"
            "<p class='sub'>A judge cannot be expected to agree with people more than people agree with one "
            "another.</p>")


def _constitution_section(found: dict | None) -> str:
    """The constitution versions measured on held-out pairs, and what the version used changed."""
    if not found:
        return ""
    e = html.escape
    table = _table(found["table"]) if len(found["table"]) else "<p>No version has judged the held-out pairs yet.</p>"
    said = "".join(f"<li>{e(s)}</li>" for s in [*found["sentences"], found["multiple"]] if s)
    diff = (f"<p>What {e(found['used'])} changed from {e(found['edited_from'])}:</p><pre>{e(found['diff'])}</pre>"
            if found["diff"] else f"<p>{e(found['used'])} is the first version of its constitution.</p>")
    return (f"<h2>Constitution versions</h2><p>This judge reads constitution {e(found['used'])}. Each version, shown "
            f"to the same judge, on the {found['n_heldout']} held-out pairs of this source (pairs no edit was written "
            f"against; differences are paired, on the same pairs):</p>{table}<ul>{said}</ul>{diff}")


def _examples(examples) -> str:
    if not examples:
        return ""
    e = html.escape
    rows = "".join(
        f"<h3>Human: {e(str(x.get('human_votes') or x['human']))} · judge: {e(str(x['verdict']))}</h3><p><b>Prompt</b></p><pre>{e(x['prompt'])}"
        f"</pre><p><b>A</b></p><pre>{e(x['response_a'])}</pre><p><b>B</b></p><pre>{e(x['response_b'])}</pre>"
        for x in examples)
    return f"<h2>Where the judge and the humans disagreed</h2>{rows}"


def _cost_section(costs: dict[str, dict] | None, focus: str) -> str:
    if not costs:
        return ""
    e = html.escape
    sentence = f"<p>{e(cost_sentence(focus, costs[focus]))}</p>" if focus in costs else ""
    table = _table(cost_table(costs))
    plot = _fig(charts.cost_figure(costs))
    return (f"<h2>What the labels cost</h2>{sentence}{table}{plot}<p class='sub'>Compute is the seconds the "
            "judge recorded (for an API judge, request latencies, which overlap). A label is one judged pair, "
            "both orders shown.</p>")


def run_section(store, run_id: str) -> str:
    """What one training run showed, for the report: its reward model's held-out accuracy against
    the judge and against people, the plain-words readings of response length and reward gaming,
    the flags that fired, the length and proxy-reward-vs-win-rate charts, and the RLHF arm's
    comparison of reward models trained on the judge's and on people's labels. Empty without metrics."""
    from core.views import gaming_charts
    from core.views import training_monitor as monitor
    from core.views.gaming_panel import gaming_panel

    e = html.escape
    run = store.get_run(run_id)
    rm = monitor.rm_summary(store, run_id)
    ppo = monitor.training_metrics(store, run_id)["ppo"]
    if rm.empty and ppo.empty:
        return ""
    parts = [f"<h2>Training run {e(run['name'])} ({e(run['status'])})</h2>",
             f"<p class='sub'>Run {e(run_id)}, started {e(time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(run['created_at'])))}. "
             f"{e(_trained_how(run['config']))}</p>"]
    if not rm.empty:
        parts.append("<h3>Reward model, on held-out pairs</h3>" + _table(rm) +
                     "<p class='sub'>Accuracy against the judge's labels and, where the run had human labels, against "
                     "people's. A reward model that agrees with the judge but not with people learned the judge.</p>")
    panel = gaming_panel(store, run_id)
    reward = monitor.rl_setup(run["config"])[1]
    length = monitor.length_reading(ppo, reward=reward, cap=monitor.length_cap(store, run_id))
    sentences = [s for s in (length, panel.warning, panel.reading) if s]
    if sentences:
        parts.append(f"<h3>What {e(monitor.ALGORITHM_NAMES.get(monitor.rl_setup(run['config'])[0], 'RL'))} did</h3><ul>" + "".join(f"<li>{e(s)}</li>" for s in sentences) + "</ul>")
    if not panel.flags.empty:
        parts.append(_table(panel.flags))
    if not panel.steps.empty:
        parts.append(_fig(gaming_charts.length_figure(panel.steps)))
    if panel.overopt["judge_win_rate"].notna().any():
        parts.append(_fig(gaming_charts.overopt_figure(panel.overopt)))
    parts.append(_arms_section(store, run_id))
    return "".join(parts)


def _arms_section(store, run_id: str) -> str:
    """The RLHF arm (``reward.rlhf_arm``): both reward models on the same held-out pairs, with the reading."""
    from core.views.rlhf_arm_charts import arms_figure
    from core.views.rlhf_arm_panel import arms_reading, arms_table

    table = arms_table(store, run_id)
    if table.empty:
        return ""
    items = "".join(f"<li>{html.escape(s)}</li>" for s in arms_reading(table))
    return (f"<h3>RLAIF vs RLHF reward model</h3><ul>{items}</ul>{_fig(arms_figure(table))}"
            f"{_table(table.round(3))}")


def latest_run_with_metrics(store) -> str | None:
    """The newest training run (not a judge job) that has reward-model or PPO metrics."""
    runs = store.list_runs()
    for run_id in runs.loc[runs["kind"] == "train", "run_id"]:
        if not store.metrics_frame(run_id).empty:
            return run_id
    return None
