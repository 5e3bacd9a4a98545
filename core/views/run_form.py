"""The Runs form, derived from ``RunConfig``: presets to start from and one field per config leaf.

Fields come from the dataclasses and their ``label`` and ``help`` metadata, so a setting added to a
config class appears in the form, under its own label, without touching the dashboard. Closed
choices (a backend, the gate's action) are select boxes; the gate's source offers the store's
sources beside 'human_pairs' and a file path typed in.
"""
from __future__ import annotations

import dataclasses
import math
import os
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import (
    GATE_ACTIONS,
    HUMAN_PAIRS_SOURCE,
    JUDGE_BACKENDS,
    JUDGE_METHODS,
    PRECISIONS,
    RL_ALGORITHMS,
    RL_REWARDS,
    ConfigError,
    RunConfig,
    config_from_dict,
    load_config,
)
from core.data.sample_workspace import SAMPLE_DIR

PRESETS_ENV = "RLAIF_AUDIT_PRESETS"
USER_PRESETS = Path("~/.config/rlaif-audit/presets")
CHOICES = {"judge.backend": JUDGE_BACKENDS, "judge.method": JUDGE_METHODS, "gate.action": GATE_ACTIONS,
           "rl.algorithm": RL_ALGORITHMS, "rl.reward": RL_REWARDS, "reward.precision": PRECISIONS,
           "rl.precision": PRECISIONS}
SOURCE_FIELDS = ("gate.source",)  # a store source or a file: a choice of sources, or a path typed in
FILE_CHOICE = "a pairs file (type its path)…"  # the choice of a source field that opens the text box
# The fields shown above the "Advanced" section (their labels come from the config's metadata).
MAIN_FIELDS = ("name", "policy_model", "rounds", "prompts.path", "judge.backend", "judge.method", "judge.model",
               "judge.principles", "judge.constitution", "prompts.n", "generation.responses_per_prompt", "reward.epochs",
               "rl.algorithm", "rl.reward", "ppo.updates", "ppo.kl_coef")
SECTION_TITLES = {"": "Run", "prompts": "Prompts", "generation": "Generation", "judge": "Judge",
                  "reward": "Reward model", "ppo": "RL steps (section ppo:, every optimiser)",
                  "rl": "RL optimiser and reward", "monitor": "Verbosity-gaming monitor",
                  "gate": "Judge gate (before each reward model)", "calibrate": "Calibrated judge from spot-checks"}


@dataclass(frozen=True)
class FormField:
    """One leaf of RunConfig: its dotted name, Python type, help text and allowed values (if closed)."""
    name: str
    kind: type
    help: str
    default: Any = None
    choices: tuple = ()
    title: str = ""  # the field's ``label`` metadata

    @property
    def section(self) -> str:
        return self.name.rpartition(".")[0]

    @property
    def label(self) -> str:
        """The label people read: the config field's ``label`` metadata, else one made from its name."""
        return self.title or _label(self.name.rpartition(".")[2])

    @property
    def main(self) -> bool:
        return self.name in MAIN_FIELDS

    @property
    def source(self) -> bool:
        """A pair source: one of the store's sources, 'human_pairs', or a file path."""
        return self.name in SOURCE_FIELDS

    @property
    def step(self) -> float | int:
        """The +/- step of a number: 1 for an int, the default's order of magnitude for a float
        (a learning rate of 3e-6 steps by 1e-6, not by 0.01)."""
        if self.kind is not float:
            return 1
        return 10.0 ** math.floor(math.log10(abs(self.default))) if self.default else 0.01


_WORDS = {"api": "API", "url": "URL", "kl": "KL", "eos": "EOS", "ppo": "PPO", "rm": "RM", "1k": "1,000",
          "s": "(s)", "pct": "(%)"}


def _label(field_name: str) -> str:
    """'timeout_s' -> 'Timeout (s)', 'n_clusters' -> 'Number of clusters', 'api_key_env' -> 'API key env'."""
    words = field_name.split("_")
    if words[0] == "n" and len(words) > 1:
        words = ["number", "of", *words[1:]]
    text = " ".join(_WORDS.get(w, w) for w in words)
    return text[0].upper() + text[1:]


def form_fields(cls: type = RunConfig, prefix: str = "", *, choices: dict[str, tuple] | None = None) -> list[FormField]:
    """Every leaf field of ``cls``, nested dataclasses flattened to dotted names, in declaration order.
    ``choices`` adds closed sets known only at run time (the constitution versions in the store)."""
    hints = typing.get_type_hints(cls)
    closed = {**CHOICES, **(choices or {})}
    out: list[FormField] = []
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if dataclasses.is_dataclass(kind):
            out += form_fields(kind, f"{prefix}{f.name}.", choices=choices)
        else:
            name = f"{prefix}{f.name}"
            default = f.default if f.default is not dataclasses.MISSING else None
            out.append(FormField(name, kind, f.metadata.get("help", ""), default, tuple(closed.get(name, ())),
                                 f.metadata.get("label", "")))
    return out


def source_choices(store_sources: list[str], current: str = "") -> list[str]:
    """What a source field offers: 'human_pairs', the store's sources, the value it holds now (a file
    from a preset, say), and FILE_CHOICE, which lets a person type a file path."""
    options = [HUMAN_PAIRS_SOURCE, *store_sources]
    if current and current not in options and current != FILE_CHOICE:
        options.append(current)
    return [*options, FILE_CHOICE]


def advanced_sections(fields: list[FormField] | None = None) -> list[tuple[str, list[FormField]]]:
    """The fields not shown above the "Advanced" section, grouped by config section, in order."""
    groups: dict[str, list[FormField]] = {}
    for f in fields or form_fields():
        if not f.main:
            groups.setdefault(f.section, []).append(f)
    return [(SECTION_TITLES.get(section, section), group) for section, group in groups.items()]


def flat_values(cfg: RunConfig) -> dict[str, Any]:
    """``{dotted name: value}`` for every leaf of ``cfg`` (what the form's widgets hold)."""
    data = cfg.to_dict()
    values = {}
    for f in form_fields():
        holder = data
        for key in f.name.split(".")[:-1]:
            holder = holder[key]
        values[f.name] = holder[f.name.rpartition(".")[2]]
    return values


def user_presets_dir() -> Path:
    """$RLAIF_AUDIT_PRESETS, else ~/.config/rlaif-audit/presets (it may not exist)."""
    return Path(os.environ.get(PRESETS_ENV) or USER_PRESETS).expanduser().resolve()


def presets(user_dir: Path | None = None) -> dict[str, Path]:
    """``{label: path}`` of every run config among sample_data's YAMLs (judge YAMLs are left out:
    they do not load as a run config), then the user's preset folder."""
    found = {}
    for where, folder in (("sample_data", SAMPLE_DIR), ("yours", user_dir or user_presets_dir())):
        for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
            if _is_run_config(path):
                found[f"{path.stem} ({where})"] = path
    return found


def _is_run_config(path: Path) -> bool:
    try:
        load_config(path)
    except ConfigError:
        return False
    return True


def preset_values(path: Path) -> dict[str, Any]:
    return flat_values(load_config(path))


def run_values(config: dict) -> dict[str, Any]:
    """The form values of a stored run's resolved config (ConfigError if it no longer validates)."""
    return flat_values(config_from_dict(config, source="the run's stored config"))
