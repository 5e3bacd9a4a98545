"""The over-optimisation check: win rates, held-out prompts, the frame for the chart, and the
callback inside a real (tiny) TRL PPO run."""
from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from core.config import PPOStageConfig
from core.gaming.callback import OverOptimisationCallback, sample_responses
from core.gaming.overopt import (
    eval_pair_id,
    eval_step,
    heldout_prompts,
    human_win_rate,
    judge_win_metrics,
    overoptimisation_frame,
    win_rate_score,
)
from core.judges import make_judge
from core.loop.ppo import run_ppo
from core.models import load_policy, load_tokenizer
from core.schema import Judgment, Preference


def test_win_rate_counts_ties_half_and_leaves_invalid_out():
    assert win_rate_score(["A", "B", "TIE", "INVALID", None]) == pytest.approx(0.5)
    assert win_rate_score([Preference.A, Preference.A, Preference.B]) == pytest.approx(2 / 3)
    assert math.isnan(win_rate_score(["INVALID"]))
    js = [Judgment(f"x{i}", "j", v, None, None, None, None) for i, v in
          enumerate([Preference.A, Preference.TIE, Preference.INVALID, Preference.B])]
    m = judge_win_metrics(js)
    assert m["overopt/judge_win_rate"] == pytest.approx(0.5)
    assert m["overopt/judge_tie_rate"] == pytest.approx(1 / 3) and m["overopt/n_invalid"] == 1


def test_heldout_prompts_never_include_a_used_prompt_and_are_seeded():
    pool = [f"p{i}" for i in range(20)] + ["p1"]
    used = [f"p{i}" for i in range(0, 20, 2)]
    got = heldout_prompts(pool, used, 5, seed=1)
    assert len(got) == len(set(got)) == 5 and not set(got) & set(used)
    assert got == heldout_prompts(pool, used, 5, seed=1)
    assert len(heldout_prompts(pool, used, 50)) == 10
    with pytest.raises(ValueError, match="n must be"):
        heldout_prompts(pool, used, 0)


def test_human_win_rate_per_step_from_spot_checked_pairs():
    ids = [eval_pair_id("run/ppo-eval/r0", s, i) for s in (4, 8) for i in range(2)]
    assert [eval_step(i) for i in ids] == [4, 4, 8, 8] and eval_step("run/r0-p1~r0-p2") is None
    pairs = pd.DataFrame({"pair_id": ids})
    labels = pd.DataFrame({"pair_id": [ids[0], ids[0], ids[1], ids[2], "other"],
                           "annotator": ["ann", "bob", "ann", "ann", "ann"],
                           "label": ["A", "TIE", "B", "A", "A"]})
    out = human_win_rate(labels, pairs)
    assert out.to_dict("list") == {"step": [4, 8], "n_pairs": [2, 1], "n_labels": [3, 1],
                                   "human_win_rate": [pytest.approx((0.75 + 0.0) / 2), 1.0]}
    assert human_win_rate(labels.iloc[:0], pairs).empty


def test_overoptimisation_frame_lines_up_kl_proxy_and_win_rates():
    metrics = pd.DataFrame({"step": [1, 1, 2, 2, 2, 2], "key": ["objective/kl", "objective/scores"] * 2
                            + ["overopt/judge_win_rate", "loss/policy_avg"],
                            "value": [0.1, 1.0, 0.3, 2.0, 0.4, 9.9]})
    human = pd.DataFrame({"step": [2], "n_pairs": [3], "n_labels": [3], "human_win_rate": [0.25]})
    frame = overoptimisation_frame(metrics, human)
    assert list(frame.columns) == ["step", "kl", "proxy_reward", "judge_win_rate", "human_win_rate"]
    assert frame["kl"].tolist() == [0.1, 0.3] and frame["proxy_reward"].tolist() == [1.0, 2.0]
    assert math.isnan(frame["judge_win_rate"][0]) and frame["judge_win_rate"][1] == 0.4
    assert math.isnan(frame["human_win_rate"][0]) and frame["human_win_rate"][1] == 0.25
    assert overoptimisation_frame(metrics)["human_win_rate"].isna().all()


def test_sampling_leaves_the_rng_and_the_training_mode_as_they_were(tiny_model_path):
    model, tokenizer = load_policy(tiny_model_path).train(), load_tokenizer(tiny_model_path)
    state = torch.get_rng_state()
    first = sample_responses(model, tokenizer, ["Tell me a fact.", "Hi"], max_new_tokens=6, temperature=1.0, seed=5)
    assert torch.equal(state, torch.get_rng_state()) and model.training
    assert first == sample_responses(model, tokenizer, ["Tell me a fact.", "Hi"], max_new_tokens=6,
                                     temperature=1.0, seed=5)


def test_callback_judges_policy_against_reference_during_a_real_ppo_run(tiny_model_path, tmp_path):
    cfg = PPOStageConfig(updates=3, batch_size=4, mini_batches=2, ppo_epochs=1, response_length=8,
                         learning_rate=1e-3, temperature=1.0)
    seen = []
    held_out = ["Name a colour.", "Say hi.", "Count to three."]
    callback = OverOptimisationCallback(make_judge("longest"), held_out, every=2, max_new_tokens=8, temperature=1.0,
                                        seed=0, id_prefix="run/r0", round_=1, reference=tiny_model_path,
                                        on_result=lambda step, m, pairs, js: seen.append((step, m, pairs, js)))
    # the policy's own folder doubles as an untrained reward model: no reward training needed here
    run_ppo(tiny_model_path, tiny_model_path, [f"Tell me about {w}." for w in ("cats", "rain", "tea", "maps")],
            cfg, tmp_path / "policy", callback_factory=lambda recorder: [callback])
    assert [s for s, *_ in seen] == [2, 3]  # every 2 updates, and the last
    # the reference answers are the starting policy's, whatever state the trainer's policy is in
    assert callback.reference == sample_responses(load_policy(tiny_model_path), load_tokenizer(tiny_model_path),
                                                  held_out, max_new_tokens=8, temperature=1.0, seed=0)
    for step, metrics, pairs, judgments in seen:
        assert 0.0 <= metrics["overopt/judge_win_rate"] <= 1.0 and metrics["overopt/n_pairs"] == 3
        assert [eval_step(p.pair_id) for p in pairs] == [step] * 3 and {p.round for p in pairs} == {1}
        assert [p.response_b for p in pairs] == callback.reference
        assert len(judgments) == 3
    assert set(callback.results) == {2, 3}
