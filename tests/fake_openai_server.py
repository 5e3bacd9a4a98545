"""A small OpenAI-compatible chat-completions server on loopback, owned by the tests.

Its "model" prefers the longer of the two responses it is shown: P(first better) is 0.8
when the first is longer, 0.2 when it is shorter, 0.5 on equal lengths; it answers the
letter with the top-5 logprobs of that first token. When the principles it is shown contain the
word "terse" it prefers the shorter one instead (so a constitution version provably changes its
verdicts); any other change of the principles changes nothing (a judge that ignores them). Faults are queued per test and each is
used by the next matching request (``match`` is a substring of the prompt text):

    server.add_fault("delay", seconds=1.0)     # answer late (the client times out)
    server.add_fault("status", status=429)     # or 500, 401, 400; Retry-After via retry_after=
    server.add_fault("garbage")                # a 200 answer that is no verdict
    server.add_fault("no_logprobs", text="Response B.")
    server.add_fault("drop")                   # close the connection without an answer

``requests`` keeps every request (its JSON body and Authorization header), ``answered``
the prompt texts that got a 200 answer (so tests can count what was paid for), and
``max_in_flight`` the most requests it was handling at once.
"""
from __future__ import annotations

import json
import math
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_PAIR = re.compile(r"Response A:\n(.*)\n\nResponse B:\n(.*)\n\nWhich response is better", re.DOTALL)
_PRINCIPLES = re.compile(r"follows these principles\.\n(.*?)\n\nQuestion:", re.DOTALL)
TRIGGER = "terse"  # in the principles: the fake model prefers the shorter response


@dataclass
class Fault:
    kind: str
    match: str | None = None
    times: int = 1
    seconds: float = 0.0
    status: int = 500
    retry_after: float | None = None
    text: str = ""


class FakeOpenAIServer:
    def __init__(self):
        self.faults: list[Fault] = []
        self.requests: list[dict] = []
        self.answered: list[str] = []
        self.in_flight = self.max_in_flight = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-openai", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> "FakeOpenAIServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def add_fault(self, kind: str, **options) -> None:
        with self._lock:
            self.faults.append(Fault(kind, **options))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def take_fault(self, text: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.match is None or fault.match in text:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def record(self, body: dict, headers) -> None:
        with self._lock:
            self.requests.append({"body": body, "authorization": headers.get("Authorization")})

    def record_answer(self, text: str) -> None:
        with self._lock:
            self.answered.append(text)

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


def model_answer(text: str) -> tuple[str, list[dict]]:
    """The fake model's letter and the top logprobs of its first token (they sum to 1)."""
    found = _PAIR.search(text)
    first, second = (found.group(1), found.group(2)) if found else ("", "")
    p_first = 0.5 if len(first) == len(second) else (0.8 if len(first) > len(second) else 0.2)
    principles = _PRINCIPLES.search(text)
    if principles and TRIGGER in principles.group(1).lower():
        p_first = 1 - p_first
    top = [{"token": "A", "logprob": math.log(0.95 * p_first)},
           {"token": "B", "logprob": math.log(0.95 * (1 - p_first))},
           {"token": "The", "logprob": math.log(0.03)}, {"token": "Both", "logprob": math.log(0.02)}]
    return ("A" if p_first >= 0.5 else "B"), sorted(top, key=lambda t: -t["logprob"])


def completion(model: str, text: str, content: str, top: list[dict] | None) -> dict:
    logprobs = None if top is None else {
        "content": [{"token": top[0]["token"], "logprob": top[0]["logprob"], "top_logprobs": top}]}
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "logprobs": logprobs,
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": len(text.split()), "completion_tokens": 1, "total_tokens": len(text.split()) + 1},
    }


def _handler_for(server: FakeOpenAIServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep test output clean
            pass

        def do_POST(self):
            self._counted = True
            server.enter()
            try:
                self._answer()
            finally:
                self._leave()

        def _leave(self):
            # leave before the answer goes out: once the client has read it, it may send its next
            # request before this thread gets to run again, which would count one request twice
            if getattr(self, "_counted", False):
                self._counted = False
                server.leave()

        def _answer(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            server.record(body, self.headers)
            if self.path != "/v1/chat/completions":
                return self._send(404, {"error": {"message": f"no route {self.path}"}})
            text = body["messages"][-1]["content"]
            fault = server.take_fault(text)
            kind = fault.kind if fault else "ok"
            if kind == "delay":
                time.sleep(fault.seconds)
            if kind == "drop":
                self.close_connection = True
                return
            if kind == "status":
                headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
                return self._send(fault.status, {"error": {"message": fault.text or f"fault {fault.status}"}}, headers)
            letter, top = model_answer(text)
            if kind == "garbage":
                content, top = fault.text or "I think both responses have merit.", [
                    {"token": "I", "logprob": math.log(0.9)}, {"token": "Both", "logprob": math.log(0.05)}]
            elif kind == "no_logprobs":
                content, top = fault.text or letter, None
            else:
                content = letter
            server.record_answer(text)
            self._send(200, completion(body.get("model", ""), text, content, top))

        def _send(self, status: int, payload: dict, headers: dict | None = None):
            data = json.dumps(payload).encode()
            self._leave()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                pass

    return Handler
