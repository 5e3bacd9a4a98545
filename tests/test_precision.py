"""bf16 mixed precision for the training stages: 'auto' follows the hardware, the trainers really
compute in bf16, the models still learn, and what is saved and reported stays float32."""
from __future__ import annotations

import pytest
import torch
from safetensors import safe_open
from transformers import TrainerCallback

from core import models
from core.config import ConfigError, PPOStageConfig, RewardConfig, RLConfig, config_from_dict
from core.loop.reward_model import train_reward_model
from core.loop.rl import run_rl
from core.models import native_bf16, precision_args, use_bf16
from tests.test_training import preference_records

PROMPTS = [f"Tell me about {w}." for w in ("cats", "rain", "tea", "maps")]


class DtypeSpy(TrainerCallback):
    """Records the dtype of one layer's outputs while the trainer trains, and after it has finished."""

    def __init__(self, layer: str):
        self.layer, self.during, self.after, self.training = layer, set(), set(), False

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.training = True
        module = next(m for name, m in model.named_modules() if name.endswith(self.layer))
        module.register_forward_hook(lambda m, i, out: (self.during if self.training else self.after).add(out.dtype))

    def on_train_end(self, args, state, control, **kwargs):
        self.training = False


class KLRecorder(TrainerCallback):
    def __init__(self):
        self.values = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "kl" in logs:
            self.values.append(logs["kl"])


def saved_dtypes(folder) -> set:
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        return {f.get_slice(k).get_dtype() for k in f.keys()}


def test_auto_means_bf16_only_where_the_cpu_computes_it_natively(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    (tmp_path / "with").write_text("flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n")
    (tmp_path / "without").write_text("flags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n")
    assert native_bf16(tmp_path / "with") and not native_bf16(tmp_path / "without")
    assert not native_bf16(tmp_path / "missing")  # no /proc/cpuinfo (macOS): fp32
    assert precision_args("fp32") == {"bf16": False}
    assert precision_args("bf16") == {"bf16": True, "use_cpu": True}  # transformers wants use_cpu for bf16 on a CPU
    for native in (True, False):
        monkeypatch.setattr(models, "native_bf16", lambda native=native: native)
        assert (use_bf16("auto"), use_bf16("bf16"), use_bf16("fp32")) == (native, True, False)


@pytest.mark.parametrize("section", ["reward", "rl"])
def test_an_unknown_precision_is_refused_naming_the_field(section):
    with pytest.raises(ConfigError, match=f"'{section}.precision'"):
        config_from_dict({section: {"precision": "fp16"}})


def test_bf16_ppo_is_refused_as_ppo_would_not_use_it():
    with pytest.raises(ConfigError, match="'rl.precision'.*PPOTrainer"):
        config_from_dict({"rl": {"algorithm": "ppo", "precision": "bf16"}})
    assert config_from_dict({"rl": {"algorithm": "ppo", "precision": "auto"}}).rl.precision == "auto"  # fp32 there


def test_reward_model_trains_in_bf16_and_is_saved_and_measured_in_fp32(tiny_model_path, tmp_path):
    records = preference_records(24)
    spy = DtypeSpy("score")
    cfg = RewardConfig(epochs=6, learning_rate=3e-3, batch_size=4, eval_fraction=0.25, precision="bf16")
    metrics = train_reward_model(tiny_model_path, records, cfg, tmp_path / "rm", callbacks=[spy])
    assert spy.during == {torch.bfloat16}  # the training passes ran under bf16 autocast
    assert spy.after == {torch.float32}  # the accuracies below were measured in float32
    assert metrics["train_accuracy"] >= 0.9  # it still learns its pairs (chance is 0.5)
    assert saved_dtypes(tmp_path / "rm") == {"F32"}


def test_reward_model_in_fp32_never_computes_in_bf16(tiny_model_path, tmp_path):
    spy = DtypeSpy("score")
    train_reward_model(tiny_model_path, preference_records(8), RewardConfig(epochs=1, batch_size=4, eval_fraction=0),
                       tmp_path / "rm", callbacks=[spy])
    assert spy.during == {torch.float32}


@pytest.mark.parametrize("algorithm", ["rloo", "grpo"])
def test_rl_trains_in_bf16_and_saves_a_float32_policy_that_moved(algorithm, tiny_model_path, reward_model_path,
                                                                tmp_path):
    cfg = PPOStageConfig(updates=2, batch_size=4, mini_batches=1, ppo_epochs=1, response_length=8,
                         learning_rate=1e-3, temperature=1.0)
    spy, kl = DtypeSpy("lm_head"), KLRecorder()
    out = run_rl(tiny_model_path, PROMPTS, cfg, RLConfig(algorithm=algorithm, precision="bf16"), tmp_path / "policy",
                 reward_path=reward_model_path, callback_factory=lambda scorer: [spy, kl])
    assert torch.bfloat16 in spy.during
    assert abs(kl.values[0]) < 1e-5  # policy and reference read in the same precision: no KL before any step
    assert saved_dtypes(out) == {"F32"}
    with safe_open(str(out / "model.safetensors"), "pt") as after, \
            safe_open(str(tiny_model_path / "model.safetensors"), "pt") as before:
        key = "model.layers.0.self_attn.q_proj.weight"
        assert not torch.equal(after.get_tensor(key), before.get_tensor(key))
