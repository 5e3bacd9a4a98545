"""Stage 6: PPO against the reward model with TRL's experimental PPOTrainer (the only module
that touches ``trl.experimental.ppo``).

The reference policy is a frozen copy of the starting policy; the value model starts from
the reward model. TRL logs ``objective/kl``, ``objective/scores`` and the rest through the
callbacks; ``RolloutRecorder`` adds what TRL does not log: the length of every scored
rollout, so the monitor can show whether the policy is being paid for length.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

from transformers import TrainerCallback

from core.config import PPOStageConfig
from core.loop.generation import chat_prompt


class RolloutRecorder:
    """Forward hooks on the reward model that keep each scored rollout's text, length and score.

    TRL scores a rollout by running the reward model's backbone and ``score`` head on
    (left-padded query + response); the hooks read the token ids and the score at the last
    real token, and split off the query by matching it against the known prompts.
    """

    def __init__(self, reward_model, tokenizer, queries: Sequence[list[int]]):
        self.tokenizer = tokenizer
        self.queries = {tuple(q): i for i, q in enumerate(queries)}
        self.query_lengths = sorted({len(q) for q in queries}, reverse=True)
        self.samples: list[dict] = []
        self._pending = None
        backbone = getattr(reward_model, reward_model.base_model_prefix)
        self._hooks = [backbone.register_forward_hook(self._on_backbone, with_kwargs=True),
                       reward_model.score.register_forward_hook(self._on_score)]

    def _on_backbone(self, module, args, kwargs, output):
        self._pending = (kwargs["input_ids"], kwargs["attention_mask"])

    def _on_score(self, module, args, output):
        ids, mask = self._pending
        width = mask.shape[1]
        last = width - 1 - mask.long().flip(-1).argmax(-1)
        for row in range(ids.shape[0]):
            real = ids[row][mask[row].bool()].tolist()
            n_query = next((n for n in self.query_lengths if tuple(real[:n]) in self.queries), 0)
            response = real[n_query:]
            text = self.tokenizer.decode(response, skip_special_tokens=True).strip()
            n_tokens = len([t for t in response if t != self.tokenizer.eos_token_id])
            self.samples.append({
                "prompt": self.tokenizer.decode(real[:n_query], skip_special_tokens=True),
                "response": text, "score": float(output[row, last[row], 0]), "n_tokens": n_tokens,
                "n_chars": len(text),
            })

    def drain(self) -> list[dict]:
        samples, self.samples = self.samples, []
        return samples

    def remove(self) -> None:
        for hook in self._hooks:
            hook.remove()


def length_metrics(samples: Sequence[dict]) -> dict:
    if not samples:
        return {}
    tokens = [s["n_tokens"] for s in samples]
    chars = [s["n_chars"] for s in samples]
    return {"response/mean_tokens": statistics.fmean(tokens), "response/median_tokens": statistics.median(tokens),
            "response/mean_chars": statistics.fmean(chars), "response/median_chars": statistics.median(chars)}


def latest_checkpoint(folder: str | Path | None) -> tuple[int, Path] | None:
    """(update, folder) of the newest PPO checkpoint in ``folder``; ``step-N`` folders appear
    only complete (written under a temporary name, then renamed)."""
    if folder is None or not Path(folder).is_dir():
        return None
    found = [(int(p.name[5:]), p) for p in Path(folder).glob("step-*") if p.name[5:].isdigit()]
    return max(found, default=None)


class CheckpointCallback(TrainerCallback):
    """Saves policy and value model every ``every`` updates, and continues the step count of a
    resumed run: the trainer starts at 0, this sets it to ``start`` so metrics go on from there."""

    def __init__(self, folder: str | Path | None, every: int, tokenizer, *, start: int = 0):
        self.folder = Path(folder) if folder else None
        self.every, self.tokenizer, self.start = every, tokenizer, start

    def on_train_begin(self, args, state, control, **kwargs):
        state.global_step = self.start
        state.max_steps += self.start

    def on_step_end(self, args, state, control, model=None, **kwargs):
        step = state.global_step
        if (self.folder is None or self.every <= 0 or step % self.every or step >= state.max_steps
                or not state.is_world_process_zero):
            return
        wrapper = getattr(model, "module", model)  # TRL's PolicyAndValueWrapper (DDP-wrapped under accelerate)
        save_checkpoint(self.folder, step, wrapper.policy, wrapper.value_model, self.tokenizer)


def save_checkpoint(folder: Path, step: int, policy, value_model, tokenizer) -> Path:
    """Write ``folder/step-N`` (policy with tokenizer, value model, safetensors) atomically; drop older ones."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".step-{step}.", dir=folder))
    policy.save_pretrained(tmp / "policy", safe_serialization=True)
    tokenizer.save_pretrained(tmp / "policy")
    value_model.save_pretrained(tmp / "value", safe_serialization=True)
    (tmp / "checkpoint.json").write_text(json.dumps({"step": step}), encoding="utf-8")
    final = folder / f"step-{step}"
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    for old in folder.iterdir():
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def run_ppo(policy_path: str | Path, reward_path: str | Path, prompts: Sequence[str], cfg: PPOStageConfig,
            out_dir: str | Path, *, callback_factory=None, checkpoint_dir: str | Path | None = None) -> Path:
    """Fine-tune the policy with PPO; save it to ``out_dir`` and return that path.

    ``callback_factory(recorder)`` returns the TrainerCallbacks to attach; it gets the
    RolloutRecorder so a callback can store each update's rollouts with its metrics.
    With ``checkpoint_dir``, policy and value model are saved there every
    ``cfg.checkpoint_every`` updates, and a run that finds a checkpoint there resumes from it:
    the remaining updates start from the saved policy and value model, the reference policy
    is still ``policy_path``, and steps go on from the checkpoint's. The optimizer state and
    the learning-rate schedule start afresh.
    """
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl.experimental.ppo import PPOConfig, PPOTrainer

    from core.models import load_policy, load_scalar_model, load_tokenizer

    resume = latest_checkpoint(checkpoint_dir) if cfg.checkpoint_every else None
    start = min(resume[0], cfg.updates - 1) if resume else 0
    tokenizer = load_tokenizer(policy_path)
    policy = load_policy(resume[1] / "policy" if resume else policy_path)
    ref_policy = load_policy(policy_path)  # the KL is always to the policy the round started from
    reward_model = load_scalar_model(reward_path, tokenizer.pad_token_id)
    value_model = load_scalar_model(resume[1] / "value" if resume else reward_path, tokenizer.pad_token_id)
    if not prompts:
        raise ValueError("PPO needs at least one prompt")
    # TRL drops ragged batches: repeat the prompts until they fill at least one rollout batch
    prompts = [prompts[i % len(prompts)] for i in range(max(len(prompts), cfg.batch_size))]
    queries = [tokenizer(chat_prompt(tokenizer, p), add_special_tokens=False)["input_ids"] for p in prompts]
    dataset = Dataset.from_dict({"input_ids": queries})
    args = PPOConfig(
        output_dir=str(out_dir), per_device_train_batch_size=cfg.batch_size, gradient_accumulation_steps=1,
        num_mini_batches=cfg.mini_batches, num_ppo_epochs=cfg.ppo_epochs,
        total_episodes=(cfg.updates - start) * cfg.batch_size,
        local_rollout_forward_batch_size=cfg.batch_size, response_length=cfg.response_length, kl_coef=cfg.kl_coef,
        learning_rate=cfg.learning_rate, temperature=cfg.temperature, stop_token="eos",
        missing_eos_penalty=cfg.missing_eos_penalty or None, num_sample_generations=0, logging_steps=1,
        save_strategy="no", report_to="none", seed=cfg.seed + start, disable_tqdm=True, bf16=False,
    )
    recorder = RolloutRecorder(reward_model, tokenizer, queries)
    checkpoints = CheckpointCallback(checkpoint_dir, cfg.checkpoint_every, tokenizer, start=start)
    callbacks = [checkpoints, *(callback_factory(recorder) if callback_factory else [])]
    trainer = PPOTrainer(args=args, processing_class=tokenizer, model=policy, ref_model=ref_policy,
                         reward_model=reward_model, train_dataset=dataset, value_model=value_model,
                         callbacks=callbacks)
    trainer.remove_callback(PrinterCallback)  # metrics go to the store, not stdout
    try:
        trainer.train()
    finally:
        recorder.remove()
    # Not trainer.save_model: under DDP it fails on tied weights ("Some tensors share memory"), and it
    # writes training_args.bin, a pickle. The main process saves the unwrapped policy as safetensors.
    policy = trainer.accelerator.unwrap_model(trainer.model).policy
    if trainer.accelerator.is_main_process:
        policy.save_pretrained(str(out_dir), safe_serialization=True)
        tokenizer.save_pretrained(str(out_dir))
    trainer.accelerator.wait_for_everyone()
    return Path(out_dir)
