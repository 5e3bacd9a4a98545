"""Stage 6: PPO against the reward model with TRL's experimental PPOTrainer (the only module
that touches ``trl.experimental.ppo``).

The reference policy is a frozen copy of the starting policy; the value model starts from
the reward model. TRL logs ``objective/kl``, ``objective/scores`` and the rest through the
callbacks; ``RolloutRecorder`` adds what TRL does not log: the length of every scored
rollout, so the monitor can show whether the policy is being paid for length.
"""
from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

from core.config import PPOStageConfig
from core.generation import chat_prompt


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


def run_ppo(policy_path: str | Path, reward_path: str | Path, prompts: Sequence[str], cfg: PPOStageConfig,
            out_dir: str | Path, *, callback_factory=None) -> Path:
    """Fine-tune the policy with PPO; save it to ``out_dir`` and return that path.

    ``callback_factory(recorder)`` returns the TrainerCallbacks to attach; it gets the
    RolloutRecorder so a callback can store each update's rollouts with its metrics.
    """
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl.experimental.ppo import PPOConfig, PPOTrainer

    from core.models import load_policy, load_scalar_model, load_tokenizer

    tokenizer = load_tokenizer(policy_path)
    policy, ref_policy = load_policy(policy_path), load_policy(policy_path)
    reward_model = load_scalar_model(reward_path, tokenizer.pad_token_id)
    value_model = load_scalar_model(reward_path, tokenizer.pad_token_id)
    if not prompts:
        raise ValueError("PPO needs at least one prompt")
    # TRL drops ragged batches: repeat the prompts until they fill at least one rollout batch
    prompts = [prompts[i % len(prompts)] for i in range(max(len(prompts), cfg.batch_size))]
    queries = [tokenizer(chat_prompt(tokenizer, p), add_special_tokens=False)["input_ids"] for p in prompts]
    dataset = Dataset.from_dict({"input_ids": queries})
    args = PPOConfig(
        output_dir=str(out_dir), per_device_train_batch_size=cfg.batch_size, gradient_accumulation_steps=1,
        num_mini_batches=cfg.mini_batches, num_ppo_epochs=cfg.ppo_epochs, total_episodes=cfg.updates * cfg.batch_size,
        local_rollout_forward_batch_size=cfg.batch_size, response_length=cfg.response_length, kl_coef=cfg.kl_coef,
        learning_rate=cfg.learning_rate, temperature=cfg.temperature, stop_token="eos",
        missing_eos_penalty=cfg.missing_eos_penalty or None, num_sample_generations=0, logging_steps=1,
        save_strategy="no", report_to="none", seed=cfg.seed, disable_tqdm=True, bf16=False,
    )
    recorder = RolloutRecorder(reward_model, tokenizer, queries)
    callbacks = callback_factory(recorder) if callback_factory else []
    trainer = PPOTrainer(args=args, processing_class=tokenizer, model=policy, ref_model=ref_policy,
                         reward_model=reward_model, train_dataset=dataset, value_model=value_model,
                         callbacks=callbacks)
    trainer.remove_callback(PrinterCallback)  # metrics go to the store, not stdout
    try:
        trainer.train()
    finally:
        recorder.remove()
    trainer.save_model(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    return Path(out_dir)
