"""Stage 2: sample two or more responses per prompt from the current policy.

Generation is batched with left padding; the prompt goes through the policy's chat
template. Each response records its token and character length, which the verbosity
audit and the PPO monitor read later.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Sequence

from core.config import GenerationConfig
from core.schema import Prompt, Response, ResponsePair


def chat_prompt(tokenizer, text: str) -> str:
    return tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                         add_generation_prompt=True)


def generate_responses(model, tokenizer, prompts: Sequence[Prompt], cfg: GenerationConfig, *, round_: int = 0,
                       model_name: str = "", progress: Callable[[int], None] | None = None,
                       done: Collection[str] = (), on_batch: Callable[[list[Response]], None] | None = None
                       ) -> list[Response]:
    """``cfg.responses_per_prompt`` sampled responses for every prompt, seeded per batch.

    Batches whose responses are all in ``done`` (ids already stored) are skipped, and each
    finished batch goes to ``on_batch`` (the pipeline stores it there), so a killed run
    resumes at the batch it was in and samples exactly what it would have sampled.
    """
    import torch

    tokenizer.padding_side = "left"
    model.eval()
    jobs = [(p, k) for p in prompts for k in range(cfg.responses_per_prompt)]
    out: list[Response] = []
    for index, start in enumerate(range(0, len(jobs), cfg.batch_size)):
        batch = jobs[start:start + cfg.batch_size]
        if all(_response_id(round_, p, k) in done for p, k in batch):
            if progress:
                progress(len(batch))
            continue
        torch.manual_seed(cfg.seed + 1000 * round_ + index)
        responses = _generate_batch(model, tokenizer, batch, cfg, round_, model_name)
        if on_batch:
            on_batch(responses)
        out.extend(responses)
        if progress:
            progress(len(batch))
    return out


def _generate_batch(model, tokenizer, batch, cfg: GenerationConfig, round_: int, model_name: str) -> list[Response]:
    import torch

    enc = tokenizer([chat_prompt(tokenizer, p.text) for p, _ in batch], return_tensors="pt", padding=True,
                    add_special_tokens=False)
    with torch.no_grad():
        generated = model.generate(
            **enc, do_sample=True, temperature=cfg.temperature, top_p=cfg.top_p, top_k=0,
            max_new_tokens=cfg.max_new_tokens, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        )
    out = []
    for (prompt, k), tokens in zip(batch, generated[:, enc["input_ids"].shape[1]:]):
        ids = [t for t in tokens.tolist() if t != tokenizer.pad_token_id]
        if tokenizer.eos_token_id in ids:
            ids = ids[: ids.index(tokenizer.eos_token_id)]
        text = tokenizer.decode(ids, skip_special_tokens=True).strip()
        out.append(Response(_response_id(round_, prompt, k), prompt.prompt_id, text, len(ids), len(text), round_,
                            model_name))
    return out


def _response_id(round_: int, prompt: Prompt, k: int) -> str:
    return f"r{round_}-{prompt.prompt_id}-{k}"


def make_pairs(prompts: Sequence[Prompt], responses: Sequence[Response], *, run_id: str, round_: int
               ) -> list[ResponsePair]:
    """Every unordered pair of distinct responses to the same prompt (one pair for two responses)."""
    by_prompt: dict[str, list[Response]] = {}
    for r in responses:
        by_prompt.setdefault(r.prompt_id, []).append(r)
    pairs = []
    for prompt in prompts:
        for a, b in itertools.combinations(by_prompt.get(prompt.prompt_id, []), 2):
            pairs.append(ResponsePair(
                pair_id=f"{run_id}/{a.response_id}~{b.response_id}", prompt=prompt.text, response_a=a.text,
                response_b=b.text, prompt_id=prompt.prompt_id, category=prompt.category, round=round_,
                model_a=a.model, model_b=b.model,
            ))
    return pairs
