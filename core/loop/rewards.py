"""What scores a rollout in RLOO and GRPO: TRL reward functions over the reward model or over the judge.

Each scorer is a callable in TRL's reward-function form (``prompts``, ``completions``,
``completion_ids`` -> one reward per completion, None for one it cannot score). It keeps what it
scored (prompt, response, score, lengths) and what scoring cost, and ``drain()`` hands both over
once per update, for the store and the gaming monitor.

- ``RewardModelScorer``: the round's reward model reads prompt + response through the chat
  template, as it was trained (``core.loop.reward_model.score_conversations``).
- ``JudgeScorer``: d-RLAIF (Lee et al. 2023). The run's judge compares the two samples of each
  prompt in both orders (``core.judges.judge_pairs`` logic: ``combine_orders``); sample A's reward
  is P(A beats B), B's is 1 - that, the reading the audit measures. An unreadable verdict leaves
  both unscored (TRL gives them no advantage). Under several processes the groups may straddle
  processes, so the main process judges the whole batch and every process takes its share.

Cost per update (``reward_cost/...``): seconds spent scoring, and for the judge its tokens in and
out, money at the judge's prices and the share of pairs it could not read.
"""
from __future__ import annotations

import time
from collections.abc import Sequence


def _text(message) -> str:
    """A prompt or completion as TRL hands it: a string, or a conversation whose last message counts."""
    return message if isinstance(message, str) else message[-1]["content"]


class Scorer:
    """Common bookkeeping: samples and cost since the last ``drain``."""

    __name__ = "scorer"  # TRL names a reward function's metrics after it

    def __init__(self, eos_token_id: int | None):
        self.eos_token_id = eos_token_id
        self.samples: list[dict] = []
        self.cost: dict[str, float] = {}

    def __call__(self, prompts, completions, completion_ids=None, **kwargs) -> list[float | None]:
        began = time.perf_counter()
        questions, responses = [_text(p) for p in prompts], [_text(c).strip() for c in completions]
        scores = self.score(questions, responses)
        self._add_cost({"reward_cost/seconds": time.perf_counter() - began})
        ids = completion_ids or [[] for _ in responses]
        for q, r, s, tokens in zip(questions, responses, scores, ids):
            n_tokens = len([t for t in tokens if t != self.eos_token_id])
            self.samples.append({"prompt": q, "response": r, "score": float("nan") if s is None else float(s),
                                 "n_tokens": n_tokens, "n_chars": len(r)})
        return scores

    def score(self, questions: list[str], responses: list[str]) -> list[float | None]:
        raise NotImplementedError

    def to(self, device) -> "Scorer":
        return self

    def _add_cost(self, values: dict) -> None:
        for key, value in values.items():
            self.cost[key] = self.cost.get(key, 0.0) + value

    def drain(self) -> tuple[list[dict], dict[str, float]]:
        samples, cost = self.samples, self.cost
        self.samples, self.cost = [], {}
        return samples, cost


class RewardModelScorer(Scorer):
    __name__ = "reward_model"

    def __init__(self, model, tokenizer, *, batch_size: int = 8):
        super().__init__(tokenizer.eos_token_id)
        self.model, self.tokenizer, self.batch_size = model.eval(), tokenizer, batch_size

    @classmethod
    def from_path(cls, path) -> "RewardModelScorer":
        from core.models import load_scalar_model, load_tokenizer

        tokenizer = load_tokenizer(path)
        return cls(load_scalar_model(path, tokenizer.pad_token_id), tokenizer)

    def to(self, device) -> "RewardModelScorer":
        self.model.to(device)
        return self

    def score(self, questions, responses):
        from core.loop.reward_model import score_conversations

        convs = [[{"role": "user", "content": q}, {"role": "assistant", "content": r}]
                 for q, r in zip(questions, responses)]
        return [float(s) for s in score_conversations(self.model, self.tokenizer, convs, batch_size=self.batch_size)]


class JudgeScorer(Scorer):
    __name__ = "judge"

    def __init__(self, judge, eos_token_id: int | None, *, price_in: float = 0.0, price_out: float = 0.0):
        super().__init__(eos_token_id)
        self.judge, self.price_in, self.price_out = judge, price_in, price_out

    def score(self, questions, responses):
        every_q, every_r, first, n = _gather(questions, responses)
        rewards = _broadcast(self._judge_groups(every_q, every_r) if _is_main() else None)
        return rewards[first:first + n]

    def _judge_groups(self, questions: Sequence[str], responses: Sequence[str]) -> list[float | None]:
        from core.judges import JudgeItem, combine_orders

        if len(questions) % 2 or any(questions[i] != questions[i + 1] for i in range(0, len(questions), 2)):
            raise RuntimeError("the judge reward needs the two samples of each prompt next to each other "
                               "(rl.samples_per_prompt 2); TRL handed a batch grouped otherwise")
        items = []
        for i in range(0, len(questions), 2):
            q, a, b = questions[i], responses[i], responses[i + 1]
            items += [JudgeItem(q, a, b), JudgeItem(q, b, a)]
        readings = self.judge.read_orders(items)
        rewards: list[float | None] = []
        unreadable = tokens_in = tokens_out = 0
        for g in range(len(items) // 2):
            j = combine_orders(f"rl-{g}", self.judge.name, readings[2 * g], readings[2 * g + 1],
                               self.judge.tie_margin)
            tokens_in, tokens_out = tokens_in + j.tokens_in, tokens_out + j.tokens_out
            unreadable += j.p_a is None
            rewards += [None, None] if j.p_a is None else [j.p_a, 1.0 - j.p_a]
        n_pairs = max(1, len(items) // 2)
        self._add_cost({"reward_cost/judge_pairs": float(len(items) // 2), "reward_cost/tokens_in": float(tokens_in),
                        "reward_cost/tokens_out": float(tokens_out),
                        "reward_cost/money": (tokens_in * self.price_in + tokens_out * self.price_out) / 1000,
                        "reward_cost/unscorable_share": unreadable / n_pairs})
        return rewards


# -- several processes: the main one judges the whole batch ----------------------------------
def _is_main() -> bool:
    from accelerate import PartialState

    return PartialState().is_main_process


def _gather(questions: list[str], responses: list[str]) -> tuple[list[str], list[str], int, int]:
    """Every process's samples in process order, and where this process's start and how many it has."""
    from accelerate import PartialState

    state = PartialState()
    if state.num_processes == 1:
        return questions, responses, 0, len(questions)
    from accelerate.utils import gather_object

    sizes = gather_object([len(questions)])
    every = gather_object(list(zip(questions, responses)))
    return [q for q, _ in every], [r for _, r in every], sum(sizes[:state.process_index]), len(questions)


def _broadcast(rewards: list | None) -> list:
    from accelerate import PartialState

    if PartialState().num_processes == 1:
        return rewards
    from accelerate.utils import broadcast_object_list

    return broadcast_object_list([rewards])[0]
