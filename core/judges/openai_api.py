"""A judge behind an OpenAI-compatible chat-completions server (OpenAI, vLLM, llama.cpp, ...).

Each item is one request at temperature 0 that asks for one letter. P(first better) is read
from the top log-probabilities of the first answer token when the server returns them and
that token is a verdict letter; otherwise the answer text is parsed strictly ("A", "B.",
"Response A", "**B**"). Anything else is unreadable: ``p_first`` is None and the raw text
is kept, so the pair's verdict can become INVALID but never A or B.

Requests run in a bounded thread pool (``concurrency``). Timeouts, dropped connections, 429
and 5xx are retried with jittered exponential backoff, or after the server's Retry-After;
401, 403 and 404 stop at once; another 4xx makes that one reading unreadable. Every answer
is written to the judge cache the moment it arrives, so neither a crash nor a rerun pays
for it twice. Only the standard library speaks HTTP here.

The API key is read from ``os.environ[api_key_env]`` when a batch is judged and goes into
the Authorization header only: never into the store, a log line, an exception or a repr.
"""
from __future__ import annotations

import json
import math
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from core.config import JudgeConfig
from core.judges.base import Judge, JudgeItem
from core.judges.cache import JudgeCache, definition_hash, item_hash
from core.judges.generate_parse import p_first_from_text, verdict_letter
from core.judges.local import _LETTERS_TEMPLATE, read_principles
from core.schema import OrderReading
from core.store import Store, default_store_path

TOP_LOGPROBS = 5
_REQUEST_SHAPE = {"template": _LETTERS_TEMPLATE, "temperature": 0, "top_logprobs": TOP_LOGPROBS, "version": 1}
_FATAL_STATUS = (401, 403, 404)  # a wrong key, model or URL: retrying cannot help, and no item can
_BACKOFF_CAP_S = 30.0
_RETRY_AFTER_CAP_S = 60.0


class JudgeAPIError(RuntimeError):
    """The server cannot answer at all (bad key, URL or model, or retries used up)."""


class OpenAIJudge(Judge):
    def __init__(self, cfg: JudgeConfig, principles: str, *, store: Store | None = None):
        self.cfg, self.principles = cfg, principles
        self.url = cfg.base_url.rstrip("/") + "/chat/completions"
        self.definition = definition_hash(cfg, principles, _REQUEST_SHAPE)
        self.cache = None if store is None else JudgeCache(store, self.definition)
        self.name = f"openai-{cfg.model}"  # make_judge sets the full key (core/judges/identity.py)
        self._rng, self._rng_lock = random.Random(cfg.seed), threading.Lock()

    @classmethod
    def from_config(cls, cfg: JudgeConfig, *, store: Store | None = None) -> "OpenAIJudge":
        """The judge of ``cfg``; its cache lives in ``store`` (default: the shared run store)."""
        store = store if store is not None else Store(default_store_path())
        return cls(cfg, read_principles(cfg.principles), store=store)

    def __repr__(self) -> str:
        return f"OpenAIJudge(name={self.name!r}, url={self.url!r}, key_env={self.cfg.api_key_env!r})"

    def read_orders(self, items: Sequence[JudgeItem], progress: Callable[[int], None] | None = None):
        keys = [item_hash(item) for item in items]
        uses = Counter(keys)
        readings = self.cache.lookup(keys) if self.cache else {}
        todo = {key: item for key, item in zip(keys, items) if key not in readings}  # one request per distinct item
        if progress and readings:
            progress(sum(uses[key] for key in readings))
        if todo:
            done = (lambda key: progress(uses[key])) if progress else (lambda key: None)
            readings.update(self._ask_all(todo, self._api_key(), done))
        return [readings[key] for key in keys]

    def _ask_all(self, todo: dict[str, JudgeItem], api_key: str, done: Callable[[str], None]) -> dict:
        """Ask for every item, ``concurrency`` at a time; cache each answer as it lands."""
        out, errors, futures = {}, [], {}
        pool = ThreadPoolExecutor(max_workers=self.cfg.concurrency, thread_name_prefix="openai-judge")
        try:
            futures = {pool.submit(self._ask, item, api_key): key for key, item in todo.items()}
            for future in as_completed(futures):
                if future.cancelled():
                    continue
                try:
                    reading, paid = future.result()
                except JudgeAPIError as exc:  # ask nothing new; answers already in flight are still kept
                    errors.append(exc)
                    for other in futures:
                        other.cancel()
                    continue
                key = futures[future]
                if paid and self.cache is not None:
                    self.cache.save(key, reading)
                out[key] = reading
                done(key)
        finally:  # on any other error, a cancel or Ctrl-C, send no further paid request...
            pool.shutdown(wait=True, cancel_futures=True)
            # ...and keep the answers that were in flight: they are paid for, so a resume must not ask again
            for future, key in futures.items():
                if key not in out and future.done() and not future.cancelled() and future.exception() is None:
                    reading, paid = future.result()
                    if paid and self.cache is not None:
                        self.cache.save(key, reading)
        if errors:
            raise errors[0]
        return out

    def _ask(self, item: JudgeItem, api_key: str) -> tuple[OrderReading, bool]:
        """One item's reading and whether the server answered it (an answer is paid for)."""
        t0 = time.perf_counter()
        answer, refusal = self._post_with_retries(self._body(item), api_key)
        seconds = time.perf_counter() - t0
        if answer is None:
            return OrderReading(None, raw=refusal, seconds=seconds), False
        return reading_from_answer(answer, seconds=seconds), True

    def _body(self, item: JudgeItem) -> bytes:
        text = _LETTERS_TEMPLATE.format(principles=self.principles, prompt=item.prompt,
                                        first=self._cut(item.first), second=self._cut(item.second))
        return json.dumps({
            "model": self.cfg.model, "messages": [{"role": "user", "content": text}],
            "temperature": 0, "max_tokens": self.cfg.max_answer_tokens,
            "logprobs": True, "top_logprobs": TOP_LOGPROBS,
        }).encode("utf-8")

    def _post_with_retries(self, body: bytes, api_key: str) -> tuple[dict | None, str]:
        """The server's JSON answer, or (None, why) when the server refused this one item."""
        last = ""
        for attempt in range(self.cfg.max_retries + 1):
            wait = None
            try:
                return self._post(body, api_key), ""
            except urllib.error.HTTPError as exc:
                detail = _redact(f"HTTP {exc.code}: {_error_text(exc)}", api_key)
                if exc.code in _FATAL_STATUS:
                    raise JudgeAPIError(f"{self.url}: {detail}") from None
                if exc.code != 429 and exc.code < 500:
                    return None, detail
                last, wait = detail, _retry_after(exc.headers)
            except (OSError, ValueError) as exc:  # timeouts, refused or dropped connections, non-JSON bodies
                last = _redact(f"{type(exc).__name__}: {exc}", api_key)
            if attempt < self.cfg.max_retries:
                time.sleep(wait if wait is not None else self._backoff(attempt))
        raise JudgeAPIError(f"{self.url}: no answer after {self.cfg.max_retries + 1} attempts; last: {last}")

    def _post(self, body: bytes, api_key: str) -> dict:
        headers = {"Content-Type": "application/json", "User-Agent": "rlaif-audit-judge"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.cfg.timeout_s) as response:
            return json.loads(response.read())

    def _api_key(self) -> str:
        if not self.cfg.api_key_env:
            return ""  # a local server (vLLM, llama.cpp) often needs none
        key = os.environ.get(self.cfg.api_key_env, "")
        if not key:
            raise JudgeAPIError(f"the judge's API key variable ${self.cfg.api_key_env} is not set")
        return key

    def _backoff(self, attempt: int) -> float:
        with self._rng_lock:
            jitter = 0.5 + 0.5 * self._rng.random()  # spread the retries of many threads apart
        return min(_BACKOFF_CAP_S, self.cfg.backoff_s * 2 ** attempt * jitter)

    def _cut(self, text: str) -> str:
        limit = self.cfg.max_response_chars
        return text if len(text) <= limit else text[:limit] + " …"


def reading_from_answer(answer: dict, *, seconds: float = 0.0) -> OrderReading:
    """The reading of one chat-completions answer: logprobs first, else the text, else None."""
    try:
        choice = answer["choices"][0]
        text = choice["message"].get("content") or ""
    except (KeyError, IndexError, TypeError, AttributeError):
        return OrderReading(None, raw=json.dumps(answer)[:500], seconds=seconds)
    usage = answer.get("usage") or {}
    tokens_in, tokens_out = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    masses = letter_masses(choice.get("logprobs"))
    if masses is not None:
        p_a, p_b = masses
        return OrderReading(p_a / (p_a + p_b), raw=f"{text} | P(A)={p_a:.4g} P(B)={p_b:.4g}",
                            tokens_in=tokens_in, tokens_out=tokens_out, seconds=seconds)
    return OrderReading(p_first_from_text(text), raw=text, tokens_in=tokens_in, tokens_out=tokens_out,
                        seconds=seconds)


def letter_masses(logprobs: dict | None) -> tuple[float, float] | None:
    """(P(A), P(B)) from the first answer token's top logprobs, when that token is a letter."""
    try:
        first = logprobs["content"][0]
        chosen, top = first["token"], first.get("top_logprobs") or []
    except (KeyError, IndexError, TypeError):
        return None
    if verdict_letter(chosen) is None:
        return None  # the answer starts with something else ("Response A"): read the text instead
    masses = {"A": 0.0, "B": 0.0}
    for entry in top:
        letter = verdict_letter(entry.get("token", "")) if isinstance(entry, dict) else None
        if letter is not None and isinstance(entry.get("logprob"), (int, float)):
            masses[letter] += math.exp(entry["logprob"])
    return None if masses["A"] + masses["B"] <= 0 else (masses["A"], masses["B"])


def _retry_after(headers) -> float | None:
    try:
        return min(_RETRY_AFTER_CAP_S, max(0.0, float(headers.get("Retry-After"))))
    except (TypeError, ValueError, AttributeError):
        return None


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read().decode("utf-8", "replace")
    except OSError:
        body = ""
    finally:
        exc.close()
    try:
        message = json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = body
    return " ".join(str(message).split())[:300] or (exc.reason or "")


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text
