"""Stage 2: sample two or more responses per prompt from the current policy.

Generation is batched with left padding; the prompt goes through the policy's chat
template. Each response records its token and character length, which the verbosity
audit and the PPO monitor read later.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from core.config import GenerationConfig
from core.schema import Prompt, Response, ResponsePair


def chat_prompt(tokenizer, text: str) -> str:
    return tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                         add_generation_prompt=True)


def generate_responses(model, tokenizer, prompts: Sequence[Prompt], cfg: GenerationConfig, *, round_: int = 0,
                       model_name: str = "", progress: Callable[[int], None] | None = None) -> list[Response]:
    """``cfg.responses_per_prompt`` sampled responses for every prompt, seeded."""
    import torch

    torch.manual_seed(cfg.seed + 1000 * round_)
    tokenizer.padding_side = "left"
    model.eval()
    jobs = [(p, k) for p in prompts for k in range(cfg.responses_per_prompt)]
    out: list[Response] = []
    for start in range(0, len(jobs), cfg.batch_size):
        batch = jobs[start:start + cfg.batch_size]
        enc = tokenizer([chat_prompt(tokenizer, p.text) for p, _ in batch], return_tensors="pt",
                        padding=True, add_special_tokens=False)
        with torch.no_grad():
            generated = model.generate(
                **enc, do_sample=True, temperature=cfg.temperature, top_p=cfg.top_p, top_k=0,
                max_new_tokens=cfg.max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
        new_tokens = generated[:, enc["input_ids"].shape[1]:]
        for (prompt, k), tokens in zip(batch, new_tokens):
            ids = [t for t in tokens.tolist() if t != tokenizer.pad_token_id]
            if tokenizer.eos_token_id in ids:
                ids = ids[: ids.index(tokenizer.eos_token_id)]
            text = tokenizer.decode(ids, skip_special_tokens=True).strip()
            out.append(Response(f"r{round_}-{prompt.prompt_id}-{k}", prompt.prompt_id, text, len(ids), len(text),
                                round_, model_name))
        if progress:
            progress(len(batch))
    return out


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
