"""Stage 6: PPO against the reward model with TRL's experimental PPOTrainer (the only module
that touches ``trl.experimental.ppo``).

The reference policy is a frozen copy of the starting policy; the value model starts from
the reward model. TRL logs ``objective/kl``, ``objective/scores`` and the rest through the
callbacks; ``RolloutRecorder`` adds what TRL does not log: the length of every scored
rollout, so the monitor can show whether the policy is being paid for length.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from core.config import PPOStageConfig
from core.loop.generation import chat_prompt
from core.loop.rollouts import CheckpointCallback, repeat_to, resume_point


class RolloutRecorder:
    """Forward hooks on the reward model that keep each scored rollout's text, length and score.

    TRL scores a rollout by running the reward model's backbone and ``score`` head on
    (left-padded query + response); the hooks read the token ids and the score at the last
    real token, and split off the query by matching it against the known prompts. The time from the
    backbone's start to the score is the reward model's cost (``reward_cost/seconds``).
    """

    def __init__(self, reward_model, tokenizer, queries: Sequence[list[int]]):
        self.tokenizer = tokenizer
        self.queries = {tuple(q): i for i, q in enumerate(queries)}
        self.query_lengths = sorted({len(q) for q in queries}, reverse=True)
        self.samples: list[dict] = []
        self.seconds, self._began = 0.0, 0.0
        self._pending = None
        backbone = getattr(reward_model, reward_model.base_model_prefix)
        self._hooks = [backbone.register_forward_pre_hook(self._on_start),
                       backbone.register_forward_hook(self._on_backbone, with_kwargs=True),
                       reward_model.score.register_forward_hook(self._on_score)]

    def _on_start(self, module, args):
        self._began = time.perf_counter()

    def _on_backbone(self, module, args, kwargs, output):
        self._pending = (kwargs["input_ids"], kwargs["attention_mask"])

    def _on_score(self, module, args, output):
        self.seconds += time.perf_counter() - self._began
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

    def drain(self) -> tuple[list[dict], dict[str, float]]:
        """The rollouts scored since the last call, and what scoring them cost."""
        samples, self.samples = self.samples, []
        seconds, self.seconds = self.seconds, 0.0
        return samples, {"reward_cost/seconds": seconds}

    def remove(self) -> None:
        for hook in self._hooks:
            hook.remove()


def run_ppo(policy_path: str | Path, reward_path: str | Path, prompts: Sequence[str], cfg: PPOStageConfig,
            out_dir: str | Path, *, callback_factory=None, checkpoint_dir: str | Path | None = None,
            report_to: Sequence[str] = ()) -> Path:
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

    start, resume = resume_point(checkpoint_dir, cfg.checkpoint_every, cfg.updates)
    tokenizer = load_tokenizer(policy_path)
    policy = load_policy(resume / "policy" if resume else policy_path)
    ref_policy = load_policy(policy_path)  # the KL is always to the policy the round started from
    reward_model = load_scalar_model(reward_path, tokenizer.pad_token_id)
    value_model = load_scalar_model(resume / "value" if resume else reward_path, tokenizer.pad_token_id)
    prompts = repeat_to(list(prompts), cfg.batch_size)  # TRL drops ragged batches
    queries = [tokenizer(chat_prompt(tokenizer, p), add_special_tokens=False)["input_ids"] for p in prompts]
    dataset = Dataset.from_dict({"input_ids": queries})
    args = PPOConfig(
        output_dir=str(out_dir), per_device_train_batch_size=cfg.batch_size, gradient_accumulation_steps=1,
        num_mini_batches=cfg.mini_batches, num_ppo_epochs=cfg.ppo_epochs,
        total_episodes=(cfg.updates - start) * cfg.batch_size,
        local_rollout_forward_batch_size=cfg.batch_size, response_length=cfg.response_length, kl_coef=cfg.kl_coef,
        learning_rate=cfg.learning_rate, temperature=cfg.temperature, stop_token="eos",
        missing_eos_penalty=cfg.missing_eos_penalty or None, num_sample_generations=0, logging_steps=1,
        save_strategy="no", report_to=list(report_to) or "none", seed=cfg.seed + start, disable_tqdm=True, bf16=False,
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
