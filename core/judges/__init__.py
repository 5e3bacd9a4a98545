"""Judges resolved by name or by a YAML definition, with lazy imports of heavy backends.

``make_judge("longest")``, ``make_judge("local")`` or ``make_judge("path/to/judge.yaml")``;
a YAML file holds the fields of ``core.config.JudgeConfig``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from core.config import ConfigError, JudgeConfig, _build
from core.judges.base import Judge, JudgeItem, combine_orders, judge_pairs, side_of

__all__ = ["Judge", "JudgeItem", "combine_orders", "judge_pairs", "side_of", "make_judge", "judge_config_from"]

BUILTIN_NAMES = ("longest", "shortest", "random", "local")


def judge_config_from(name_or_path: str, **overrides) -> JudgeConfig:
    """A JudgeConfig from a built-in name or a YAML definition file."""
    if name_or_path in BUILTIN_NAMES:
        return dataclasses.replace(JudgeConfig(backend=name_or_path), **overrides)
    path = Path(name_or_path)
    if not path.is_file():
        raise ConfigError(f"unknown judge {name_or_path!r}: not one of {BUILTIN_NAMES} and not a YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable YAML judge definition: {exc}") from exc
    principles = data.get("principles") if isinstance(data, dict) else None
    if isinstance(principles, str) and principles and not Path(principles).is_absolute():
        data["principles"] = str((path.parent / principles).resolve())
    try:
        cfg = _build(JudgeConfig, data, str(path), prefix="")
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return dataclasses.replace(cfg, **overrides)


def make_judge(spec: JudgeConfig | str, *, store=None, **overrides) -> Judge:
    """The judge of a config, built-in name or YAML file. ``store`` holds the API judge's cache
    of paid answers (default: the shared run store, ``core.runs.store.default_store_path``)."""
    cfg = spec if isinstance(spec, JudgeConfig) else judge_config_from(spec, **overrides)
    if cfg.backend in ("longest", "shortest"):
        from core.judges.baselines import LengthJudge

        judge = LengthJudge("longer" if cfg.backend == "longest" else "shorter")
    elif cfg.backend == "random":
        from core.judges.baselines import RandomJudge

        judge = RandomJudge(seed=cfg.seed)
    elif cfg.backend == "local" and cfg.method == "generate":
        from core.judges.generate_parse import GenerateParseJudge

        judge = GenerateParseJudge.from_config(cfg)
    elif cfg.backend == "local":
        from core.judges.local import LocalJudge

        judge = LocalJudge.from_config(cfg)
    elif cfg.backend == "openai":
        from core.judges.openai_api import OpenAIJudge

        judge = OpenAIJudge.from_config(cfg, store=store)
    else:  # JudgeConfig validates backend; this guards a new backend without a branch
        raise ConfigError(f"judge backend {cfg.backend!r} has no implementation")
    judge.tie_margin = cfg.tie_margin
    return judge
