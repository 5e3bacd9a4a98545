"""Answers already paid for: a judge definition plus an item in the order shown, read once.

The key of a reading is two hashes. The definition hash covers everything that can change
the judge's answer: the ``JudgeConfig`` fields in ``ANSWER_FIELDS``, the principles *text*
(not its path), and the backend's prompt template and request settings. It leaves out what
cannot (concurrency, timeouts, retries, prices, tie margin) and never sees the API key.
The item hash covers the prompt and both responses in the order shown, so the two orders
of one pair are two entries. The rows live in the run store (``judge_cache`` table).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from core.config import JudgeConfig
from core.judges.base import JudgeItem
from core.schema import OrderReading
from core.store import Store

ANSWER_FIELDS = ("backend", "model", "method", "base_url", "max_response_chars", "max_answer_tokens")


def definition_hash(cfg: JudgeConfig, principles: str, request: dict) -> str:
    """Hex digest of what decides the answer: ANSWER_FIELDS, the principles, the request shape."""
    fields = {name: getattr(cfg, name) for name in ANSWER_FIELDS}
    fields["base_url"] = fields["base_url"].rstrip("/")
    payload = {"fields": fields, "principles": principles, "request": request}
    return _digest(json.dumps(payload, sort_keys=True, ensure_ascii=False))


def item_hash(item: JudgeItem) -> str:
    return _digest(json.dumps([item.prompt, item.first, item.second], ensure_ascii=False))


class JudgeCache:
    """Readings of one judge definition in a store; written one reading per transaction."""

    def __init__(self, store: Store, definition: str):
        self.store, self.definition = store, definition

    def lookup(self, keys: Sequence[str]) -> dict[str, OrderReading]:
        return self.store.cached_readings(self.definition, keys)

    def save(self, key: str, reading: OrderReading) -> None:
        self.store.add_cached_reading(self.definition, key, reading)

    def __len__(self) -> int:
        return self.store.cached_reading_count(self.definition)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
