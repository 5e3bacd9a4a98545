"""Tables people read: human column names and rounded numbers."""
from __future__ import annotations

import re

from core.data.sample_workspace import ensure_sample_workspace
from core.human_labels.with_verdicts import source_audit
from core.views.agreement import breakdown_table, summary_table


def test_the_audit_tables_speak_in_words_and_round(store):
    ensure_sample_workspace(store)
    reports = source_audit(store, "dataset:sample", n_boot=20)
    for table in (summary_table(reports), breakdown_table(reports["longest"]["by_category"])):
        assert not [c for c in table.columns if "_" in c or c[:1].islower()], list(table.columns)
        numbers = table.select_dtypes("number").to_numpy().ravel()
        assert all(abs(x * 1000 - round(x * 1000)) < 1e-6 for x in numbers if x == x)
    table = summary_table(reports).set_index("Judge")
    assert {"Agreement (95% CI)", "No ties", "Cohen's κ (95% CI)"} <= set(table.columns)
    assert len(table.columns) <= 7  # fits a 1280 px page; each CI beside its value, not in two more columns
    longest = reports["longest"]
    lo, hi = longest["agreement_ci95"]
    assert table.loc["longest", "Agreement (95% CI)"] == f"{longest['agreement']:.0%} ({lo:.0%}–{hi:.0%})"
    assert re.fullmatch(r"-?\d\.\d\d \(-?\d\.\d\d to -?\d\.\d\d\)", table.loc["longest", "Cohen's κ (95% CI)"])
    assert table.loc["longest", "Longer: judge / people"].startswith("100% / ")
    assert list(breakdown_table(longest["by_category"]).columns) == [
        "Group", "Pairs", "Agreement (95% CI)", "Without ties", "Cohen's κ", "Longer: judge / people"]
    from core.views.agreement import COLUMN_HELP

    assert set(table.columns) - {"Judge"} <= set(COLUMN_HELP)  # every short header explained on hover


def test_a_judge_has_the_same_colour_on_every_chart(store):
    from core.views import audit_charts as charts

    ensure_sample_workspace(store)
    reports = source_audit(store, "dataset:sample", n_boot=20)
    reports["mine@1a2b3c4d"] = reports["longest"]
    colour_of = {}
    for fig in (charts.length_bucket_figure(reports), charts.calibration_figure(reports)):
        for trace in fig.data:
            if trace.name != "perfect":
                colour_of.setdefault(trace.name.split(" (ECE")[0], set()).add(trace.line.color)
    assert set(colour_of) == {"longest", "shortest", "random", "mine"}
    assert all(len(c) == 1 for c in colour_of.values())  # one colour per judge across the charts
    assert len({next(iter(c)) for c in colour_of.values()}) == 4  # and no two judges share one


def test_cost_table_sentence_and_charts_show_the_readable_judge_name(store):
    from core.schema import Judgment, Preference
    from core.views import audit_charts as charts
    from core.views.costs import cost_sentence, cost_table, source_costs

    ensure_sample_workspace(store)
    key = "openai-gpt@1a2b3c4d"
    store.add_judgments([Judgment(i, key, Preference.A, 0.9, 0.9, 0.9, True, tokens_in=50, tokens_out=1, seconds=1.0)
                         for i in store.audit_rows("dataset:sample")["pair_id"]])
    costs = source_costs(store, "dataset:sample", price_per_1k_input_tokens=1.0, price_per_1k_output_tokens=1.0)
    assert "openai-gpt" in set(cost_table(costs)["Judge"]) and key not in set(cost_table(costs)["Judge"])
    assert cost_sentence(key, costs[key]).startswith("1,000 labels from openai-gpt took")
    assert "openai-gpt" in list(charts.cost_figure(costs).data[0].x)
    report = source_audit(store, "dataset:sample", n_boot=20)[key]
    assert charts.confusion_figure(report).layout.title.text == "Confusion: openai-gpt vs humans"


def test_every_agreement_chart_has_axis_titles(store):
    from core.views import audit_charts as charts
    from core.views.costs import source_costs

    ensure_sample_workspace(store)
    reports = source_audit(store, "dataset:sample", n_boot=20)
    figures = [charts.agreement_figure(reports), charts.confusion_figure(reports["longest"]),
               charts.position_figure(reports), charts.p_longer_figure(reports),
               charts.length_bucket_figure(reports), charts.calibration_figure(reports),
               charts.cost_figure(source_costs(store, "dataset:sample"))]
    for fig in figures:
        names = [k for k in fig.layout if k.startswith(("xaxis", "yaxis"))]
        assert {"xaxis", "yaxis"} <= set(names), (fig.layout.title.text, names)
        titles = [getattr(fig.layout, k).title.text for k in names]
        assert all(titles), (fig.layout.title.text, titles)
