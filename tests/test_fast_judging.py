"""The local judge's fast path: shared-prefix KV caches give the same answers as plain passes,
no text is generated, and the generate-and-parse yardstick reads only plain letters."""
from __future__ import annotations

import importlib.util
import json

import pytest
import torch
from conftest import ROOT

from core.config import JudgeConfig
from core.judges import judge_pairs, make_judge
from core.judges.base import JudgeItem
from core.judges.generate_parse import GenerateParseJudge
from core.judges.local import LocalJudge, read_principles, shared_prefix_length
from core.judges.prefix_tree import pack_segments, prefix_tree, tree_attention
from core.schema import Preference, ResponsePair

QUESTIONS = ["Explain in two short sentences why the sky looks blue on a clear day at noon.",
             "Give me a simple recipe for a quick vegetable soup that a beginner can cook."]
ANSWERS = ["Sunlight scatters off air.", "Blue light scatters more than red light does, so the sky looks blue.",
           "Boil water, add vegetables.", "Chop carrots and onions, simmer them in stock for twenty minutes, season.",
           "I do not know."]
PAIRS = [ResponsePair("s1", QUESTIONS[0], ANSWERS[0], ANSWERS[1]),
         ResponsePair("s2", QUESTIONS[0], ANSWERS[4], ANSWERS[0]),
         ResponsePair("v1", QUESTIONS[1], ANSWERS[2], ANSWERS[3]),
         ResponsePair("v2", QUESTIONS[1], ANSWERS[3], ANSWERS[4]),
         ResponsePair("x1", "Hi?", "Hello.", "Hey there, how can I help?")]


@pytest.fixture(scope="module")
def local_parts(tiny_model_path):
    from core.models import load_policy, load_tokenizer

    return load_policy(tiny_model_path).eval(), load_tokenizer(tiny_model_path)


def plain_next_token_probs(model, text_ids):
    with torch.no_grad():
        return torch.softmax(model(input_ids=torch.tensor([text_ids])).logits[0, -1].float(), dim=-1)


@pytest.mark.parametrize(("method", "pass_tokens"), [("letters", 1024), ("pointwise", 1024), ("pointwise", 40)])
def test_shared_prefixes_give_the_answers_of_plain_forward_passes(method, pass_tokens, local_parts,
                                                                  principles_file):
    model, tokenizer = local_parts
    judge = LocalJudge(model, tokenizer, read_principles(principles_file), method=method, batch_size=3,
                       pass_tokens=pass_tokens)  # 40 tokens: questions split between passes
    texts = [judge._chat(f"{read_principles(principles_file)}\n\nQuestion: {q}\n\nAnswer: {a}")
             for q in QUESTIONS for a in ANSWERS] + [judge._chat("Hi?")]
    got = {i: probs for i, probs, _, _ in judge._next_token_probs(texts, None)}
    assert sorted(got) == list(range(len(texts)))
    for i, text in enumerate(texts):
        want = plain_next_token_probs(model, tokenizer(text, add_special_tokens=False)["input_ids"])
        assert torch.allclose(got[i], want, atol=1e-5)
    judgments = judge_pairs(judge, PAIRS)
    assert all(j.verdict is not Preference.INVALID and j.tokens_in > 0 for j in judgments)


def test_both_orders_of_many_pairs_take_few_forward_passes_and_no_generation(local_parts, principles_file):
    model, tokenizer = local_parts
    judge = LocalJudge(model, tokenizer, read_principles(principles_file), method="pointwise", batch_size=16)
    calls = []
    hook = model.register_forward_pre_hook(lambda module, args: calls.append(1))
    original, model.generate = model.generate, None  # any generate() call would fail
    try:
        judgments = judge_pairs(judge, PAIRS * 4)  # 20 pairs, 40 orders, 6 distinct (question, response)
    finally:
        hook.remove()
        model.generate = original
    assert len(judgments) == 20
    # one pass for the principles, one per question that several responses share, then the rest
    assert len(calls) <= 1 + 2 * len(QUESTIONS) + 1


def test_prefix_tree_packs_every_text_once_and_lets_each_token_see_only_its_own_text():
    seqs = [[1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 7], [1, 2, 9], [1, 2, 3, 4, 8], [1, 2, 9, 9], [1, 2, 3, 4, 5, 6]]
    n_all = shared_prefix_length(seqs)
    assert n_all == 2 and shared_prefix_length([[5, 6]]) == 1 and shared_prefix_length([]) == 0
    segments = prefix_tree(seqs, n_all)
    assert sum(len(s.tokens) for s in segments) == 8  # 3 4 | 5 | 6 | 7 | 8 | 9 | 9: shared stretches once
    assert sorted(i for s in segments for i in s.ends) == list(range(len(seqs)))
    for budget in (100, 3):
        passes = pack_segments(segments, budget)
        assert {i for p in passes for s in p for i in segments[s].ends} == set(range(len(seqs)))
        for pass_ids in passes:
            ids, positions, blocks, last = tree_attention(segments, pass_ids, n_all)
            tokens = seqs[0][:n_all] + ids[0].tolist()  # what a key index stands for
            for s, (q0, q1, keys, mask) in zip(pass_ids, blocks):
                assert q0 <= last[s] == q1 - 1
                for i in segments[s].ends:  # the last token sees exactly its own text, in order
                    assert [tokens[k] for k in keys[mask[-1]].tolist()] == seqs[i]
                    assert positions[0, last[s]] == len(seqs[i]) - 1
    assert len(pack_segments(segments, 3)) > len(pack_segments(segments, 100)) == 1


def test_generate_and_parse_judge_reads_only_plain_letters(local_parts, principles_file):
    model, tokenizer = local_parts
    judge = GenerateParseJudge(model, tokenizer, read_principles(principles_file), max_new_tokens=3, batch_size=4)
    readings = judge.read_orders([JudgeItem(p.prompt, p.response_a, p.response_b) for p in PAIRS])
    for reading in readings:
        assert reading.tokens_in > 0 and 1 <= reading.tokens_out <= 3 and reading.seconds > 0
        assert reading.p_first in (None, 0.0, 1.0)
        if reading.p_first is None:  # a random tiny model mostly answers noise: kept, never A or B
            assert reading.raw.strip() not in ("A", "B")
    assert any(r.p_first is None for r in readings)


def test_make_judge_builds_the_generate_method(tiny_model_path, principles_file):
    judge = make_judge(JudgeConfig(backend="local", model=str(tiny_model_path), method="generate",
                                   principles=str(principles_file), max_answer_tokens=2))
    assert isinstance(judge, GenerateParseJudge) and judge.max_new_tokens == 2
    assert {j.verdict for j in judge_pairs(judge, PAIRS[:2])} <= set(Preference)


def test_benchmark_prints_both_rates_and_the_ratio(tiny_model_path, tmp_path, capsys):
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps({"id": p.pair_id, "prompt": p.prompt, "response_a": p.response_a,
                                        "response_b": p.response_b, "human_preferred": h}) + "\n"
                            for p, h in zip(PAIRS, ["b", "tie", "b", "a", "b"])))
    spec = importlib.util.spec_from_file_location("bench_local_judge", ROOT / "benchmarks" / "bench_local_judge.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--model", str(tiny_model_path), "--n", "4", "--data", str(data), "--batch-size", "4"])
    out = capsys.readouterr().out
    assert "4 pairs with a human winner" in out
    assert out.count("pairs/s") >= 3 and "ratio fast-pointwise / generate-and-parse" in out
