"""The stakeholder report is one offline HTML file in which model text stays inert."""
from __future__ import annotations

import re

from core.auditing import disagreements, source_audit
from core.report_html import build_report_html
from core.schema import ResponsePair
from core.workspace import ensure_sample_workspace

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
