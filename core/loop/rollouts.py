"""What every RL trainer here shares: rollout lengths, checkpoints and resume, the house metric keys,
and the run of a group-baseline trainer (TRL's RLOOTrainer and GRPOTrainer take the same arguments).

Every algorithm writes the same keys to the store (stage ``ppo``), so the monitor and the gaming
panel read any run alike:

- ``objective/scores``: mean raw reward of the update's rollouts (reward-model score, or the
  judge's P(win) with ``rl.reward: judge``); ``objective/kl``: KL to the round's starting policy,
  nats per response; ``objective/entropy``: nats per response; ``objective/rlhf_reward``: score
  minus ``kl_coef`` x KL.
- ``response/mean_tokens`` and friends, from the scored rollouts (``length_metrics``).
- ``reward_cost/...``: what scoring cost in that update (``core/loop/rewards.py``).

PPO logs the ``objective/`` keys itself. RLOO and GRPO log per-token means (``kl``, ``entropy``)
and ``completions/mean_length``; ``house_keys`` turns them into per-response values (exact for
RLOO's KL, whose per-token mean is a sum over tokens divided by the tokens; GRPO's KL is TRL's
k3 estimate, never negative, averaged over the update's mini-batches).
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from transformers import TrainerCallback

from core.models import precision_args


def length_metrics(samples: Sequence[dict]) -> dict:
    if not samples:
        return {}
    tokens = [s["n_tokens"] for s in samples]
    chars = [s["n_chars"] for s in samples]
    return {"response/mean_tokens": statistics.fmean(tokens), "response/median_tokens": statistics.median(tokens),
            "response/mean_chars": statistics.fmean(chars), "response/median_chars": statistics.median(chars)}


def house_keys(logs: dict, kl_coef: float) -> dict:
    """``logs`` of an RLOO or GRPO update with the ``objective/`` keys PPO writes added (see module docstring)."""
    out = {k: v for k, v in logs.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    length = out.get("completions/mean_length")
    if "reward" in out:
        out["objective/scores"] = out["reward"]
    if length is not None:
        for trl_key, key in (("kl", "objective/kl"), ("entropy", "objective/entropy")):
            if trl_key in out:
                out[key] = out[trl_key] * length
    if "objective/scores" in out:
        out["objective/rlhf_reward"] = out["objective/scores"] - kl_coef * out.get("objective/kl", 0.0)
    return out


# -- checkpoints -----------------------------------------------------------------------------
def latest_checkpoint(folder: str | Path | None) -> tuple[int, Path] | None:
    """(update, folder) of the newest RL checkpoint in ``folder``; ``step-N`` folders appear
    only complete (written under a temporary name, then renamed)."""
    if folder is None or not Path(folder).is_dir():
        return None
    found = [(int(p.name[5:]), p) for p in Path(folder).glob("step-*") if p.name[5:].isdigit()]
    return max(found, default=None)


def save_checkpoint(folder: Path, step: int, policy, value_model, tokenizer) -> Path:
    """Write ``folder/step-N`` (policy with tokenizer, PPO's value model when given; safetensors)
    atomically; drop older ones. A LoRA policy saves its adapters only."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".step-{step}.", dir=folder))
    policy.save_pretrained(tmp / "policy", safe_serialization=True)
    tokenizer.save_pretrained(tmp / "policy")
    if value_model is not None:
        value_model.save_pretrained(tmp / "value", safe_serialization=True)
    (tmp / "checkpoint.json").write_text(json.dumps({"step": step}), encoding="utf-8")
    final = folder / f"step-{step}"
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    for old in folder.iterdir():
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


class CheckpointCallback(TrainerCallback):
    """Saves the policy (and PPO's value model) every ``every`` updates, and continues the step count
    of a resumed run: the trainer starts at 0, this sets it to ``start`` so metrics go on from there.

    A checkpoint must come after the update's metrics and rollouts are in the store: a run killed
    between the two would resume after an update whose record was never written. PPO logs an update
    before its step ends; the Trainer behind RLOO and GRPO ends the step first and logs after, so there
    the checkpoint is written on the log (``save_on='log'``, with this callback after the store's)."""

    def __init__(self, folder: str | Path | None, every: int, tokenizer, *, start: int = 0, save_on: str = "step_end"):
        self.folder = Path(folder) if folder else None
        self.every, self.tokenizer, self.start, self.save_on = every, tokenizer, start, save_on

    def on_train_begin(self, args, state, control, **kwargs):
        state.global_step = self.start
        state.max_steps += self.start

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self.save_on == "step_end":
            self._save(state, model)

    def on_log(self, args, state, control, model=None, logs=None, **kwargs):
        if self.save_on == "log":
            self._save(state, model)

    def _save(self, state, model) -> None:
        step = state.global_step
        if (self.folder is None or self.every <= 0 or step % self.every or step >= state.max_steps
                or not state.is_world_process_zero):
            return
        wrapper = getattr(model, "module", model)  # DDP-wrapped under accelerate
        # PPO hands callbacks its PolicyAndValueWrapper; RLOO and GRPO the policy itself
        save_checkpoint(self.folder, step, getattr(wrapper, "policy", wrapper), getattr(wrapper, "value_model", None),
                        self.tokenizer)


def resume_point(checkpoint_dir: str | Path | None, every: int, updates: int) -> tuple[int, Path | None]:
    """(updates already done, checkpoint folder or None) for a run that may have left a checkpoint."""
    found = latest_checkpoint(checkpoint_dir) if every else None
    return (min(found[0], updates - 1), found[1]) if found else (0, None)


def repeat_to(prompts: Sequence[str], n: int) -> list[str]:
    """``prompts`` repeated in order until there are at least ``n`` (TRL drops a ragged last batch)."""
    if not prompts:
        raise ValueError("RL needs at least one prompt")
    return [prompts[i % len(prompts)] for i in range(max(len(prompts), n))]


# -- RLOO and GRPO ---------------------------------------------------------------------------
def group_trainer_args(cfg, rl, out_dir, *, start: int, report_to: Sequence[str] = ()) -> dict:
    """The arguments RLOOConfig and GRPOConfig share, from the ``ppo:`` and ``rl:`` sections.

    One update = one generation batch of ``batch_size`` rollouts (``batch_size / samples_per_prompt``
    prompts) and one optimizer step on it, its ``mini_batches`` accumulated: on-policy, as the RLAIF
    paper's REINFORCE. Gradient checkpointing (TRL's default) is off: on these sizes recomputing
    activations costs time and saves little memory; it changes no number the step computes."""
    return dict(
        output_dir=str(out_dir), per_device_train_batch_size=cfg.batch_size // cfg.mini_batches,
        gradient_accumulation_steps=cfg.mini_batches, num_generations=rl.samples_per_prompt,
        max_completion_length=cfg.response_length, temperature=cfg.temperature, top_p=1.0, top_k=0,
        beta=cfg.kl_coef, learning_rate=cfg.learning_rate, num_iterations=1, max_steps=cfg.updates - start,
        logging_steps=1, save_strategy="no", report_to=list(report_to) or "none", seed=cfg.seed + start,
        disable_tqdm=True, gradient_checkpointing=False, **precision_args(rl.precision),
    )


def lora_config(rl):
    """The peft LoraConfig of ``rl.lora_r`` (attention and MLP projections), or None when it is 0."""
    if not rl.lora_r:
        return None
    from peft import LoraConfig

    return LoraConfig(r=rl.lora_r, lora_alpha=rl.lora_alpha, lora_dropout=0.0, task_type="CAUSAL_LM",
                      target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])


def run_group_trainer(trainer_cls, config_cls, extra_args: dict, policy_path, scorer, prompts: Sequence[str], cfg, rl,
                      out_dir, *, callback_factory: Callable | None = None, checkpoint_dir=None,
                      report_to: Sequence[str] = ()) -> Path:
    """Train with ``trainer_cls`` (RLOOTrainer or GRPOTrainer) and ``scorer`` as its reward function;
    save the policy to ``out_dir`` (LoRA adapters merged in) and return that path.

    ``callback_factory(scorer)`` returns TrainerCallbacks to attach (a callback drains the scorer's
    rollouts at each update). A checkpoint in ``checkpoint_dir`` is resumed from as in PPO: the
    remaining updates start from the saved policy, the reference stays ``policy_path``, steps go on."""
    from datasets import Dataset
    from transformers import PrinterCallback

    from core.models import load_policy, load_tokenizer

    start, resume = resume_point(checkpoint_dir, cfg.checkpoint_every, cfg.updates)
    tokenizer = load_tokenizer(policy_path)
    peft = lora_config(rl)
    full_resume = resume is not None and peft is None
    policy = load_policy(resume / "policy" if full_resume else policy_path)
    # TRL loads the reference from the model's name: the round's starting policy, also after a resume
    policy.config._name_or_path = str(policy_path)
    n_prompts = cfg.batch_size // rl.samples_per_prompt
    texts = repeat_to(list(prompts), n_prompts)
    dataset = Dataset.from_dict({"prompt": [[{"role": "user", "content": t}] for t in texts]})
    args = config_cls(**group_trainer_args(cfg, rl, out_dir, start=start, report_to=report_to), **extra_args)
    callbacks = [*(callback_factory(scorer) if callback_factory else []),  # the store's first: see CheckpointCallback
                 CheckpointCallback(checkpoint_dir, cfg.checkpoint_every, tokenizer, start=start, save_on="log")]
    trainer = trainer_cls(model=policy, reward_funcs=[scorer], args=args, train_dataset=dataset,
                          processing_class=tokenizer, callbacks=callbacks, peft_config=peft)
    trainer.remove_callback(PrinterCallback)  # metrics go to the store, not stdout
    if resume is not None and peft is not None:
        _load_adapters(trainer.model, resume / "policy")
    scorer.to(trainer.accelerator.device)
    trainer.train()
    return save_policy(trainer, tokenizer, out_dir)


def _load_adapters(model, folder: Path) -> None:
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    set_peft_model_state_dict(model, load_file(str(folder / "adapter_model.safetensors")))


def save_policy(trainer, tokenizer, out_dir) -> Path:
    """The main process saves the unwrapped policy as safetensors, LoRA adapters merged in, so the next
    round and every reader load a plain model. Not trainer.save_model: under DDP it fails on tied
    weights, and it writes training_args.bin, a pickle."""
    policy = trainer.accelerator.unwrap_model(trainer.model)
    if hasattr(policy, "merge_and_unload"):
        policy = policy.merge_and_unload()
    if trainer.accelerator.is_main_process:
        policy.save_pretrained(str(out_dir), safe_serialization=True)
        tokenizer.save_pretrained(str(out_dir))
    trainer.accelerator.wait_for_everyone()
    return Path(out_dir)
