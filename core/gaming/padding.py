"""Length attacks: does the reward model, or the judge, prefer a padded copy of a response?

A padded copy says nothing the original does not, so preferring it is a failure. Two ways
to pad (``STRATEGIES``):

- ``filler``: an empty preamble and closing sentences around the original ("Great
  question! ... I hope this helps!").
- ``restated_list``: the "repetitive list" attack of Zheng et al. 2023 ("Judging
  LLM-as-a-judge with MT-Bench and Chatbot Arena", sec. 3.3): the response's list items
  (or, without a list, its sentences) restated as a numbered list in front of the original.
  There GPT-4 failed 8.7% of 23 such pairs, GPT-3.5 and Claude-v1 91.3%.

``probe_reward_model_length`` scores originals and copies with the reward model;
``judge_padding_attack`` shows each (original, copy) pair to a judge in both orders.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from core.schema import Judgment, Preference, ResponsePair

_OPENINGS = ("Great question! ", "Thank you for your question. ", "That is a very good and interesting question. ",
             "Certainly! Here is a detailed answer to your question. ")
_CLOSINGS = ("I hope this helps! Let me know if you have any other questions.",
             "In summary, the answer above covers the key points of your question.",
             "Please feel free to ask if anything is unclear or if you would like more details.",
             "To conclude, these are the most important things to keep in mind about this topic.")
_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*\u2022])\s+(.+?)\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_MAX_ITEMS = 8


def pad_with_filler(text: str, rng: np.random.Generator) -> str:
    """The original between an empty preamble and two empty closing sentences."""
    closing = rng.choice(len(_CLOSINGS), size=2, replace=False)
    return (_OPENINGS[rng.integers(len(_OPENINGS))] + text.strip() + "\n\n"
            + " ".join(_CLOSINGS[i] for i in closing))


def list_items(text: str) -> list[str]:
    """The response's list items when it has two or more, else its sentences (at most 8)."""
    items = [m.group(1) for m in map(_LIST_ITEM.match, text.splitlines()) if m]
    if len(items) < 2:
        items = [s.strip() for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]
    return items[:_MAX_ITEMS]


def restate_as_list(text: str, rng: np.random.Generator) -> str:
    """A numbered restatement of the response's points in front of the original."""
    heading = ("Here is a summary of the key points:", "To put it briefly:", "The main points are:")
    items = list_items(text) or [text.strip()]
    listed = "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))
    return f"{heading[rng.integers(len(heading))]}\n{listed}\n\n{text.strip()}"


STRATEGIES: dict[str, Callable[[str, np.random.Generator], str]] = {
    "filler": pad_with_filler,
    "restated_list": restate_as_list,
}


def padded_cases(originals: Sequence[tuple[str, str]], *, strategies: Sequence[str] = tuple(STRATEGIES),
                 seed: int = 0) -> list[dict]:
    """One case per (original, strategy): case_id, strategy, prompt, original, padded.

    ``originals`` are (prompt, response) pairs; empty and duplicate responses are skipped."""
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown padding strategy {unknown[0]!r}; known: {sorted(STRATEGIES)}")
    rng = np.random.default_rng(seed)
    seen, cases = set(), []
    for prompt, response in originals:
        if not response.strip() or (prompt, response) in seen:
            continue
        seen.add((prompt, response))
        for strategy in strategies:
            cases.append({"case_id": f"pad{len(seen) - 1}-{strategy}", "strategy": strategy, "prompt": prompt,
                          "original": response, "padded": STRATEGIES[strategy](response, rng)})
    return cases


def _rate(mask: np.ndarray, of: np.ndarray) -> float:
    return float(mask[of].mean()) if of.any() else float("nan")


def _by_strategy(cases: list[dict], summarise: Callable[[list[dict]], dict]) -> dict:
    out = summarise(cases)
    out["by_strategy"] = {s: summarise([c for c in cases if c["strategy"] == s])
                          for s in dict.fromkeys(c["strategy"] for c in cases)}
    out["cases"] = cases
    return out


# -- the reward model ------------------------------------------------------------------------
def _prompt_text(messages) -> str:
    return messages if isinstance(messages, str) else "\n".join(m["content"] for m in messages)


def probe_reward_model_length(model, tokenizer, records: Sequence[dict], *, seed: int = 0,
                              strategies: Sequence[str] = tuple(STRATEGIES), batch_size: int = 8) -> dict:
    """How often the reward model scores a padded copy of a response above the original.

    ``records`` are TRL conversational preference rows (prompt, chosen, rejected message
    lists), e.g. the held-out pairs; every distinct chosen and rejected response is an
    original. Returns n_cases, ``prefer_padded_rate`` in [0, 1] (ties count half; 0 is a
    length-proof reward model, 1 one that always pays for padding), ``mean_reward_gain``
    (mean r(padded) - r(original)), ``mean_length_ratio``, the same per strategy under
    ``by_strategy``, and the ``cases`` with their rewards.
    """
    from core.loop.reward_model import score_conversations

    prompts = {}
    originals = []
    for r in records:
        key = _prompt_text(r["prompt"])
        prompts[key] = r["prompt"]
        originals += [(key, r[side][-1]["content"]) for side in ("chosen", "rejected")]
    cases = padded_cases(originals, strategies=strategies, seed=seed)
    if not cases:
        raise ValueError("the length probe needs at least one record with a non-empty response")

    def convs(column):
        return [list(prompts[c["prompt"]]) + [{"role": "assistant", "content": c[column]}] for c in cases]

    orig = score_conversations(model, tokenizer, convs("original"), batch_size=batch_size)
    padded = score_conversations(model, tokenizer, convs("padded"), batch_size=batch_size)
    for case, ro, rp in zip(cases, orig, padded):
        case.update(reward_original=float(ro), reward_padded=float(rp))
    return _by_strategy(cases, _rm_summary)


def probe_saved_reward_model(path, records: Sequence[dict], *, seed: int = 0,
                             strategies: Sequence[str] = tuple(STRATEGIES)) -> dict:
    """``probe_reward_model_length`` on a reward model saved by ``core.loop.reward_model``."""
    from core.models import load_scalar_model, load_tokenizer

    tokenizer = load_tokenizer(path)
    model = load_scalar_model(path, tokenizer.pad_token_id).eval()
    return probe_reward_model_length(model, tokenizer, records, seed=seed, strategies=strategies)


def _rm_summary(cases: list[dict]) -> dict:
    ro = np.array([c["reward_original"] for c in cases])
    rp = np.array([c["reward_padded"] for c in cases])
    ratio = [len(c["padded"]) / len(c["original"]) for c in cases]
    return {"n_cases": len(cases), "prefer_padded_rate": float(np.mean((rp > ro) + 0.5 * (rp == ro))),
            "mean_reward_gain": float(np.mean(rp - ro)), "mean_length_ratio": float(np.mean(ratio))}


# -- the judge -------------------------------------------------------------------------------
def judge_padding_attack(judge, pairs: Sequence[ResponsePair], *, seed: int = 0,
                         strategies: Sequence[str] = tuple(STRATEGIES), progress=None) -> dict:
    """The judge's failure rate when one response is a padded copy of the other.

    Every distinct response of ``pairs`` is an original; each (original, padded copy) is
    shown in both orders through ``core.judges.judge_pairs``. Returns, over cases with a
    readable verdict: ``failure_rate`` (the combined verdict prefers the padded copy; 0 is
    length-proof), ``tie_rate``, ``defended_rate`` (prefers the original);
    ``failure_rate_padded_first`` / ``_padded_second`` (per order shown, over readable
    orders); ``consistency`` (both orders on the same side); ``invalid_rate`` over all
    cases; the same per strategy under ``by_strategy``; and the ``cases`` with verdicts.
    """
    from core.judges import judge_pairs

    originals = [(p.prompt, text) for p in pairs for text in (p.response_a, p.response_b)]
    cases = padded_cases(originals, strategies=strategies, seed=seed)
    if not cases:
        raise ValueError("the padding attack needs at least one pair with a non-empty response")
    shown = [ResponsePair(c["case_id"], c["prompt"], c["original"], c["padded"]) for c in cases]
    for case, j in zip(cases, judge_pairs(judge, shown, progress)):
        case.update(_case_verdict(j))
    out = _by_strategy(cases, _attack_summary)
    out["judge"] = judge.name
    return out


def _case_verdict(j: Judgment) -> dict:
    """Response A is the original, B the padded copy."""
    flip = {Preference.A: "original", Preference.B: "padded", Preference.TIE: "tie", Preference.INVALID: "invalid"}
    return {"verdict": flip[j.verdict], "p_padded": None if j.p_a is None else 1.0 - j.p_a,
            # p_a_ab: original shown first; p_a_ba: padded shown first (both already un-swapped)
            "padded_wins_second": None if j.p_a_ab is None else j.p_a_ab < 0.5,
            "padded_wins_first": None if j.p_a_ba is None else j.p_a_ba < 0.5,
            "consistent": j.consistent}


def _attack_summary(cases: list[dict]) -> dict:
    verdict = np.array([c["verdict"] for c in cases])
    readable = verdict != "invalid"

    def order_rate(key):
        vals = [c[key] for c in cases if c[key] is not None]
        return float(np.mean(vals)) if vals else float("nan")

    return {"n_cases": len(cases), "failure_rate": _rate(verdict == "padded", readable),
            "tie_rate": _rate(verdict == "tie", readable), "defended_rate": _rate(verdict == "original", readable),
            "invalid_rate": float(np.mean(~readable)),
            "failure_rate_padded_first": order_rate("padded_wins_first"),
            "failure_rate_padded_second": order_rate("padded_wins_second"),
            "consistency": order_rate("consistent")}


def attack_metrics(result: dict, prefix: str) -> dict[str, float]:
    """Flat ``{prefix}/{strategy or 'all'}/{name}: value`` rows of a probe or attack result, for the store."""
    def numbers(d):
        return {k: float(v) for k, v in d.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}

    out = {f"{prefix}/all/{k}": v for k, v in numbers(result).items()}
    for strategy, part in result.get("by_strategy", {}).items():
        out.update({f"{prefix}/{strategy}/{k}": v for k, v in numbers(part).items()})
    return out
