"""The cost of labels: per 1,000 labels, from the tokens and seconds every judgment records."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from core.audit.cost import judge_label_cost, label_cost
from core.config import JudgeConfig
from core.judges import make_judge
from core.loop.judging import label_pairs
from core.schema import ResponsePair
from core.views.costs import cost_sentence, cost_table, format_cost, source_costs

FRAME = pd.DataFrame({"pair_id": ["a", "b"], "verdict": ["A", "INVALID"], "tokens_in": [1000, 3000],
                      "tokens_out": [10, 30], "seconds": [1.0, 3.0]})


def test_cost_per_thousand_labels_from_tokens_and_prices():
    cost = label_cost(FRAME, price_per_1k_input_tokens=0.5, price_per_1k_output_tokens=1.5)
    assert cost["n_labels"] == 2 and cost["n_usable"] == 1
    assert cost["seconds_per_1k_labels"] == pytest.approx(2000.0)
    assert cost["tokens_in_per_1k_labels"] == pytest.approx(2_000_000) and cost["tokens_out_per_1k_labels"] == 20_000
    assert cost["money_per_1k_labels"] == pytest.approx(1000 * (0.515 + 1.545) / 2)
    assert cost["money_per_1k_usable_labels"] == pytest.approx(1000 * (0.515 + 1.545))  # INVALID was paid for too
    assert cost["human_money_per_1k_labels"] == pytest.approx(670.0)  # RLAIF paper: $0.67 per human label
    assert cost["reference_ai_money_per_1k_labels"] == pytest.approx(60.0)  # and $0.06 per AI label
    assert cost["human_to_judge_cost_ratio"] == pytest.approx(670.0 / 1030.0)


def test_cost_is_linear_in_prices_and_independent_of_how_many_labels():
    one = label_cost(FRAME, price_per_1k_input_tokens=0.2)
    assert label_cost(FRAME, price_per_1k_input_tokens=0.4)["money_per_1k_labels"] == pytest.approx(
        2 * one["money_per_1k_labels"])
    twice = label_cost(pd.concat([FRAME, FRAME]), price_per_1k_input_tokens=0.2)
    assert twice["money_per_1k_labels"] == pytest.approx(one["money_per_1k_labels"]) and twice["n_labels"] == 4


def test_a_free_judge_and_an_empty_frame():
    free = label_cost(FRAME, human_label_cost=1.0)
    assert free["money_per_1k_labels"] == 0 and free["human_to_judge_cost_ratio"] == math.inf
    empty = label_cost(FRAME.iloc[:0])
    assert empty["n_labels"] == 0 and math.isnan(empty["seconds_per_1k_labels"])
    assert "no labels" in format_cost(empty)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="tokens_out"):
        label_cost(FRAME.drop(columns=["tokens_out"]))
    with pytest.raises(ValueError, match="price_per_1k_input_tokens"):
        label_cost(FRAME, price_per_1k_input_tokens=-1)


def test_format_cost_shows_the_judge_beside_human_labels():
    text = format_cost(label_cost(FRAME, price_per_1k_input_tokens=0.5, price_per_1k_output_tokens=1.5))
    assert "$1030.00" in text and "$670.00 per 1,000" in text and "33 min" not in text and "2000 s" in text


def test_every_judgment_records_what_it_cost(store, tiny_model_path, principles_file):
    pairs = [ResponsePair(f"p{i}", f"Question {i}?", "Yes." * (i + 1), "No.") for i in range(4)]
    store.add_pairs(pairs)
    judge = make_judge(JudgeConfig(backend="local", model=str(tiny_model_path), method="letters",
                                   principles=str(principles_file), batch_size=4))
    label_pairs(store, judge, pairs)
    frame = store.judgments_frame()
    assert (frame["tokens_in"] > 0).all() and (frame["seconds"] > 0).all()
    cost = label_cost(frame)
    assert cost["n_labels"] == 4 and cost["seconds_per_1k_labels"] > 0 and cost["tokens_in_per_1k_labels"] > 0


def test_a_judge_config_carries_its_prices_and_the_human_label_cost():
    cfg = JudgeConfig(backend="openai", base_url="http://127.0.0.1:1/v1", price_per_1k_input_tokens=0.5,
                      price_per_1k_output_tokens=1.5, human_label_cost=1.0)
    cost = judge_label_cost(FRAME, cfg)
    assert cost["money_per_1k_labels"] == pytest.approx(1030.0) and cost["human_money_per_1k_labels"] == 1000.0
    with pytest.raises(ValueError, match="human_label_cost"):
        JudgeConfig(human_label_cost=-0.1)


def _judged_source(store):
    """Dataset 'd': three pairs judged by 'api' (known tokens and seconds, one INVALID) and by 'longest'
    (free); dataset 'other' holds a pair whose cost must not count."""
    from core.schema import Judgment, Preference

    pairs = [ResponsePair(f"d{i}", "q", "long answer", "short") for i in range(3)]
    store.add_pairs(pairs, dataset="d")
    store.add_pairs([ResponsePair("o0", "q", "a", "b")], dataset="other")
    verdicts = [Preference.A, Preference.B, Preference.INVALID]
    store.add_judgments([Judgment(f"d{i}", "api", v, None, None, None, None, tokens_in=1000 * (i + 1),
                                  tokens_out=10 * (i + 1), seconds=2.0 * (i + 1)) for i, v in enumerate(verdicts)])
    store.add_judgments([Judgment(f"d{i}", "longest", Preference.A, 1.0, 1.0, 1.0, True) for i in range(3)])
    store.add_judgments([Judgment("o0", "api", Preference.A, None, None, None, None, tokens_in=10**6,
                                  tokens_out=10**6, seconds=1e6)])


def test_the_store_sums_the_costs_of_one_source_per_judge(store):
    _judged_source(store)
    totals = store.judgment_cost_totals("dataset:d").set_index("judge")
    assert list(totals.index) == ["api", "longest"]
    assert totals.loc["api", ["n_labels", "n_usable", "tokens_in"]].tolist() == [3, 2, 6000]


def test_source_costs_per_judge_from_the_store(store):
    _judged_source(store)
    costs = source_costs(store, "dataset:d", price_per_1k_input_tokens=0.5, price_per_1k_output_tokens=2.0,
                         human_label_cost=1.0)
    assert list(costs) == ["api", "longest"]
    api = costs["api"]
    assert api["n_labels"] == 3 and api["n_usable"] == 2
    assert api["seconds_per_1k_labels"] == pytest.approx(4000.0)  # (2 + 4 + 6) s / 3 labels * 1000
    assert api["tokens_in_per_1k_labels"] == pytest.approx(2_000_000)
    money = 6000 / 1000 * 0.5 + 60 / 1000 * 2.0  # $3.12 for the three labels
    assert api["money_per_1k_labels"] == pytest.approx(1000 * money / 3)  # $1,040
    assert api["money_per_1k_usable_labels"] == pytest.approx(1000 * money / 2)
    assert api["human_money_per_1k_labels"] == 1000.0
    assert api["human_to_judge_cost_ratio"] == pytest.approx(1000.0 / 1040.0)
    assert costs["longest"]["money_per_1k_labels"] == 0 and costs["longest"]["human_to_judge_cost_ratio"] == math.inf
    assert source_costs(store, "dataset:none") == {}


def test_the_cost_table_and_sentence_say_what_1000_labels_cost(store):
    _judged_source(store)
    costs = source_costs(store, "dataset:d", price_per_1k_input_tokens=0.5, price_per_1k_output_tokens=2.0)
    table = cost_table(costs)
    assert table["Judge"].tolist() == ["api", "longest", "human labels"]
    assert table["$ / 1k labels"].tolist() == [pytest.approx(1040.0), 0.0, 670.0]
    assert table["Labels (usable)"].tolist() == ["3 (2)", "3 (3)", ""]
    assert table["Tokens in / out / 1k"].tolist() == ["2,000,000 / 20,000", "0 / 0", ""]  # whole numbers
    assert table["Compute / 1k"].tolist() == ["67 min", "0.0 s", "not measured"]
    assert cost_sentence("api", costs["api"]) == (
        "1,000 labels from api took 67 min of compute and cost $1,040.00 at $0.50 / $2.00 per 1,000 tokens in / out "
        "(1 of its 3 labels was INVALID, so 1,000 usable labels cost $1,560.00); 1,000 human labels at $0.67 each "
        "cost $670.00, 0.64 times as much: this judge costs more.")
    free = source_costs(store, "dataset:d")["longest"]
    assert "cost nothing in tokens" in cost_sentence("longest", free) and "$670.00" in cost_sentence("longest", free)


def test_the_cost_chart_sets_each_judge_beside_human_labels(store):
    from core.views.audit_charts import cost_figure

    _judged_source(store)
    fig = cost_figure(source_costs(store, "dataset:d", price_per_1k_input_tokens=0.5))
    assert list(fig.data[0].x) == ["api", "longest", "human labels"]
    assert list(fig.data[0].y) == [pytest.approx(1000.0), 0.0, 670.0]
    assert not cost_figure({}).data


def test_token_counts_read_as_whole_numbers(store):
    """882333.3333 tokens per 1,000 labels is a count: it reads 882,333."""
    from core.schema import Judgment, Preference

    store.add_pairs([ResponsePair(f"t{i}", "q", "a", "b") for i in range(3)], dataset="t")
    store.add_judgments([Judgment(f"t{i}", "local", Preference.A, 0.9, 0.9, 0.9, True, tokens_in=882 + (i == 0),
                                  tokens_out=1, seconds=4.5) for i in range(3)])
    table = cost_table(source_costs(store, "dataset:t"))
    assert table.loc[0, "Tokens in / out / 1k"] == "882,333 / 1,000"
    assert "." not in table.loc[0, "Tokens in / out / 1k"]


def test_a_price_per_compute_hour_keeps_a_local_judge_from_reading_as_free(store):
    """A local judge spends no paid tokens but 75 min of compute per 1,000 labels: at no price per hour
    it is 'not priced', not $0; at $2 per hour it costs $2.50 per 1,000 labels."""
    from core.schema import Judgment, Preference
    from core.views.audit_charts import cost_figure

    store.add_pairs([ResponsePair(f"l{i}", "q", "a", "b") for i in range(4)], dataset="l")
    store.add_judgments([Judgment(f"l{i}", "smollm2-135m-letters@e318d926", Preference.A, 0.9, 0.9, 0.9, True,
                                  tokens_in=0, tokens_out=0, seconds=4.5) for i in range(4)])
    unpriced = source_costs(store, "dataset:l")["smollm2-135m-letters@e318d926"]
    sentence = cost_sentence("smollm2-135m-letters@e318d926", unpriced)
    assert "took 75 min of compute" in sentence and "its compute is not priced" in sentence
    assert "cost nothing" not in sentence and "$0.00" not in sentence
    fig = cost_figure({"smollm2-135m-letters@e318d926": unpriced})
    assert list(fig.data[0].text) == ["compute not priced", "$670.00"]
    assert list(fig.data[1].y) == [pytest.approx(75.0)]  # the compute panel: minutes per 1,000 labels
    priced = source_costs(store, "dataset:l", price_per_compute_hour=2.0)["smollm2-135m-letters@e318d926"]
    assert priced["money_per_1k_labels"] == pytest.approx(2.5)  # 75 min at $2 per hour
    assert "cost $2.50 at $2.00 per compute hour" in cost_sentence("local", priced)
    assert "and $2 per compute hour" in format_cost(priced)
    assert list(cost_figure({"local": priced}).data[0].text) == ["$2.50", "$670.00"]
    with pytest.raises(ValueError, match="price_per_compute_hour"):
        label_cost(FRAME, price_per_compute_hour=-1)
