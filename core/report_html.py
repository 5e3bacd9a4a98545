"""One self-contained HTML file for stakeholders: findings in plain words, plots embedded.

plotly.js is inlined, so the file opens offline. Every piece of text that came from a model
or a user is escaped with ``html.escape``: a response holding <script> shows as text.
"""
from __future__ import annotations

import html
import time

from core import charts
from core.audit.cost import cost_sentence, cost_table
from core.auditing import at_chance, findings, summary_table

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.45}
h1{margin-bottom:0} .sub{color:#666} table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:right} th{background:#f5f5f5}
td:first-child,th:first-child{text-align:left} li{margin:.3em 0}
pre{white-space:pre-wrap;background:#f7f7f7;padding:8px;border-radius:4px;max-height:14em;overflow:auto}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:8px 12px}
"""


def build_report_html(reports: dict[str, dict], *, source: str, focus: str, examples: list[dict] = (),
                      costs: dict[str, dict] | None = None) -> str:
    """The report for judge ``focus`` (others shown beside it as yardsticks).

    ``costs`` (``core.audit.cost.source_costs``) adds what the labels cost beside human labels.
    """
    import plotly.offline

    if focus not in reports:
        raise ValueError(f"no audit for judge {focus!r}; audited: {sorted(reports)}")
    e = html.escape
    report = reports[focus]
    items = "".join(f"<li>{e(s)}</li>" for s in findings(report, baselines=reports))
    table = summary_table(reports).round(3).to_html(index=False, na_rep="–", escape=True)
    figs = [charts.agreement_figure(reports), charts.p_longer_figure(reports), charts.position_figure(reports),
            charts.length_bucket_figure(reports), charts.calibration_figure(reports), charts.confusion_figure(report)]
    plots = "".join(f.to_html(full_html=False, include_plotlyjs=False) for f in figs)
    warn = _warnings(report)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Judge audit: {e(focus)}</title>
<style>{_STYLE}</style><script>{plotly.offline.get_plotlyjs()}</script></head><body>
<h1>Judge audit: {e(focus)}</h1>
<p class="sub">Pairs: {e(source)} · {report['n_pairs']} pairs with human labels · generated
{e(time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))}</p>
{warn}<h2>Findings</h2><ul>{items}</ul>
<h2>All judges on the same pairs</h2>{table}
<h2>Charts</h2>{plots}
{_cost_section(costs, focus)}{_examples(examples)}
<p class="sub">Intervals are seeded bootstrap 95% CIs ({report.get('n_boot')} resamples). Agreement counts ties as a
label (MT-Bench definition); κ is Cohen's kappa over A/B/TIE.</p></body></html>"""


def _warnings(report: dict) -> str:
    """Boxes above the findings for what a stakeholder must not miss; each claim backed by a 95% interval."""
    warn = ""
    if report.get("verbosity", {}).get("judge_more_length_biased"):
        warn = ("<p class='warn'><b>Verbosity risk.</b> This judge prefers longer answers more than people do, "
                "beyond the margin of error. A reward model trained on its labels is likely to reward length, "
                "and PPO against that reward model is then likely to lengthen answers.</p>")
    if at_chance(report):
        warn += ("<p class='warn'><b>No better than chance.</b> The 95% interval of this judge's Cohen's κ includes "
                 "0: on these pairs it agrees with people no more often than guessing would.</p>")
    return warn


def _examples(examples) -> str:
    if not examples:
        return ""
    e = html.escape
    rows = "".join(
        f"<h3>Human: {e(str(x['human']))} · judge: {e(str(x['verdict']))}</h3><p><b>Prompt</b></p><pre>{e(x['prompt'])}"
        f"</pre><p><b>A</b></p><pre>{e(x['response_a'])}</pre><p><b>B</b></p><pre>{e(x['response_b'])}</pre>"
        for x in examples)
    return f"<h2>Where the judge and the humans disagreed</h2>{rows}"


def _cost_section(costs: dict[str, dict] | None, focus: str) -> str:
    if not costs:
        return ""
    e = html.escape
    sentence = f"<p>{e(cost_sentence(focus, costs[focus]))}</p>" if focus in costs else ""
    table = cost_table(costs).to_html(index=False, na_rep="–", escape=True)
    plot = charts.cost_figure(costs).to_html(full_html=False, include_plotlyjs=False)
    return (f"<h2>What the labels cost</h2>{sentence}{table}{plot}<p class='sub'>Compute is the seconds the "
            "judge recorded (for an API judge, request latencies, which overlap). A label is one judged pair, "
            "both orders shown.</p>")
