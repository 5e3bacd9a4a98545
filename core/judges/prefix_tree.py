"""Token sequences as a prefix tree, packed into a few forward passes.

The local judge's prompts share most of their tokens: every prompt starts with the
principles, the prompts about one question share that question, and in the ``letters``
template both orders that show the same response first share it too. ``prefix_tree``
merges the sequences into a radix tree, so each shared stretch of tokens is one segment;
``pack_segments`` lays the segments out in passes of about ``budget`` tokens;
``tree_attention`` gives each pass its positions and, per segment, the keys its tokens may
see: exactly the tokens before them in their own sequence (the cached prefix, the segment's
ancestors, and the segment itself causally); and ``tree_attention_forward`` computes
attention block by block under that rule. One pass over a packed row then gives each
sequence's next-token logits as a plain pass over that sequence alone would, with no padding
and no per-row copy of a shared KV cache (tree attention, as in speculative decoding's
verifiers). A dense mask over the whole pass would give the same numbers, but costs every
query every key of the pass: on a CPU that made attention a quarter of the time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby


@dataclass
class Segment:
    """A run of tokens shared by every sequence below it in the tree."""

    tokens: list[int]
    parent: int  # index of the parent segment, -1 under the root
    start: int  # position of the first token in each sequence through it
    ends: list[int] = field(default_factory=list)  # sequences whose last token is this segment's last


def prefix_tree(sequences: list[list[int]], start: int = 0) -> list[Segment]:
    """The radix tree of ``sequences[i][start:]``, as segments in depth-first order (a parent
    before its children). Every sequence must be longer than ``start``."""
    if any(len(s) <= start for s in sequences):
        raise ValueError(f"every sequence must be longer than the shared start {start}")
    segments: list[Segment] = []
    order = sorted(range(len(sequences)), key=lambda i: sequences[i][start:])
    stack = [(order, start, -1)]  # (members, depth they all share, parent segment)
    while stack:
        members, depth, parent = stack.pop()
        children = []
        for _, run in groupby(members, key=lambda i: sequences[i][depth]):
            run = list(run)
            end = _common_length(sequences, run, depth)
            segments.append(Segment(sequences[run[0]][depth:end], parent, depth,
                                    [i for i in run if len(sequences[i]) == end]))
            rest = [i for i in run if len(sequences[i]) > end]
            if rest:
                children.append((rest, end, len(segments) - 1))
        stack.extend(reversed(children))  # first child popped first: depth-first, in sorted order
    return _depth_first(segments)


def pack_segments(segments: list[Segment], budget: int) -> list[list[int]]:
    """Passes of segment indices, each in depth-first order with every segment's ancestors
    before it. Whole subtrees share a pass while it holds ``budget`` tokens; a larger subtree
    is split between its children, and its own segments repeated in each of their passes."""
    children: dict[int, list[int]] = {}
    for i, seg in enumerate(segments):
        children.setdefault(seg.parent, []).append(i)
    size = [len(seg.tokens) for seg in segments]
    for i in reversed(range(len(segments))):  # children come after parents
        if segments[i].parent >= 0:
            size[segments[i].parent] += size[i]

    def size_of(i: int) -> int:
        return len(segments[i].tokens)

    def units(i: int, path: list[int]) -> list[list[int]]:
        path_tokens = sum(size_of(j) for j in path)
        if path_tokens + size[i] <= budget or i not in children:
            return [path + _subtree(i, children)]
        return [u for c in children[i] for u in units(c, path + [i])]

    passes: list[list[int]] = []
    current: list[int] = []
    for unit in (u for root in children.get(-1, []) for u in units(root, [])):
        laid_out = set(current)
        new = [i for i in unit if i not in laid_out]  # a shared ancestor is laid out once
        if current and sum(size_of(i) for i in current + new) > budget:
            passes.append(current)
            current, new = [], unit
        current += new
    if current:
        passes.append(current)
    return passes


def tree_attention(segments: list[Segment], pass_ids: list[int], n_prefix: int):
    """One pass over a cached prefix of ``n_prefix`` tokens: (input ids [1, L], positions [1, L],
    blocks, the index in the pass of each segment's last token).

    A block ``(q0, q1, keys, mask)`` is one segment: the pass's queries ``q0:q1`` attend to
    ``keys`` (indices into the prefix and then the pass, ``n_prefix + index``): the prefix,
    the segment's ancestors and the segment itself, under ``mask`` (causal over itself)."""
    import torch

    spans, at = {}, 0
    for s in pass_ids:
        spans[s] = (at, at + len(segments[s].tokens))
        at += len(segments[s].tokens)
    ids = torch.tensor([t for s in pass_ids for t in segments[s].tokens])
    positions = torch.cat([torch.arange(segments[s].start, segments[s].start + len(segments[s].tokens))
                           for s in pass_ids])
    blocks = []
    for s in pass_ids:
        seen, parent = [], segments[s].parent
        while parent in spans:  # ancestors laid out earlier in this pass
            seen.insert(0, torch.arange(*spans[parent]) + n_prefix)
            parent = segments[parent].parent
        q0, q1 = spans[s]
        keys = torch.cat([torch.arange(n_prefix), *seen, torch.arange(q0, q1) + n_prefix])
        own = torch.ones(q1 - q0, q1 - q0, dtype=torch.bool).tril()
        mask = torch.cat([torch.ones(q1 - q0, len(keys) - (q1 - q0), dtype=torch.bool), own], dim=1)
        blocks.append((q0, q1, keys, mask))
    last = {s: spans[s][1] - 1 for s in pass_ids}
    return ids[None], positions[None], blocks, last


def tree_attention_forward(module, query, key, value, attention_mask, *, tree_blocks=None, dropout: float = 0.0,
                           scaling: float | None = None, **kwargs):
    """A transformers attention function: per block of ``tree_attention``, attention over that
    block's keys only (a dense mask over the whole pass would cost every query every key).
    Without ``tree_blocks`` it is transformers' SDPA attention."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if tree_blocks is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    out = torch.empty_like(query)
    for q0, q1, keys, mask in tree_blocks:
        out[:, :, q0:q1] = torch.nn.functional.scaled_dot_product_attention(
            query[:, :, q0:q1], key.index_select(2, keys), value.index_select(2, keys), attn_mask=mask,
            scale=scaling, enable_gqa=query.shape[1] != key.shape[1])
    return out.transpose(1, 2).contiguous(), None


def _common_length(sequences: list[list[int]], members: list[int], depth: int) -> int:
    """How far all ``members`` (sorted) agree: the first and last agree no further than the rest."""
    first, last = sequences[members[0]], sequences[members[-1]]
    n, limit = depth, min(len(first), len(last))
    while n < limit and first[n] == last[n]:
        n += 1
    return n


def _subtree(i: int, children: dict[int, list[int]]) -> list[int]:
    out, stack = [], [i]
    while stack:
        j = stack.pop()
        out.append(j)
        stack.extend(reversed(children.get(j, [])))
    return out


def _depth_first(segments: list[Segment]) -> list[Segment]:
    """Renumber segments in depth-first order (they were numbered in creation order)."""
    children: dict[int, list[int]] = {}
    for i, seg in enumerate(segments):
        children.setdefault(seg.parent, []).append(i)
    order = [j for root in children.get(-1, []) for j in _subtree(root, children)]
    new_index = {old: new for new, old in enumerate(order)}
    return [Segment(segments[old].tokens, new_index.get(segments[old].parent, -1), segments[old].start,
                    segments[old].ends) for old in order]
