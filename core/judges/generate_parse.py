"""The generate-and-parse judge: let the model write its answer, then read "A" or "B" from it.

This is how most LLM judges are run, and the yardstick for the local judge's fast path
(``core/judges/local.py`` reads the same verdict from one forward pass's token
probabilities). It shows the same prompt (the ``letters`` template), generates greedily up
to ``max_answer_tokens`` with ``model.generate`` in left-padded batches, and parses the text
strictly with ``p_first_from_text``: an answer that is not a plain letter is unreadable
(None), never A or B. ``benchmarks/bench_local_judge.py`` compares the two.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from core.judges.base import Judge, JudgeItem
from core.judges.local import _LETTERS_TEMPLATE, read_principles
from core.schema import OrderReading

_DECORATION = " \t\r\n*_`\"'.,:;!()[]"
_VERDICT = re.compile(r"(?:(?i:response|answer|output)\s*[:(\[]?\s*)?([AB])")


def p_first_from_text(text: str) -> float | None:
    """1.0 for an answer that is just "A" (decorated: "A.", "**A**", "Response A"), 0.0 for B, else None."""
    match = _VERDICT.fullmatch(text.strip(_DECORATION))
    if match is None:
        return None
    return 1.0 if match.group(1) == "A" else 0.0


def verdict_letter(token: str) -> str | None:
    """'A' or 'B' for a token that is only that letter (spaces and punctuation aside), else None."""
    core = token.strip(_DECORATION)
    return core if core in ("A", "B") else None


class GenerateParseJudge(Judge):
    def __init__(self, model, tokenizer, principles: str, *, name: str = "generate", batch_size: int = 8,
                 max_response_chars: int = 1500, max_new_tokens: int = 3):
        self.model, self.tokenizer, self.principles = model.eval(), tokenizer, principles
        self.name, self.batch_size = name, batch_size
        self.max_response_chars, self.max_new_tokens = max_response_chars, max_new_tokens

    @classmethod
    def from_config(cls, cfg) -> "GenerateParseJudge":
        from core.models import load_policy, load_tokenizer, resolve_model

        path = resolve_model(cfg.model)
        model_name = cfg.model if cfg.model in ("smollm2-135m", "tiny") else Path(cfg.model).name
        return cls(load_policy(path), load_tokenizer(path), read_principles(cfg.principles),
                   name=f"{model_name}-generate", batch_size=cfg.batch_size,
                   max_response_chars=cfg.max_response_chars, max_new_tokens=cfg.max_answer_tokens)

    def read_orders(self, items: Sequence[JudgeItem], progress: Callable[[int], None] | None = None):
        encoded = [self.tokenizer(self._prompt(item), add_special_tokens=False)["input_ids"] for item in items]
        order = sorted(range(len(items)), key=lambda i: len(encoded[i]))
        out: list[OrderReading | None] = [None] * len(items)
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            t0 = time.perf_counter()
            answers = self._generate([encoded[i] for i in batch])
            secs = (time.perf_counter() - t0) / len(batch)
            for i, answer in zip(batch, answers):
                text = self.tokenizer.decode(answer, skip_special_tokens=True)
                out[i] = OrderReading(p_first_from_text(text), raw=text, tokens_in=len(encoded[i]),
                                      tokens_out=len(answer), seconds=secs)
            if progress:
                progress(len(batch))
        return out

    def _generate(self, prompts: list[list[int]]) -> list[list[int]]:
        """Greedy answers, each cut after its first end-of-sequence token."""
        import torch

        width, pad = max(len(p) for p in prompts), self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        with torch.no_grad():
            generated = self.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=self.max_new_tokens,
                                            do_sample=False, pad_token_id=pad,
                                            eos_token_id=self.tokenizer.eos_token_id)[:, width:]
        answers = []
        for row in generated.tolist():
            stop = row.index(self.tokenizer.eos_token_id) + 1 if self.tokenizer.eos_token_id in row else len(row)
            answers.append([t for t in row[:stop] if t != pad])
        return answers

    def _prompt(self, item: JudgeItem) -> str:
        text = _LETTERS_TEMPLATE.format(principles=self.principles, prompt=item.prompt,
                                        first=self._cut(item.first), second=self._cut(item.second))
        return self.tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                                  add_generation_prompt=True)

    def _cut(self, text: str) -> str:
        return text if len(text) <= self.max_response_chars else text[: self.max_response_chars] + " …"
