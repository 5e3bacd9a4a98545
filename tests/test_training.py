"""The real TRL trainers on tiny random-init models: the reward model learns, PPO moves the policy."""
from __future__ import annotations

import random

import torch

from core.config import PPOStageConfig, RewardConfig
from core.loop.callbacks import StoreCallback
from core.loop.ppo import run_ppo
from core.loop.reward_model import pairwise_accuracy, train_reward_model
from core.models import load_policy, load_scalar_model, load_tokenizer

GOOD = ["clear honest answer", "helpful and safe reply", "the capital is Paris", "add the two numbers"]
BAD = ["zzz qqq xxx", "lazy dog lazy dog", "0 9 8 7 6", "no no no no"]


def preference_records(n, seed=0):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        prompt = [{"role": "user", "content": f"Question {i}: please help."}]
        out.append({"prompt": prompt, "chosen": [{"role": "assistant", "content": rng.choice(GOOD)}],
                    "rejected": [{"role": "assistant", "content": rng.choice(BAD)}]})
    return out


def params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_reward_model_learns_its_pairs_and_every_parameter_moves(tiny_model_path, tmp_path, store):
    records = preference_records(24)
    tok = load_tokenizer(tiny_model_path)
    before_model = load_scalar_model(tiny_model_path, tok.pad_token_id)
    before = params(before_model)
    cfg = RewardConfig(epochs=6, learning_rate=3e-3, batch_size=4, eval_fraction=0.25)
    callback = StoreCallback(store, "", 0, "reward")
    metrics = train_reward_model(tiny_model_path, records, cfg, tmp_path / "rm", callbacks=[callback],
                                 human_records=preference_records(8, seed=1))
    assert metrics["n_train"] == 18 and metrics["n_heldout"] == 6
    assert metrics["train_accuracy"] >= 0.9  # chance is 0.5
    assert metrics["human_accuracy"] >= 0.75
    trained = load_scalar_model(tmp_path / "rm", tok.pad_token_id)
    assert pairwise_accuracy(trained, load_tokenizer(tmp_path / "rm"), records) >= 0.9
    after = params(trained)
    unchanged = [k for k in before if k != "score.weight" and torch.equal(before[k], after[k])]
    assert unchanged == []
    logged = store.metrics_frame("")
    assert {"loss", "accuracy"} <= set(logged.key)


def test_ppo_changes_the_policy_and_logs_kl_and_scores(tiny_model_path, tmp_path, store):
    rm_dir = tmp_path / "rm"
    train_reward_model(tiny_model_path, preference_records(8), RewardConfig(epochs=1, batch_size=4,
                                                                           eval_fraction=0), rm_dir)
    cfg = PPOStageConfig(updates=2, batch_size=4, mini_batches=2, ppo_epochs=1, response_length=8,
                         learning_rate=1e-3, temperature=1.0)
    recorded = []

    def callbacks(recorder):
        def extra(step):
            samples, cost = recorder.drain()
            recorded.append(samples)
            assert cost["reward_cost/seconds"] > 0  # the reward model's forward passes were timed
            return {"response/mean_tokens": sum(s["n_tokens"] for s in samples) / max(1, len(samples))}

        return [StoreCallback(store, "", 0, "ppo", extra=extra)]

    out = run_ppo(tiny_model_path, rm_dir, [f"Tell me about {w}." for w in ("cats", "rain", "tea", "maps")], cfg,
                  tmp_path / "policy", callback_factory=callbacks)
    before, after = params(load_policy(tiny_model_path)), params(load_policy(out))
    assert all(not torch.equal(before[k], after[k]) for k in before if "rotary" not in k)
    logged = store.metrics_frame("", stage="ppo")
    assert {"objective/kl", "objective/scores", "objective/rlhf_reward", "response/mean_tokens"} <= set(logged.key)
    assert sorted(logged.step.unique()) == [1, 2]
    assert [len(s) for s in recorded] == [4, 4]  # every rollout of every update was seen
    assert all(0 <= s["n_tokens"] <= 8 and s["prompt"].strip() for batch in recorded for s in batch)
