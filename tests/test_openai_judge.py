"""The OpenAI-compatible judge against a real HTTP server on loopback, with injected faults.

Nothing is mocked on the client side: ``fake_openai_server`` is a real ThreadingHTTPServer
that these tests start, whose model prefers the longer response.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from fake_openai_server import FakeOpenAIServer

from core.cli import main as cli_main
from core.config import ConfigError, JudgeConfig, config_from_dict
from core.judges import judge_pairs, make_judge
from core.judges.generate_parse import p_first_from_text
from core.judges.openai_api import JudgeAPIError, letter_masses
from core.loop.judging import label_pairs
from core.schema import Preference, ResponsePair

KEY_ENV = "RLAIF_TEST_JUDGE_KEY"
SECRET = "sk-test-" + "s3cr3t" * 4
PAIRS = [ResponsePair(f"p{i}", f"Question {i}: what do you say?", "Short." if i % 2 else "A long answer. " * (i + 2),
                      "A long answer. " * (i + 2) if i % 2 else "Short.") for i in range(6)]
LONGER = ["A", "B", "A", "B", "A", "B"]


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)


@pytest.fixture
def server():
    with FakeOpenAIServer() as srv:
        yield srv


@pytest.fixture
def judge_yaml(tmp_path, server, principles_file):
    def write(**fields):
        data = {"backend": "openai", "base_url": server.base_url, "model": "fake-judge", "api_key_env": KEY_ENV,
                "principles": principles_file.name, "concurrency": 4, "timeout_s": 2.0, "max_retries": 3,
                "backoff_s": 0.01, **fields}
        path = tmp_path / "judge.yaml"
        path.write_text(yaml.safe_dump(data))
        return str(path)

    return write


def answered_per_item(server) -> int:
    return max(server.answered.count(text) for text in set(server.answered))


def test_judges_both_orders_from_the_logprobs(server, judge_yaml, store):
    judgments = judge_pairs(make_judge(judge_yaml(), store=store), PAIRS)
    assert [j.verdict.value for j in judgments] == LONGER
    for j in judgments:
        expected = 0.8 if j.verdict.value == "A" else 0.2
        assert j.consistent and j.p_a_ab == pytest.approx(j.p_a_ba) == pytest.approx(expected)
        assert "P(A)=" in j.raw_ab and j.tokens_in > 0 and j.tokens_out == 2 and j.seconds > 0
    assert len(server.requests) == 2 * len(PAIRS)
    body = server.requests[0]["body"]
    assert body["logprobs"] is True and body["top_logprobs"] == 5 and body["temperature"] == 0
    assert 1 <= body["max_tokens"] <= 4 and body["model"] == "fake-judge"
    assert {r["authorization"] for r in server.requests} == {f"Bearer {SECRET}"}


def test_a_pair_already_judged_is_never_paid_for_twice(server, judge_yaml, store, tmp_path):
    first = judge_pairs(make_judge(judge_yaml(), store=store), PAIRS)
    # what cannot change the answer (concurrency, prices, retries) keeps the same cache
    again = judge_pairs(make_judge(judge_yaml(concurrency=1, price_per_1k_input_tokens=0.5), store=store), PAIRS)
    assert len(server.requests) == 2 * len(PAIRS)
    assert [j.p_a for j in again] == [j.p_a for j in first]
    assert [j.tokens_in for j in again] == [j.tokens_in for j in first]  # the cost of the label, as paid
    other = tmp_path / "other.txt"
    other.write_text("- Prefer the kinder answer.\n")
    judge_pairs(make_judge(judge_yaml(principles=str(other)), store=store), PAIRS[:1])
    assert len(server.requests) == 2 * len(PAIRS) + 2  # new principles: a new judge definition


def test_429_and_500_are_retried_with_backoff(server, judge_yaml, store):
    server.add_fault("status", status=429, retry_after=0, match="Question 0")
    server.add_fault("status", status=500, times=2, match="Question 1")
    server.add_fault("status", status=503, match="Question 2")
    judgments = judge_pairs(make_judge(judge_yaml(), store=store), PAIRS)
    assert [j.verdict.value for j in judgments] == LONGER
    assert len(server.requests) == 2 * len(PAIRS) + 4 and len(server.answered) == 2 * len(PAIRS)


def test_requests_run_concurrently_but_never_more_than_the_limit(server, judge_yaml, store):
    server.add_fault("delay", seconds=0.3, times=99)  # every answer is slow
    judge_pairs(make_judge(judge_yaml(concurrency=3), store=store), PAIRS)
    assert 1 < server.max_in_flight <= 3, server.max_in_flight


def test_a_slow_answer_times_out_and_is_retried(server, judge_yaml, store):
    server.add_fault("delay", seconds=1.5, match="Question 3")
    server.add_fault("drop", match="Question 4")
    judgments = judge_pairs(make_judge(judge_yaml(timeout_s=0.3), store=store), PAIRS)
    assert [j.verdict.value for j in judgments] == LONGER
    assert len(server.requests) == 2 * len(PAIRS) + 2
    assert judgments[3].seconds >= 0.3  # the wait is part of what the label took


def test_retries_run_out_with_an_error_that_names_the_server(server, judge_yaml, store):
    server.add_fault("status", status=500, times=99, match="Question 2")
    with pytest.raises(JudgeAPIError, match=r"no answer after 3 attempts.*HTTP 500") as caught:
        judge_pairs(make_judge(judge_yaml(max_retries=2, concurrency=1), store=store), PAIRS[2:3])
    assert server.base_url in str(caught.value)


def test_a_refused_key_stops_at_once_and_is_never_shown(server, judge_yaml, store):
    server.add_fault("status", status=401, text=f"Incorrect API key provided: {SECRET}")
    judge = make_judge(judge_yaml(concurrency=1), store=store)
    with pytest.raises(JudgeAPIError, match="HTTP 401") as caught:
        judge_pairs(judge, PAIRS[:1])
    assert SECRET not in str(caught.value) and "***" in str(caught.value)
    assert SECRET not in repr(judge) and SECRET not in repr(judge.cfg)
    assert len(server.requests) <= 2  # no retries of a 401 (the other order may already be in flight)


def test_a_missing_key_variable_is_named_before_any_request(server, judge_yaml, store, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(JudgeAPIError, match=KEY_ENV):
        judge_pairs(make_judge(judge_yaml(), store=store), PAIRS)
    assert server.requests == []


def test_garbage_answers_are_invalid_with_the_raw_text_kept(server, judge_yaml, store):
    store.add_pairs(PAIRS)
    server.add_fault("garbage", times=2, match="Question 0")  # both orders of p0
    server.add_fault("garbage", text="Hmm, hard to say.", match="Question 1")  # one order of p1
    label_pairs(store, make_judge(judge_yaml(concurrency=1), store=store), PAIRS)
    frame = store.judgments_frame().set_index("pair_id")
    assert frame.loc["p0", "verdict"] == Preference.INVALID.value
    assert frame.loc["p0", "raw_ab"] == "I think both responses have merit." and pd.isna(frame.loc["p0", "p_a"])
    assert frame.loc["p1", "verdict"] == "B" and pd.isna(frame.loc["p1", "consistent"])
    assert "Hmm, hard to say." in (frame.loc["p1", "raw_ab"], frame.loc["p1", "raw_ba"])
    assert list(frame.loc[[f"p{i}" for i in range(2, 6)], "verdict"]) == LONGER[2:]


def test_without_logprobs_the_text_is_parsed(server, judge_yaml, store):
    server.add_fault("no_logprobs", times=2, match="Question 0")
    server.add_fault("no_logprobs", text="Response B.", match="Question 1")
    judgments = judge_pairs(make_judge(judge_yaml(concurrency=1), store=store), PAIRS[:2])
    assert judgments[0].p_a_ab == 1.0 and judgments[0].p_a_ba == 1.0 and judgments[0].raw_ab == "A"
    assert judgments[1].verdict is Preference.B and "Response B." in (judgments[1].raw_ab, judgments[1].raw_ba)


@pytest.mark.parametrize("text, p", [("A", 1.0), ("B", 0.0), (" B.", 0.0), ("**A**", 1.0), ("Response A", 1.0),
                                     ("Answer: B", 0.0), ("(A)", 1.0), ("A or B", None), ("The answer is A", None),
                                     ("a", None), ("", None), ("Both are fine.", None), ("AB", None)])
def test_text_parsing_is_strict(text, p):
    assert p_first_from_text(text) == p


def test_letter_masses_add_spelling_variants_and_skip_non_letter_answers():
    top = [{"token": "A", "logprob": -0.5}, {"token": " A", "logprob": -2.0}, {"token": "B", "logprob": -1.5},
           {"token": "The", "logprob": -3.0}]
    p_a, p_b = letter_masses({"content": [{"token": "A", "logprob": -0.5, "top_logprobs": top}]})
    assert p_a == pytest.approx(0.6065 + 0.1353, abs=1e-3) and p_b == pytest.approx(0.2231, abs=1e-3)
    assert letter_masses({"content": [{"token": "Response", "logprob": -0.1, "top_logprobs": top}]}) is None
    assert letter_masses(None) is None and letter_masses({"content": []}) is None


def test_a_crash_mid_labeling_resumes_without_paying_twice(server, judge_yaml, store):
    store.add_pairs(PAIRS)
    server.add_fault("status", status=500, times=99, match="Question 4")
    with pytest.raises(JudgeAPIError):
        label_pairs(store, make_judge(judge_yaml(max_retries=1, concurrency=2), store=store), PAIRS, chunk_size=3)
    assert len(store.judgments_frame()) == 3  # the first chunk committed; the second died
    paid_before = len(server.answered)
    assert paid_before > 6 and store.cached_reading_count() == paid_before
    server.clear_faults()
    label_pairs(store, make_judge(judge_yaml(), store=store), PAIRS, chunk_size=3)
    assert list(store.judgments_frame().sort_values("pair_id")["verdict"]) == LONGER
    assert len(server.answered) == 2 * len(PAIRS) and answered_per_item(server) == 1


def test_the_key_is_never_written_to_the_store(server, judge_yaml, store):
    store.add_pairs(PAIRS)
    server.add_fault("status", status=500, text=f"echo {SECRET}", match="Question 0")
    label_pairs(store, make_judge(judge_yaml(), store=store), PAIRS)
    for path in store.path.parent.glob(store.path.name + "*"):  # the database and its WAL
        assert SECRET.encode() not in path.read_bytes()


def test_an_openai_judge_needs_a_url_and_reads_letters_only():
    with pytest.raises(ValueError, match="base_url"):
        JudgeConfig(backend="openai")
    with pytest.raises(ValueError, match="letters"):
        JudgeConfig(backend="openai", base_url="http://x/v1", method="pointwise")


def write_pairs_file(tmp_path: Path) -> Path:
    """PAIRS as a human-labelled pairs JSONL (the longer response wins), for ``core audit --pairs``."""
    pairs_file = tmp_path / "pairs.jsonl"
    pairs_file.write_text("".join(json.dumps({"id": p.pair_id, "prompt": p.prompt, "response_a": p.response_a,
                                              "response_b": p.response_b, "human_preferred": h.lower()}) + "\n"
                                  for p, h in zip(PAIRS, LONGER)))
    return pairs_file


def test_audit_command_takes_a_judge_yaml(server, judge_yaml, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RLAIF_AUDIT_STORE", str(tmp_path / "cli" / "store.sqlite"))
    pairs_file = write_pairs_file(tmp_path)
    report = tmp_path / "report.json"
    assert cli_main(["audit", "--pairs", str(pairs_file), "--judge", judge_yaml(), "--n-boot", "20",
                     "--json", str(report)]) == 0
    assert "openai-fake-judge@" in capsys.readouterr().out
    assert json.loads(report.read_text())["agreement"] == 1.0
    assert len(server.answered) == 2 * len(PAIRS) and (tmp_path / "cli" / "store.sqlite").is_file()


def test_audit_command_prices_the_judges_tokens(server, judge_yaml, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RLAIF_AUDIT_STORE", str(tmp_path / "cli" / "store.sqlite"))
    pairs_file = write_pairs_file(tmp_path)
    report = tmp_path / "report.json"
    judge = judge_yaml(price_per_1k_input_tokens=0.25, human_label_cost=0.5)
    assert cli_main(["audit", "--pairs", str(pairs_file), "--judge", judge, "--n-boot", "20", "--json", str(report),
                     "--price-out", "2.0"]) == 0
    cost = json.loads(report.read_text())["cost"]
    assert cost["tokens_out_per_1k_labels"] == 2000  # one answer token per order, two orders per label
    assert cost["tokens_in_per_1k_labels"] > 0 and cost["price_per_1k_input_tokens"] == 0.25  # from the YAML
    assert cost["money_per_1k_labels"] == pytest.approx(cost["tokens_in_per_1k_labels"] / 1000 * 0.25 + 2 * 2.0)
    assert cost["human_money_per_1k_labels"] == 500.0
    assert "cost / 1,000 labels" in capsys.readouterr().out


def test_a_run_config_can_name_an_openai_judge(server, store, principles_file, monkeypatch):
    from core.runs.pipeline import judge_round
    from core.runs.progress import Reporter

    monkeypatch.setenv("RLAIF_AUDIT_STORE", str(store.path))
    judge = {"backend": "openai", "base_url": server.base_url, "model": "fake-judge", "api_key_env": KEY_ENV,
             "principles": str(principles_file), "backoff_s": 0.01}
    cfg = config_from_dict({"judge": judge})
    run_id = store.create_run(cfg.to_dict())
    store.add_pairs(PAIRS, run_id=run_id)
    judge_round(store, run_id, cfg, PAIRS, Reporter(store, run_id, show_bars=False))
    frame = store.judgments_frame(run_id=run_id).sort_values("pair_id")
    assert list(frame["verdict"]) == LONGER and frame["judge"].str.startswith("openai-fake-judge@").all()
    assert "sk-" not in json.dumps(store.get_run(run_id)["config"])
    with pytest.raises(ConfigError, match="api_key'"):
        config_from_dict({"judge": {**judge, "api_key": SECRET}})
