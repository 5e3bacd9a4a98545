"""A judge on a local causal LM, reading token probabilities from forward passes.

Methods (``JudgeConfig.method``):

- ``letters``: the pair is shown with the principles; P(first better) is the next-token
  probability of "A" against "B". Small models answer "A" almost whatever the order: the
  two-order un-swapping in ``judges.base`` exposes that as inconsistency.
- ``pointwise``: each response is shown alone with the principles and the model is asked
  "Yes or No"; P(first better) = sigmoid(logit P(Yes | first) - logit P(Yes | second)).
  Each (prompt, response) is scored once, so both orders share its score.
- ``likelihood``: each response is scored by its mean token log-probability given the
  principles and prompt; P(first better) = sigmoid(mean-logprob difference * 4).

No text is generated for a verdict. ``letters`` and ``pointwise`` merge their prompts into a
prefix tree and run it in a few packed passes (``core/judges/prefix_tree.py``); ``likelihood``
runs left-padded batches of ``batch_size``. The method measured best on real human labels is the
default (see README, "The default judge").
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

from core.data.textfiles import read_utf8
from core.judges.base import Judge, JudgeItem
from core.judges.prefix_tree import pack_segments, prefix_tree, tree_attention, tree_attention_forward
from core.schema import OrderReading

_LETTERS_TEMPLATE = (
    "Judge which response better follows these principles.\n{principles}\n\n"
    "Question: {prompt}\n\nResponse A:\n{first}\n\nResponse B:\n{second}\n\n"
    "Which response is better, A or B? Answer with one letter."
)
_POINTWISE_TEMPLATE = (
    "Principles:\n{principles}\n\nQuestion: {prompt}\n\n"
    "Does the response below follow the principles well? Answer Yes or No.\n\nResponse:\n{response}"
)
_LIKELIHOOD_CONTEXT = "Principles:\n{principles}\n\n{prompt}"
_LIKELIHOOD_SCALE = 4.0  # logistic scale on the mean-logprob difference (nats per token)
# What each method shows the model, for the judge's identity (core/judges/identity.py): a change
# here is a new judge, whose verdicts are not mixed with the old one's.
TEMPLATES = {"letters": _LETTERS_TEMPLATE, "pointwise": _POINTWISE_TEMPLATE,
             "likelihood": f"{_LIKELIHOOD_CONTEXT} | scale {_LIKELIHOOD_SCALE}",
             "generate": f"{_LETTERS_TEMPLATE} | generated, parsed"}
_TREE_ATTENTION = "rlaif-audit-tree"  # the name tree_attention_forward is registered under


DEFAULT_PRINCIPLES = Path(__file__).with_name("constitution.txt")  # the packaged constitution


def read_principles(path: str | Path) -> str:
    """The principles text of ``path`` (empty: the packaged constitution, wherever the command runs);
    an empty or unreadable file is an error naming the file (and the line of bytes that are not UTF-8)."""
    path = Path(path) if str(path) else DEFAULT_PRINCIPLES
    try:
        text = principles_text(read_utf8(path))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read principles: {exc}") from exc
    if not text:
        raise ValueError(f"{path}: the principles file is empty")
    return text


def principles_text(text: str) -> str:
    """What the judge is shown of a principles text: its lines, without blank lines and lines that
    start with '#' (comments); '' when nothing is left."""
    return "\n".join(ln for ln in text.strip().splitlines() if ln.strip() and not ln.lstrip().startswith("#"))


class LocalJudge(Judge):
    def __init__(self, model, tokenizer, principles: str, *, method: str = "letters", name: str = "",
                 batch_size: int = 8, max_response_chars: int = 1500, pass_tokens: int = 2048):
        if method not in ("letters", "pointwise", "likelihood"):
            raise ValueError(f"unknown local judge method {method!r}")
        self.model, self.tokenizer = model.eval(), tokenizer
        self.principles, self.method = principles, method
        self.batch_size, self.max_response_chars = batch_size, max_response_chars
        self.pass_tokens = pass_tokens  # letters/pointwise: tokens packed into one forward pass
        self.name = name or f"local-{method}"
        self._a_ids = _variant_ids(tokenizer, "A")
        self._b_ids = _variant_ids(tokenizer, "B")
        self._yes_ids = _variant_ids(tokenizer, "Yes")
        self._no_ids = _variant_ids(tokenizer, "No")

    @classmethod
    def from_config(cls, cfg) -> "LocalJudge":
        from core.models import load_policy, load_tokenizer, resolve_model

        path = resolve_model(cfg.model)
        model_name = cfg.model if cfg.model in ("smollm2-135m", "tiny") else Path(cfg.model).name
        return cls(load_policy(path), load_tokenizer(path), read_principles(cfg.principles), method=cfg.method,
                   name=f"{model_name}-{cfg.method}", batch_size=cfg.batch_size,
                   max_response_chars=cfg.max_response_chars, pass_tokens=cfg.pass_tokens)

    def read_orders(self, items: Sequence[JudgeItem], progress: Callable[[int], None] | None = None):
        if self.method == "letters":
            return self._read_letters(items, progress)
        return self._read_per_response(items, progress)

    # -- letters -----------------------------------------------------------------------
    def _read_letters(self, items, progress):
        texts = [self._chat(_LETTERS_TEMPLATE.format(principles=self.principles, prompt=it.prompt,
                                                     first=self._cut(it.first), second=self._cut(it.second)))
                 for it in items]
        out: list[OrderReading | None] = [None] * len(items)
        for idx, probs, n_tokens, secs in self._next_token_probs(texts, progress):
            p_a = float(probs[self._a_ids].sum())
            p_b = float(probs[self._b_ids].sum())
            p_first = p_a / (p_a + p_b) if p_a + p_b > 0 else None
            out[idx] = OrderReading(p_first, raw=f"P(A)={p_a:.4g} P(B)={p_b:.4g}", tokens_in=n_tokens, seconds=secs)
        return out

    # -- pointwise / likelihood: one score per distinct (prompt, response) ---------------
    def _read_per_response(self, items, progress):
        keys = sorted({(it.prompt, r) for it in items for r in (it.first, it.second)})
        cost: dict = {}
        if self.method == "pointwise":
            texts = [self._chat(_POINTWISE_TEMPLATE.format(principles=self.principles, prompt=p,
                                                           response=self._cut(r))) for p, r in keys]
            scores = {}
            for idx, probs, n_tokens, secs in self._next_token_probs(texts, None):
                yes, no = float(probs[self._yes_ids].sum()), float(probs[self._no_ids].sum())
                scores[keys[idx]] = math.log(max(yes, 1e-12)) - math.log(max(no, 1e-12))
                cost[keys[idx]] = (n_tokens, secs)
            scale = 1.0
        else:
            scores = {}
            for key, score, n_tokens, secs in self._mean_logprobs(keys):
                scores[key], cost[key] = score, (n_tokens, secs)
            scale = _LIKELIHOOD_SCALE
        out = []
        for it in items:
            s1, s2 = scores[(it.prompt, it.first)], scores[(it.prompt, it.second)]
            p_first = 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, scale * (s1 - s2)))))
            # each order is charged half of the two responses' cost: both orders share them
            c1, c2 = cost[(it.prompt, it.first)], cost[(it.prompt, it.second)]
            out.append(OrderReading(p_first, raw=f"score {s1:.4g} vs {s2:.4g}",
                                    tokens_in=(c1[0] + c2[0]) // 2, seconds=(c1[1] + c2[1]) / 2))
        if progress:
            progress(len(items))
        return out

    # -- packed forward passes ---------------------------------------------------------
    def _next_token_probs(self, texts, progress):
        """Yield (index, next-token probabilities, prompt tokens, seconds) per text.

        The prefix every text shares (chat header, principles) runs once and its KV cache is
        reused. The rest is merged into a prefix tree (``core/judges/prefix_tree.py``) and
        packed into passes of about ``pass_tokens`` tokens, so each stretch that texts share
        (a question; in ``letters``, a response shown first) is computed once, with no padding
        and no per-row copy of the cache. Only each text's last token goes through the output
        head. Every text is charged its full length in tokens.
        """
        encoded = [self.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
        if not encoded:
            return
        t0 = time.perf_counter()
        n_all = shared_prefix_length(encoded)
        root = self._prefix_cache(encoded[0][:n_all]) if n_all else None
        segments = prefix_tree(encoded, n_all)
        overhead = (time.perf_counter() - t0) / len(texts)
        read: set[int] = set()
        for pass_ids in pack_segments(segments, self.pass_tokens):
            t0 = time.perf_counter()
            ends = [(s, i) for s in pass_ids for i in segments[s].ends if i not in read]
            probs, row_of = self._packed_probs(segments, pass_ids, root, n_all, [s for s, _ in ends])
            secs = (time.perf_counter() - t0) / max(1, len(ends)) + overhead
            for s, i in ends:
                read.add(i)
                yield i, probs[row_of[s]], len(encoded[i]), secs
            if progress:
                progress(len(ends))

    def _prefix_cache(self, ids: list[int]):
        import torch

        with torch.inference_mode():
            return self.model(input_ids=torch.tensor([ids]), use_cache=True).cache

    def _packed_probs(self, segments, pass_ids, root, n_prefix: int, wanted: list[int]):
        """Next-token probabilities after each ``wanted`` segment of one packed pass, and the
        row of each segment in them."""
        import copy

        import torch

        ids, positions, blocks, last = tree_attention(segments, pass_ids, n_prefix)
        keep = sorted({last[s] for s in wanted})  # the output head runs only where a text ends
        with torch.inference_mode(), _tree_attention(self.model):
            logits = self.model(input_ids=ids, position_ids=positions, cache=copy.deepcopy(root),
                                use_cache=root is not None, logits_to_keep=torch.tensor(keep),
                                tree_blocks=blocks).logits[0]
            probs = torch.softmax(logits.float(), dim=-1)
        return probs, {s: keep.index(last[s]) for s in wanted}

    def _mean_logprobs(self, keys):
        import torch

        seqs = []
        for prompt, response in keys:
            context = self._chat(_LIKELIHOOD_CONTEXT.format(principles=self.principles, prompt=prompt))
            ctx = self.tokenizer(context, add_special_tokens=False)["input_ids"]
            resp = self.tokenizer(self._cut(response) + self.tokenizer.eos_token, add_special_tokens=False)["input_ids"]
            seqs.append((ctx, resp))
        order = sorted(range(len(keys)), key=lambda i: len(seqs[i][0]) + len(seqs[i][1]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            t0 = time.perf_counter()
            ids, mask = self._left_pad([seqs[i][0] + seqs[i][1] for i in batch])
            with torch.no_grad():
                logits = self.model(input_ids=ids, attention_mask=mask).logits[:, :-1, :]
            logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
            secs = (time.perf_counter() - t0) / len(batch)
            for row, i in enumerate(batch):
                n = len(seqs[i][1])  # left padding: the response is the last n tokens
                yield keys[i], float(logp[row, -n:].mean()), len(seqs[i][0]) + n, secs

    def _left_pad(self, seqs):
        import torch

        width = max(len(s) for s in seqs)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(s)) + s for s in seqs])
        mask = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in seqs])
        return ids, mask

    def _chat(self, user_text: str) -> str:
        return self.tokenizer.apply_chat_template([{"role": "user", "content": user_text}], tokenize=False,
                                                  add_generation_prompt=True)

    def _cut(self, text: str) -> str:
        return text if len(text) <= self.max_response_chars else text[: self.max_response_chars] + " …"


@contextmanager
def _tree_attention(model):
    """Run ``model`` with ``tree_attention_forward`` while the block is open (the model may be
    shared, e.g. with a generate-and-parse judge, so its own attention comes back after)."""
    from transformers import AttentionInterface

    AttentionInterface.register(_TREE_ATTENTION, tree_attention_forward)
    before = model.config._attn_implementation
    model.config._attn_implementation = _TREE_ATTENTION
    try:
        yield
    finally:
        model.config._attn_implementation = before


def shared_prefix_length(sequences: list[list[int]]) -> int:
    """Tokens every sequence starts with, leaving each at least one token of its own."""
    if not sequences:
        return 0
    first, limit = sequences[0], min(len(s) for s in sequences) - 1
    n = 0
    while n < limit and all(s[n] == first[n] for s in sequences):
        n += 1
    return n


def _variant_ids(tokenizer, word: str) -> list[int]:
    """Token ids that start an answer `word`: with and without a leading space, single tokens only."""
    ids = set()
    for variant in (word, " " + word):
        tokens = tokenizer(variant, add_special_tokens=False)["input_ids"]
        if len(tokens) == 1:
            ids.add(tokens[0])
    if not ids:
        raise ValueError(f"the tokenizer has no single token for {word!r}; the local judge cannot read it")
    return sorted(ids)
