"""During PPO, every N updates: the policy against the reference policy on held-out prompts, by the judge.

The reference is the policy the round started from (the model TRL computes the KL against):
its responses are sampled once, at ``on_train_begin``, from ``reference`` (a model folder)
when given, else from the trainer's policy, which is the reference only when PPO starts
fresh rather than from a checkpoint. At update N, 2N, ... and at the last, the current policy
answers the same prompts and the run's judge compares each pair in both orders. Sampling runs
under a forked torch RNG, so training draws the same random numbers with or without this
callback. Under several processes only the main one evaluates.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from transformers import TrainerCallback

from core.gaming.overopt import eval_pair_id, judge_win_metrics
from core.schema import Judgment, ResponsePair

ResultSink = Callable[[int, dict, list[ResponsePair], list[Judgment]], None]


def sample_responses(model, tokenizer, prompts: Sequence[str], *, max_new_tokens: int, temperature: float,
                     seed: int, batch_size: int = 8) -> list[str]:
    """One sampled response per prompt, through the chat template; the model's mode and the
    global RNG are left as they were."""
    import torch

    from core.loop.generation import chat_prompt

    was_training, side = model.training, tokenizer.padding_side
    model.eval()
    tokenizer.padding_side = "left"
    out: list[str] = []
    try:
        with torch.random.fork_rng(), torch.no_grad():
            torch.manual_seed(seed)
            for start in range(0, len(prompts), batch_size):
                enc = tokenizer([chat_prompt(tokenizer, p) for p in prompts[start:start + batch_size]],
                                return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
                generated = model.generate(**enc, do_sample=True, temperature=temperature, top_k=0, top_p=1.0,
                                           max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                                           eos_token_id=tokenizer.eos_token_id)
                for tokens in generated[:, enc["input_ids"].shape[1]:].tolist():
                    ids = [t for t in tokens if t != tokenizer.pad_token_id]
                    if tokenizer.eos_token_id in ids:
                        ids = ids[: ids.index(tokenizer.eos_token_id)]
                    out.append(tokenizer.decode(ids, skip_special_tokens=True).strip())
    finally:
        model.train(was_training)
        tokenizer.padding_side = side
    return out


class OverOptimisationCallback(TrainerCallback):
    """Judge win rate of the policy against the reference policy, every ``every`` PPO updates.

    ``on_result(step, metrics, pairs, judgments)`` receives each evaluation (metrics keys
    ``overopt/...``; pairs with A = policy, B = reference); ``results`` keeps the metrics.
    """

    def __init__(self, judge, prompts: Sequence[str], *, every: int, max_new_tokens: int, temperature: float,
                 seed: int = 0, id_prefix: str = "ppo-eval", round_: int = 0, reference=None,
                 on_result: ResultSink | None = None):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every!r}")
        if not prompts:
            raise ValueError("the over-optimisation check needs at least one held-out prompt")
        self.judge, self.prompts, self.every = judge, list(prompts), every
        self.gen = {"max_new_tokens": max_new_tokens, "temperature": temperature}
        self.seed, self.id_prefix, self.round, self.on_result = seed, id_prefix, round_, on_result
        self.reference_model = reference
        self.reference: list[str] | None = None
        self.results: dict[int, dict] = {}

    def on_train_begin(self, args, state, control, model=None, processing_class=None, **kwargs):
        if not state.is_world_process_zero:
            return
        policy = _policy(model)
        if self.reference_model is not None:
            from core.models import load_policy

            policy = load_policy(self.reference_model).to(policy.device)
        self.reference = sample_responses(policy, processing_class, self.prompts, seed=self.seed, **self.gen)

    def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
        step = state.global_step
        if state.is_world_process_zero and (step % self.every == 0 or step == state.max_steps):
            self.evaluate(step, _policy(model), processing_class)

    def evaluate(self, step: int, policy, tokenizer) -> dict:
        from core.judges import judge_pairs

        texts = sample_responses(policy, tokenizer, self.prompts, seed=self.seed + step, **self.gen)
        pairs = [ResponsePair(eval_pair_id(self.id_prefix, step, i), prompt, mine, ref,
                              round=self.round, model_a=f"policy@{step}", model_b="reference")
                 for i, (prompt, mine, ref) in enumerate(zip(self.prompts, texts, self.reference))]
        judgments = judge_pairs(self.judge, pairs)
        metrics = judge_win_metrics(judgments)
        metrics["overopt/policy_mean_chars"] = sum(map(len, texts)) / len(texts)
        metrics["overopt/reference_mean_chars"] = sum(map(len, self.reference)) / len(self.reference)
        self.results[step] = metrics
        if self.on_result is not None:
            self.on_result(step, metrics, pairs, judgments)
        return metrics


def _policy(model):
    """TRL's PPO hands callbacks a wrapper holding ``.policy`` and ``.value_model`` (DDP-wrapped
    under several processes)."""
    if model is None:
        raise RuntimeError("the over-optimisation callback needs the trainer's model")
    wrapper = getattr(model, "module", model)
    return getattr(wrapper, "policy", wrapper)
