"""The stakeholder report is one offline HTML file in which model text stays inert."""
from __future__ import annotations

import dataclasses
import re

from core.data.sample_workspace import ensure_sample_workspace
from core.human_labels.with_verdicts import disagreements, source_audit
from core.schema import ResponsePair
from core.views.report_html import build_report_html

XSS = ['<script>alert(1)</script>', '<img src=x onerror=alert(2)>', '"><svg onload=alert(3)>',
       "[x](javascript:alert(4))", "![i](http://127.0.0.1:9/x.png)"]


def test_report_is_self_contained_and_escapes_model_text(store):
    ensure_sample_workspace(store)
    evil = ResponsePair("sample/evil", "Say hi " + XSS[0], " ".join(XSS), "hi")
    store.add_pairs([evil], dataset="sample")
    store.set_human_label("sample/evil", "team", "b")
    from core.judges import judge_pairs, make_judge

    store.add_judgments(judge_pairs(make_judge("longest"), [evil]))
    reports = source_audit(store, "dataset:sample", n_boot=100)
    examples = disagreements(store, "dataset:sample", "longest", limit=100)
    assert any(x["pair_id"] == "sample/evil" for x in examples)
    html = build_report_html(reports, source="dataset:sample", focus="longest", examples=examples)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    for raw in XSS[:3]:
        assert raw not in html
    assert not re.search(r"<(script|img|link)[^>]+src=[\"']?https?:", html)  # nothing loads from outside
    assert "Plotly" in html and "more length-biased" in html.lower().replace("MORE", "more")


def test_report_says_what_the_labels_cost_beside_human_labels(store):
    from core.schema import Judgment, Preference
    from core.views.costs import source_costs

    ensure_sample_workspace(store)
    ids = store.audit_rows("dataset:sample")["pair_id"]
    store.add_judgments([Judgment(i, "api", Preference.A, 0.9, 0.9, 0.9, True, tokens_in=500, tokens_out=5,
                                  seconds=1.5) for i in ids])
    costs = source_costs(store, "dataset:sample", price_per_1k_input_tokens=1.0, price_per_1k_output_tokens=2.0)
    reports = source_audit(store, "dataset:sample", n_boot=20)
    html = build_report_html(reports, source="dataset:sample", focus="api", costs=costs)
    assert "<h2>What the labels cost</h2>" in html
    assert ("1,000 labels from api took 25 min of compute and cost $510.00 at $1.00 / $2.00 per 1,000 tokens in / "
            "out; 1,000 human labels at $0.67 each cost $670.00, 1.3 times as much.") in html
    assert "human labels" in html and "Cost per 1,000 labels" in html  # the table and the chart
    assert "What the labels cost" not in build_report_html(reports, source="dataset:sample", focus="api")


def test_report_names_judges_as_the_pages_do_and_shows_agreement_between_people(store):
    from core.judges import judge_pairs, make_judge
    from core.views.agreement import annotator_summary

    ensure_sample_workspace(store)
    pairs = store.source_pairs_frame("dataset:sample").head(12)
    for pid in pairs["pair_id"]:  # a second person on 12 pairs: there is agreement between people to show
        store.set_human_label(pid, "second-person", "A")
    from core.schema import to_response_pairs

    judged = judge_pairs(make_judge("longest"), to_response_pairs(pairs))
    store.add_judgments([dataclasses.replace(j, judge="smollm2-135m-letters@e318d926") for j in judged])
    reports = source_audit(store, "dataset:sample", n_boot=50)
    team = annotator_summary(store, "dataset:sample")
    html = build_report_html(reports, source="dataset:sample", focus="smollm2-135m-letters@e318d926", team=team)
    assert "<h1>Judge audit: smollm2-135m-letters</h1>" in html and "e318d926" not in html
    assert "<h2>Agreement between people</h2>" in html and "Krippendorff" in html and "second-person" in html
    assert "Agreement between people" not in build_report_html(reports, source="dataset:sample", focus="longest")


def test_report_run_section_compares_the_rlhf_arm(store):
    from core.views.report_html import run_section

    run_id = store.create_run({"name": "arms"}, name="arms")
    store.add_metrics(run_id, 0, "reward_eval", 0, {"n_train": 51, "n_heldout": 2, "heldout_accuracy": 0.5})
    store.add_metrics(run_id, 0, "reward_arms", 0, {
        "arms/n_heldout": 13, "arms/n_train": 38, "arms/n_train_labels_differ": 12, "arms/n_heldout_rank_differ": 0,
        **{f"{arm}_arm/heldout_{against}_accuracy": 9 / 13 for arm in ("judge", "human") for against in
           ("human", "judge")}})
    html = run_section(store, run_id)
    assert "<h3>RLAIF vs RLHF reward model</h3>" in html and "equal by construction" in html
    assert "RLHF: trained on human labels" in html
    assert "<td>51</td>" in html and "51.0" not in html  # the reward model's counts, whole
