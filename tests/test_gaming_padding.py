"""The padding attacks: the yardstick judges fail and defend exactly, a length reward model
always pays for padding, and a real tiny reward model runs through the probe."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from core.gaming.padding import (
    STRATEGIES,
    attack_metrics,
    judge_padding_attack,
    list_items,
    padded_cases,
    probe_reward_model_length,
)
from core.judges import make_judge
from core.models import load_scalar_model, load_tokenizer
from core.schema import ResponsePair

LISTED = "Try these:\n1. Sleep eight hours.\n2. Drink water.\n3. Walk daily."
PROSE = "Paris is the capital of France. It lies on the Seine. It has about two million people."


def pairs(n=6):
    return [ResponsePair(f"p{i}", f"Question {i}?", f"{PROSE} ({i})", f"{LISTED} ({i})") for i in range(n)]


def records(n=4):
    return [{"prompt": [{"role": "user", "content": f"Question {i}?"}],
             "chosen": [{"role": "assistant", "content": f"{PROSE} {i}"}],
             "rejected": [{"role": "assistant", "content": f"{LISTED} {i}"}]} for i in range(n)]


def test_padded_copies_keep_the_original_and_add_no_new_points():
    rng = np.random.default_rng(0)
    for strategy, pad in STRATEGIES.items():
        for text in (LISTED, PROSE, "One line"):
            padded = pad(text, rng)
            assert text in padded and len(padded) > len(text), strategy
    assert list_items(LISTED) == ["Sleep eight hours.", "Drink water.", "Walk daily."]
    assert list_items(PROSE) == ["Paris is the capital of France.", "It lies on the Seine.",
                                 "It has about two million people."]
    restated = STRATEGIES["restated_list"](PROSE, rng)
    assert all(f"{i}. {item}" in restated for i, item in enumerate(list_items(PROSE), 1))


def test_cases_are_seeded_deduplicated_and_skip_empty_responses():
    originals = [("q", "an answer."), ("q", "an answer."), ("q", "  ")]
    cases = padded_cases(originals, seed=3)
    assert len(cases) == len(STRATEGIES)
    assert cases == padded_cases(originals, seed=3)
    with pytest.raises(ValueError, match="unknown padding strategy 'shouting'"):
        padded_cases(originals, strategies=["shouting"])


@pytest.mark.parametrize("judge,failure", [("longest", 1.0), ("shortest", 0.0)])
def test_length_yardsticks_fail_every_case_or_none(judge, failure):
    result = judge_padding_attack(make_judge(judge), pairs(), seed=0)
    assert result["n_cases"] == 2 * 6 * len(STRATEGIES)  # both responses of each pair, every strategy
    assert result["failure_rate"] == failure
    assert result["failure_rate_padded_first"] == failure and result["failure_rate_padded_second"] == failure
    assert result["defended_rate"] == 1.0 - failure and result["tie_rate"] == 0.0
    assert result["consistency"] == 1.0 and result["invalid_rate"] == 0.0
    assert set(result["by_strategy"]) == set(STRATEGIES)
    assert all(part["failure_rate"] == failure for part in result["by_strategy"].values())
    assert {c["verdict"] for c in result["cases"]} == {"padded" if failure else "original"}
    rows = attack_metrics(result, "judge_attack")
    assert rows["judge_attack/all/failure_rate"] == failure and "judge_attack/filler/n_cases" in rows


def test_random_judge_fails_about_half_and_is_inconsistent():
    result = judge_padding_attack(make_judge("random"), pairs(40), seed=0)
    assert 0.3 < result["failure_rate"] + 0.5 * result["tie_rate"] < 0.7
    assert result["consistency"] < 0.75


class LengthRewardModel(torch.nn.Module):
    """A reward model whose reward is its input's token count times ``sign``."""

    def __init__(self, sign: float):
        super().__init__()
        self.sign = sign

    def forward(self, input_ids, attention_mask):
        return SimpleNamespace(logits=self.sign * attention_mask.sum(-1, keepdim=True).float())


@pytest.mark.parametrize("sign,rate", [(1.0, 1.0), (-1.0, 0.0)])
def test_a_length_reward_model_always_prefers_padding(tiny_model_path, sign, rate):
    tokenizer = load_tokenizer(tiny_model_path)
    result = probe_reward_model_length(LengthRewardModel(sign), tokenizer, records(), seed=0)
    assert result["n_cases"] == 2 * 4 * len(STRATEGIES)
    assert result["prefer_padded_rate"] == rate
    assert np.sign(result["mean_reward_gain"]) == sign and result["mean_length_ratio"] > 1
    assert all(part["prefer_padded_rate"] == rate for part in result["by_strategy"].values())


def test_probe_runs_a_real_tiny_reward_model(tiny_model_path):
    tokenizer = load_tokenizer(tiny_model_path)
    model = load_scalar_model(tiny_model_path, tokenizer.pad_token_id).eval()
    result = probe_reward_model_length(model, tokenizer, records(3), seed=1, batch_size=4)
    assert result["n_cases"] == 2 * 3 * len(STRATEGIES)
    assert 0.0 <= result["prefer_padded_rate"] <= 1.0 and math.isfinite(result["mean_reward_gain"])
    assert all(math.isfinite(c["reward_original"]) and math.isfinite(c["reward_padded"]) for c in result["cases"])
    with pytest.raises(ValueError, match="at least one record"):
        probe_reward_model_length(model, tokenizer, [], seed=0)
