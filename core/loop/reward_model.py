"""Stage 5: train the reward model with TRL's RewardTrainer (the only module that touches it).

The reward model starts from the policy's base model with a scalar head, and learns from the
pairwise loss -log sigma(r(x, y_chosen) - r(x, y_rejected)). Accuracy is reported on the
training pairs, on held-out pairs against the judge's labels, and against human labels when
there are any: a reward model that agrees with the judge but not with people has learned
the judge's biases.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from core.config import RewardConfig


def split_records(records: list[dict], eval_fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(records))
    n_eval = int(round(len(records) * eval_fraction)) if len(records) >= 4 else 0
    return [records[i] for i in order[n_eval:]], [records[i] for i in order[:n_eval]]


def latest_checkpoint(folder: str | Path | None) -> Path | None:
    """The newest complete Trainer checkpoint (``checkpoint-N`` holding ``trainer_state.json``,
    which the Trainer writes last) in ``folder``, or None."""
    if folder is None or not Path(folder).is_dir():
        return None
    done = [p for p in Path(folder).glob("checkpoint-*")
            if p.name.split("-")[-1].isdigit() and (p / "trainer_state.json").is_file()]
    return max(done, key=lambda p: int(p.name.split("-")[-1]), default=None)


def checkpoint_step(checkpoint: Path | None) -> int:
    return 0 if checkpoint is None else int(checkpoint.name.split("-")[-1])


def train_reward_model(base_model: str | Path, records: list[dict], cfg: RewardConfig, out_dir: str | Path, *,
                       callbacks: Sequence = (), human_records: Sequence[dict] = (),
                       checkpoint_dir: str | Path | None = None,
                       eval_sets: Mapping[str, Sequence[dict]] | None = None, report_to: Sequence[str] = ()) -> dict:
    """Train on ``records`` (TRL conversational preference rows); save to ``out_dir``.

    With ``checkpoint_dir``, a checkpoint is saved there every ``cfg.checkpoint_every`` steps
    and training resumes from the newest complete one (weights, optimizer, scheduler, RNG and
    data position), so a killed run goes on from step k instead of 0; the same records must
    be given again. Returns metrics: ``train_accuracy``, ``heldout_accuracy`` (vs the judge),
    ``human_accuracy`` (vs human labels, when given), ``<name>_accuracy`` and ``<name>_margins``
    (r(chosen) - r(rejected) per record, a list) for each of ``eval_sets`` (more records to score,
    by name), pair counts, ``resumed_from_step``, and ``path``. ``report_to``: trackers
    transformers also sends the logs to (``RunConfig.report_to``).
    """
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl import RewardConfig as TRLRewardConfig
    from trl import RewardTrainer

    from core.models import load_scalar_model, load_tokenizer, precision_args

    if len(records) < 2:
        raise ValueError(f"the reward model needs at least 2 preference pairs, got {len(records)}")
    train, held_out = split_records(records, cfg.eval_fraction, cfg.seed)
    tokenizer = load_tokenizer(base_model)
    tokenizer.padding_side = "right"  # the sequence head reads the last non-pad token either way
    model = load_scalar_model(base_model, tokenizer.pad_token_id)
    columns = ("prompt", "chosen", "rejected")
    saving = checkpoint_dir is not None and cfg.checkpoint_every > 0
    resume = latest_checkpoint(checkpoint_dir) if saving else None
    args = TRLRewardConfig(
        output_dir=str(checkpoint_dir if saving else out_dir), num_train_epochs=cfg.epochs,
        learning_rate=cfg.learning_rate, per_device_train_batch_size=cfg.batch_size, max_length=cfg.max_length,
        logging_steps=1, save_strategy="steps" if saving else "no", save_steps=max(1, cfg.checkpoint_every),
        save_total_limit=1, report_to=list(report_to) or "none", seed=cfg.seed, disable_tqdm=True, center_rewards_coefficient=0.01,
        **precision_args(cfg.precision),  # mixed precision for training only: the accuracies below are float32
    )
    trainer = RewardTrainer(model=model, args=args, processing_class=tokenizer,
                            train_dataset=Dataset.from_list([{k: r[k] for k in columns} for r in train]),
                            callbacks=list(callbacks))
    trainer.remove_callback(PrinterCallback)  # metrics go to the store, not stdout
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    trainer.save_model(str(out_dir))
    tokenizer.padding_side = "left"
    if trainer.is_world_process_zero():  # under accelerate launch, one process writes the files
        tokenizer.save_pretrained(str(out_dir))
        (Path(out_dir) / "training_args.bin").unlink(missing_ok=True)  # a pickle: model folders hold safetensors only
    # accelerate wrapped forward in bf16 autocast for training (reward.precision); unwrapping without that
    # wrapper measures the accuracies in float32 whatever the training precision
    model = trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False).eval()
    metrics = {
        "n_train": len(train), "n_heldout": len(held_out), "n_human": len(human_records),
        "train_accuracy": pairwise_accuracy(model, tokenizer, train),
        "heldout_accuracy": pairwise_accuracy(model, tokenizer, held_out) if held_out else float("nan"),
        "human_accuracy": pairwise_accuracy(model, tokenizer, human_records) if human_records else float("nan"),
        "resumed_from_step": checkpoint_step(resume), "path": str(out_dir),
    }
    for name, extra in (eval_sets or {}).items():
        margins = pairwise_margins(model, tokenizer, extra)
        metrics[f"{name}_accuracy"] = accuracy_of(margins)
        metrics[f"{name}_margins"] = margins.tolist()  # per pair, so two models can be compared pair by pair
    return metrics


def score_conversations(model, tokenizer, conversations: Sequence[list[dict]], batch_size: int = 8) -> np.ndarray:
    """Reward of each full conversation (prompt + response messages), in the order given.

    Batches are formed over the conversations sorted by token count, so a batch pads to a length
    near its members' own (about a quarter fewer tokens than in the given order on the sample pairs);
    the attention mask keeps a padded row's reward its own."""
    import torch

    texts = [tokenizer.apply_chat_template(c, tokenize=False) for c in conversations]
    ids = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    device = getattr(model, "device", None)  # a transformers model knows its device; a bare module (tests) may not
    out = np.zeros(len(ids), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        enc = tokenizer.pad({"input_ids": [ids[i] for i in batch]}, return_tensors="pt")
        with torch.no_grad():
            out[batch] = model(**(enc.to(device) if device is not None else enc)).logits[:, 0].float().cpu().numpy()
    return out


def pairwise_margins(model, tokenizer, records: Sequence[dict]) -> np.ndarray:
    """r(chosen) - r(rejected) per record."""
    if not records:
        return np.zeros(0)
    scores = score_conversations(model, tokenizer, [r["prompt"] + r[side] for side in ("chosen", "rejected")
                                                    for r in records])  # one call: both sides share the batches
    return scores[:len(records)] - scores[len(records):]


def accuracy_of(margins: np.ndarray) -> float:
    """Share of pairs with a positive margin; ties count half; NaN without pairs."""
    margins = np.asarray(margins, dtype=np.float64)
    return float(np.mean((margins > 0) + 0.5 * (margins == 0))) if margins.size else float("nan")


def pairwise_accuracy(model, tokenizer, records: Sequence[dict]) -> float:
    """Share of pairs where r(chosen) > r(rejected); ties count half."""
    return accuracy_of(pairwise_margins(model, tokenizer, records))
