"""A judge's identity: a readable name plus a hash of everything that changes its verdicts.

Judgments are stored per judge key, and ``label_pairs`` skips pairs the key already judged. So
the key must change whenever a verdict could: the backend, model, method, principles *text*,
tie margin, prompt template, response cut, seed, server URL, and the content of any file the
judge reads (a calibration file). It leaves out what cannot change a verdict: batch sizes,
concurrency, timeouts, retries, prices and the name of the key variable (never the key).

The key is ``<readable name>@<8 hex digits>``; the length yardsticks, which have nothing to
configure that changes a verdict, keep their plain names (``longest``, ``shortest``), as does
``random`` with its default seed and margin. The full definition is stored in the run store
(``judge_definitions``), so the dashboard can show the readable name and what it stands for.
Model *weights* are named by the model field (an alias or a folder), not hashed.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from core.config import ConfigError, JudgeConfig

# JudgeConfig fields that cannot change a verdict (speed, money, retries, where the key lives).
NON_VERDICT_FIELDS = frozenset({
    "constitution",  # a name for a text: the text it resolves to (judge.principles) is what is hashed
    "batch_size", "pass_tokens", "concurrency", "timeout_s", "max_retries", "backoff_s", "api_key_env",
    "price_per_1k_input_tokens", "price_per_1k_output_tokens", "human_label_cost",
})
HASHED_FILES = ("calibration",)  # fields naming a file whose bytes decide verdicts (the principles go in as text)
PLAIN_NAMES = {"longest", "shortest"}


@dataclass(frozen=True)
class JudgeIdentity:
    key: str  # what judgments are stored under
    name: str  # readable: 'smollm2-135m-letters', 'openai-gpt-4o-mini', 'longest'
    digest: str  # sha256 of the canonical definition
    definition: dict  # what the digest covers, JSON-ready
    fitted_on: tuple[str, ...] = ()  # a calibrated judge: the sources whose labels it was fitted on (in its file)

    def to_json(self) -> str:
        """The definition as stored beside the key; a calibrated judge's also names the sources it was
        fitted on (already covered by the digest, through the file's bytes)."""
        extra = {"fitted_on": list(self.fitted_on)} if self.fitted_on else {}
        return json.dumps({**self.definition, **extra}, sort_keys=True, ensure_ascii=False)


def readable_name(cfg: JudgeConfig) -> str:
    if cfg.backend in ("longest", "shortest", "random"):
        return cfg.backend
    model = cfg.model if "/" not in cfg.model else Path(cfg.model).name
    if cfg.backend == "openai":
        return f"openai-{model}"
    if cfg.backend == "local":
        return f"{model}-{cfg.method}"
    if cfg.backend == "calibrated":  # the file's content is in the digest
        return f"calibrated-{Path(cfg.calibration).stem}"
    return cfg.backend


def judge_identity(cfg: JudgeConfig) -> JudgeIdentity:
    """The identity of the judge ``cfg`` builds; reads the principles (and any calibration file)."""
    from core.judges.local import TEMPLATES, read_principles

    if cfg.constitution and not cfg.principles and cfg.backend in ("local", "openai"):
        raise ConfigError(f"judge.constitution {cfg.constitution!r} is not resolved to its text yet "
                          "(core.judges.constitutions.resolve, which make_judge and start_run call)")
    fields = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name not in NON_VERDICT_FIELDS}
    fields.pop("principles", None)
    definition: dict = {"fields": fields}
    if cfg.backend in ("local", "openai"):
        definition["principles"] = read_principles(cfg.principles)
        definition["template"] = TEMPLATES["letters" if cfg.backend == "openai" else cfg.method]
    fitted_on: tuple[str, ...] = ()
    for name in HASHED_FILES:
        value = fields.get(name)
        if isinstance(value, str) and value and Path(value).is_file():
            content = Path(value).read_bytes()
            definition[f"{name}_sha256"] = hashlib.sha256(content).hexdigest()
            fields[name] = Path(value).name
            fitted_on = _trained_on_sources(content)
    if cfg.backend != "random":
        fields.pop("seed", None)  # only the random yardstick reads it
    if "base_url" in fields:
        fields["base_url"] = fields["base_url"].rstrip("/")
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    name = readable_name(cfg)
    plain = name in PLAIN_NAMES or (cfg.backend == "random" and cfg.seed == 0 and cfg.tie_margin == 0)
    return JudgeIdentity(key=name if plain else f"{name}@{digest[:8]}", name=name, digest=digest,
                         definition=definition, fitted_on=fitted_on)


def _trained_on_sources(content: bytes) -> tuple[str, ...]:
    """``trained_on.sources`` of a calibration file (empty where it names none or is not JSON: the
    judge's own loader says what is wrong with the file)."""
    try:
        sources = (json.loads(content).get("trained_on") or {}).get("sources") or []
    except (ValueError, AttributeError):
        return ()
    return tuple(str(s) for s in sources) if isinstance(sources, list) else ()


def readable(key: str) -> str:
    """The readable part of a judge key (``smollm2-135m-letters@1a2b3c4d`` -> ``smollm2-135m-letters``)."""
    return key.rsplit("@", 1)[0]


def display_names(keys: list[str]) -> dict[str, str]:
    """Key -> the name to show: the readable name, with the definition digest only where two keys
    of the list share a readable name (the same judge, defined two ways)."""
    counts: dict[str, int] = {}
    for key in keys:
        counts[readable(key)] = counts.get(readable(key), 0) + 1
    return {key: readable(key) if counts[readable(key)] == 1 else f"{readable(key)} ({key.rsplit('@', 1)[-1]})"
            for key in keys}
