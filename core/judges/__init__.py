"""Judges resolved by name or by a YAML definition, with lazy imports of heavy backends.

``make_judge("longest")``, ``make_judge("local")``, ``make_judge("path/to/judge.yaml")`` or
``make_judge("path/to/calibrated.json")``; a YAML file holds the fields of
``core.config.JudgeConfig``, a JSON file is a calibrated judge (``core/judges/calibrated_model.py``).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from core.config import ConfigError, JudgeConfig, _build, located
from core.data.textfiles import read_yaml
from core.judges.base import Judge, JudgeItem, combine_orders, judge_pairs, side_of
from core.judges.identity import judge_identity

__all__ = ["Judge", "JudgeItem", "combine_orders", "judge_pairs", "side_of", "make_judge", "judge_config_from"]

BUILTIN_NAMES = ("longest", "shortest", "random", "local")


def judge_config_from(name_or_path: str, **overrides) -> JudgeConfig:
    """A JudgeConfig from a built-in name or a YAML definition file."""
    if name_or_path in BUILTIN_NAMES:
        return dataclasses.replace(JudgeConfig(backend=name_or_path), **overrides)
    path = Path(name_or_path)
    if not path.is_file():
        raise ConfigError(f"unknown judge {name_or_path!r}: not one of {BUILTIN_NAMES} and not a YAML file")
    if path.suffix.lower() == ".json":  # what `python -m core calibrate` writes
        return dataclasses.replace(JudgeConfig(backend="calibrated", calibration=str(path.resolve())), **overrides)
    data, lines = read_yaml(path, error=ConfigError)
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a judge definition must be a mapping of JudgeConfig fields, "
                          f"got {type(data).__name__}")
    for key in ("principles", "calibration"):  # relative to the YAML, as in a run config
        value = data.get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            data[key] = str((path.parent / value).resolve())
    try:
        cfg = _build(JudgeConfig, data, prefix="")
    except ValueError as exc:  # JudgeConfig's own checks name 'judge.<field>'
        raise located(exc, str(path), {**lines, **{f"judge.{k}": n for k, n in lines.items()}}) from exc
    return dataclasses.replace(cfg, **overrides)


def make_judge(spec: JudgeConfig | str, *, store=None, **overrides) -> Judge:
    """The judge of a config, built-in name or YAML file. ``store`` holds the API judge's cache
    of paid answers and the constitution versions ``judge.constitution`` names (default: the shared
    run store, ``core.store.default_store_path``) and, for a calibrated judge, its raw judges' stored
    readings, used instead of reading them again."""
    cfg = spec if isinstance(spec, JudgeConfig) else judge_config_from(spec, **overrides)
    if cfg.constitution:  # NAME@VERSION: the version's text, from the store (core/judges/constitutions.py)
        from core.judges.constitutions import resolve
        from core.store import Store, default_store_path

        cfg = resolve(cfg, store if store is not None else Store(default_store_path()))
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
    elif cfg.backend == "calibrated":
        from core.judges.calibrated import CalibratedJudge
        from core.judges.stored import StoredReadings

        stored = None if store is None else (lambda key: StoredReadings(store, key))  # readings already paid for
        judge = CalibratedJudge.from_config(cfg, build=lambda raw: make_judge(raw, store=store), stored=stored)
    else:  # JudgeConfig validates backend; this guards a new backend without a branch
        raise ConfigError(f"judge backend {cfg.backend!r} has no implementation")
    judge.tie_margin = cfg.tie_margin
    # stored under a key that changes with anything that changes a verdict (core/judges/identity.py)
    judge.identity = judge_identity(cfg)
    judge.name = judge.identity.key
    return judge
