"""Untrusted files: nothing a user hands in is unpickled or loaded with a YAML loader that runs
code, and the models this tool writes are safetensors folders."""
from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from core.config import PPOStageConfig, RewardConfig, load_config
from core.data.mapped import parse_mapping
from core.judges import judge_config_from
from tests.conftest import ROOT

SOURCES = sorted([*(ROOT / "core").rglob("*.py"), *(ROOT / "dashboard").rglob("*.py")])
PICKLE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}
UNSAFE_YAML = {"load", "unsafe_load", "full_load", "load_all", "unsafe_load_all", "full_load_all"}
UNSAFE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


def unsafe_calls(path: Path, root: Path = ROOT) -> list[str]:
    """Pickle imports, yaml.load & co, torch.load without weights_only=True, trust_remote_code=True,
    allow_pickle=True and pandas.read_pickle in one source file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{where}: imports {n}" for n in names if n and n.split(".")[0] in PICKLE_MODULES]
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        keywords = {k.arg: k.value for k in node.keywords}
        if name.split(".")[-1] in UNSAFE_YAML and name.startswith("yaml."):
            found.append(f"{where}: {name}")
        if name.endswith("torch.load"):
            flag = keywords.get("weights_only")
            if not (isinstance(flag, ast.Constant) and flag.value is True):
                found.append(f"{where}: {name} without weights_only=True")
        for key in ("trust_remote_code", "allow_pickle"):
            flag = keywords.get(key)
            if flag is not None and not (isinstance(flag, ast.Constant) and flag.value is False):
                found.append(f"{where}: {key}={ast.unparse(flag)}")
        if name.endswith("read_pickle"):
            found.append(f"{where}: {name}")
    return found


def test_the_source_never_unpickles_or_runs_yaml_tags():
    assert len(SOURCES) > 40
    assert [hit for path in SOURCES for hit in unsafe_calls(path)] == []


def test_the_scanner_catches_what_it_looks_for(tmp_path):
    bad = tmp_path / "probe.py"
    bad.write_text("import pickle\nimport yaml, torch\nyaml.load(s)\nyaml.unsafe_load(s)\ntorch.load(f)\n"
                   "torch.load(f, weights_only=False)\nf(trust_remote_code=True)\nnp.load(f, allow_pickle=True)\n"
                   "torch.load(f, weights_only=True)\nyaml.safe_load(s)\n")
    hits = unsafe_calls(bad, root=tmp_path)
    assert len(hits) == 7, hits


class Planted:
    """Unpickling this makes a marker folder: proof that a loader ran the pickle."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_a_pickle_planted_in_a_model_folder_is_not_run(tiny_model_path, tmp_path):
    import torch

    from core.models import load_policy

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_bytes((tiny_model_path / "config.json").read_bytes())
    marker = tmp_path / "pwned"
    torch.save({"model.embed_tokens.weight": Planted(marker)}, folder / "pytorch_model.bin")  # a real torch file
    with pytest.raises(Exception):  # noqa: B017 - transformers' wording varies; what matters is below
        load_policy(folder)
    assert not marker.exists()


@pytest.mark.parametrize("loader", ["config", "judge", "mapping"])
def test_yaml_tags_that_run_code_are_refused(loader, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(f"name: !!python/object/apply:os.mkdir ['{marker}']\n")  # yaml.unsafe_load would run it
    load = {"config": lambda: load_config(path), "judge": lambda: judge_config_from(str(path)),
            "mapping": lambda: parse_mapping(str(path))}[loader]
    with pytest.raises(ValueError):  # ConfigError for configs and judges: a ValueError too
        load()
    assert not marker.exists()


def test_trained_models_and_checkpoints_are_safetensors_folders(tiny_model_path, tmp_path):
    from core.loop.ppo import run_ppo
    from core.loop.reward_model import train_reward_model
    from tests.test_training import preference_records

    rm = tmp_path / "rm"
    train_reward_model(tiny_model_path, preference_records(8), RewardConfig(epochs=1, batch_size=4, eval_fraction=0,
                                                                            checkpoint_every=1), rm,
                       checkpoint_dir=tmp_path / "rm_checkpoints")
    cfg = PPOStageConfig(updates=2, batch_size=4, mini_batches=2, ppo_epochs=1, response_length=6, checkpoint_every=1)
    policy = run_ppo(tiny_model_path, rm, ["Tell me about tea.", "And maps?"], cfg, tmp_path / "policy",
                     checkpoint_dir=tmp_path / "ppo_checkpoints")
    folders = [rm, policy, *(p for p in (tmp_path / "ppo_checkpoints").glob("step-*/*") if p.is_dir())]
    assert len(folders) == 4  # the reward model, the policy, and the last checkpoint's policy and value model
    for folder in folders:
        names = [p.name for p in folder.iterdir()]
        assert "model.safetensors" in names and not [n for n in names if n.endswith(UNSAFE_SUFFIXES)], folder
