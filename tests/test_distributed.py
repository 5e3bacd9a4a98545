"""The reward-model stage under ``accelerate launch`` with two CPU processes (gloo)."""
from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import ROOT

from core.loop.reward_model import pairwise_accuracy
from core.models import load_scalar_model, load_tokenizer

GOOD = ["clear honest answer", "helpful and safe reply", "the capital is Paris", "add the two numbers"]
BAD = ["zzz qqq xxx", "lazy dog lazy dog", "0 9 8 7 6", "no no no no"]


def preference_records(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [{"prompt": [{"role": "user", "content": f"Question {i}: please help."}],
             "chosen": [{"role": "assistant", "content": rng.choice(GOOD)}],
             "rejected": [{"role": "assistant", "content": rng.choice(BAD)}]} for i in range(n)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accelerate_launch(args: list[str]) -> subprocess.CompletedProcess:
    """``accelerate launch`` with the repo's two-CPU-process config, as a user would run it."""
    accelerate = Path(sys.executable).with_name("accelerate")
    command = [str(accelerate), "launch", "--config_file", str(ROOT / "accelerate_configs" / "two_cpu_processes.yaml"),
               "--main_process_port", str(free_port()), "-m", "core.loop.distributed", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_reward_model_trains_across_two_cpu_processes(tiny_model_path, tmp_path):
    records = preference_records(32)
    prefs = tmp_path / "preferences.jsonl"
    prefs.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "rm"
    done = accelerate_launch(["rm", "--records", str(prefs), "--base", str(tiny_model_path), "--out", str(out),
                              "--set", "epochs=4", "--set", "learning_rate=0.003", "--set", "batch_size=4"])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["trainer_world_size"] == 2
    # 24 training pairs, 4 per process per step, 2 processes: 3 steps an epoch (one process takes 6)
    assert metrics["n_train"] == 24 and metrics["steps"] == 4 * 3
    assert metrics["last_loss"] < metrics["first_loss"]
    assert metrics["train_accuracy"] >= 0.9 and metrics["heldout_accuracy"] >= 0.75  # chance is 0.5

    tokenizer = load_tokenizer(out)
    trained = load_scalar_model(out, tokenizer.pad_token_id)
    assert pairwise_accuracy(trained, tokenizer, records) >= 0.9
    base = load_scalar_model(tiny_model_path, tokenizer.pad_token_id).state_dict()
    unchanged = [k for k, v in trained.state_dict().items() if k != "score.weight" and torch.equal(v, base[k])]
    assert unchanged == []


@pytest.mark.slow
def test_rloo_with_the_judge_as_reward_trains_across_two_cpu_processes(tiny_model_path, tmp_path):
    """The RL stage with rl.algorithm rloo and rl.reward judge: the main process judges the gathered batch
    and each process trains on its share."""
    import yaml

    from core.models import load_policy

    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({
        "judge": {"backend": "longest"}, "rl": {"algorithm": "rloo", "reward": "judge"},
        "ppo": {"updates": 2, "batch_size": 4, "mini_batches": 1, "response_length": 8, "learning_rate": 0.001,
                "temperature": 1.0, "checkpoint_every": 0}}))
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": f"Tell me about {w}."}) + "\n"
                               for w in ("cats", "rain", "tea", "maps")))
    out = tmp_path / "policy"
    done = accelerate_launch(["ppo", "--policy", str(tiny_model_path), "--prompts", str(prompts), "--out", str(out),
                              "--config", str(config)])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["trainer_world_size"] == 2
    assert metrics["algorithm"] == "rloo" and metrics["steps"] == 2
    before, after = load_policy(tiny_model_path).state_dict(), load_policy(out).state_dict()
    assert all(not torch.equal(before[k], after[k]) for k in before if "rotary" not in k)
