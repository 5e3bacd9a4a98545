"""kill -9 in the middle of each stage, then resume: nothing committed is lost, changed or doubled,
and the run goes on from its last chunk or checkpoint.

Each test starts the real CLI on tiny models with the targeted stage made long enough to hit,
polls the store until that stage has committed something, SIGKILLs the process, checks that
the run list calls the run "lost", resumes it with ``--resume`` and compares.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml

from core.judges.local import DEFAULT_PRINCIPLES
from core.runs.status import LOST_AFTER_SECONDS
from core.store import Store
from core.views.runs_page import runs_table
from tests.conftest import ROOT, SAMPLE

pytestmark = pytest.mark.slow


def write_config(tmp_path: Path, **sections) -> Path:
    """sample_data/tiny.yaml, one round, with the given sections merged in."""
    cfg = yaml.safe_load((SAMPLE / "tiny.yaml").read_text())
    cfg.update(rounds=1, human_pairs="", prompts={**cfg["prompts"], "path": str(SAMPLE / "prompts.jsonl")})
    cfg["judge"]["principles"] = str(DEFAULT_PRINCIPLES)
    cfg["reward"].update(epochs=1)
    cfg["ppo"].update(updates=1)
    for section, values in sections.items():
        cfg.setdefault(section, {}).update(values)
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


class Run:
    """The CLI in a subprocess on a store in tmp_path, killed or left to finish."""

    def __init__(self, tmp_path: Path, config: Path):
        self.tmp_path, self.config = tmp_path, config
        self.store = Store(tmp_path / "store.sqlite")
        self.run_id = ""

    def start(self, *extra: str) -> subprocess.Popen:
        with open(self.tmp_path / "cli.log", "ab") as log:  # the child keeps its own copy of the handle
            return subprocess.Popen([sys.executable, "-m", "core", "run", "--config", str(self.config), "--store",
                                     str(self.store.path), *extra], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                    env={**os.environ, "OMP_NUM_THREADS": "1"})  # tiny models: threads only contend

    def kill_when(self, ready: Callable[[Store, str], bool], timeout: float = 600) -> None:
        """Start a run and SIGKILL it as soon as ``ready(store, run_id)`` holds."""
        proc, deadline = self.start(), time.time() + timeout
        while time.time() < deadline:
            assert proc.poll() is None, f"the run ended before the kill point:\n{self.log_tail()}"
            runs = self.store.list_runs()
            if not runs.empty:
                self.run_id = runs.run_id[0]
                if ready(self.store, self.run_id):
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()
                    return
            time.sleep(0.02)
        proc.kill()
        raise AssertionError(f"the kill point never came:\n{self.log_tail()}")

    def resume(self) -> None:
        proc = self.start("--resume", self.run_id)
        assert proc.wait(timeout=600) == 0, self.log_tail()
        assert self.store.get_run(self.run_id)["status"] == "succeeded"
        assert self.store.integrity_check() == "ok"

    def log_tail(self) -> str:
        return (self.tmp_path / "cli.log").read_text(errors="replace")[-3000:]

    def stage_is(self, stage: str) -> bool:
        return self.store.get_run(self.run_id)["stage"] == stage

    def assert_lost(self) -> None:
        """A killed worker leaves its run 'running' with a heartbeat that goes stale: the list says 'lost'."""
        run = self.store.get_run(self.run_id)
        assert run["status"] == "running"
        later = float(run["heartbeat_at"]) + LOST_AFTER_SECONDS + 1
        shown = runs_table(self.store, now=later).set_index("run_id").loc[self.run_id, "status"]
        assert shown == "lost"


def assert_kept(before: pd.DataFrame, after: pd.DataFrame, key: list[str]) -> None:
    """Every row committed before the kill is still there, identical; no key appears twice."""
    assert not after.duplicated(key).any()
    merged = before.merge(after, on=key, how="left", suffixes=("", "_after"), indicator=True)
    assert (merged["_merge"] == "both").all(), "rows committed before the kill were lost"
    for column in before.columns.difference(key):
        assert merged[column].equals(merged[f"{column}_after"]), f"column {column} changed after the resume"


def test_kill_during_generation_resumes_at_the_next_batch(tmp_path):
    run = Run(tmp_path, write_config(tmp_path, prompts={"n": 24}, generation={"batch_size": 3, "max_new_tokens": 16}))
    run.kill_when(lambda store, rid: run.stage_is("generation") and 3 <= store.counts(rid)["responses"] < 45)
    run.assert_lost()
    before = run.store.responses_frame(run.run_id)
    assert len(before) % 3 == 0  # whole batches of three responses, never part of one
    run.resume()
    after = run.store.responses_frame(run.run_id)
    assert len(after) == 48 and after.response_id.is_unique
    assert_kept(before, after, ["response_id"])
    counts = run.store.counts(run.run_id)
    assert counts["pairs"] == counts["judgments"] == 24


def test_kill_during_judging_keeps_every_committed_chunk(tmp_path):
    run = Run(tmp_path, write_config(tmp_path, prompts={"n": 64}, generation={"batch_size": 32},
                                     judge={"method": "letters", "batch_size": 1}))
    run.kill_when(lambda store, rid: run.stage_is("judging") and 16 <= store.counts(rid)["judgments"] < 64)
    run.assert_lost()
    before = run.store.judgments_frame(run_id=run.run_id)
    assert len(before) % 16 == 0  # chunks of 16 land whole
    run.resume()
    after = run.store.judgments_frame(run_id=run.run_id)
    assert len(after) == 64 and after.pair_id.is_unique
    assert_kept(before, after, ["pair_id", "judge"])  # created_at too: nothing was judged twice
    assert run.store.counts(run.run_id)["pairs"] == 64


def test_kill_during_reward_training_resumes_from_the_checkpoint(tmp_path):
    from core.loop.reward_model import checkpoint_step, latest_checkpoint

    checkpoints = None

    def saved_one(store, rid):
        nonlocal checkpoints
        checkpoints = store.path.parent / "runs" / rid / "round0" / "reward_checkpoints"
        return run.stage_is("reward_model") and latest_checkpoint(checkpoints) is not None

    run = Run(tmp_path, write_config(tmp_path, prompts={"n": 16},
                                     reward={"epochs": 8, "batch_size": 2, "checkpoint_every": 4}))
    run.kill_when(saved_one)
    run.assert_lost()
    step = checkpoint_step(latest_checkpoint(checkpoints))
    before = run.store.metrics_frame(run.run_id, stage="reward")
    run.resume()
    metrics = run.store.metrics_frame(run.run_id)
    resumed = metrics[(metrics.stage == "resume") & (metrics.key == "reward_model_from_step")]
    assert resumed.step.tolist() == [step] and step > 0
    assert metrics.query("stage == 'reward_eval' and key == 'resumed_from_step'").value.tolist() == [step]
    losses = metrics.query("stage == 'reward' and key == 'loss'")
    assert losses.step.is_unique and losses.step.tolist() == list(range(1, losses.step.max() + 1))
    assert losses.step.max() > step
    # steps up to the checkpoint were not trained again: their rows are the ones written before the kill
    assert_kept(before[before.step <= step], metrics[metrics.stage == "reward"], ["round", "stage", "step", "key"])
    assert not checkpoints.exists()  # the finished model replaces the optimizer states
    assert (Path(run.store.get_artifact(run.run_id, 0, "reward_model")) / "model.safetensors").is_file()


@pytest.mark.parametrize("algorithm", ["ppo", "rloo"])
def test_kill_during_rl_resumes_from_the_saved_policy(algorithm, tmp_path):
    """A run killed after an RL checkpoint goes on from it, the KL still to the round's start."""
    from core.loop.rollouts import latest_checkpoint

    checkpoints = None

    def saved_one(store, rid):
        nonlocal checkpoints
        checkpoints = store.path.parent / "runs" / rid / "round0" / "ppo_checkpoints"
        return run.stage_is(algorithm) and latest_checkpoint(checkpoints) is not None

    run = Run(tmp_path, write_config(tmp_path, rl={"algorithm": algorithm},
                                     ppo={"updates": 4, "checkpoint_every": 2, "learning_rate": 0.001}))
    run.kill_when(saved_one)
    run.assert_lost()
    step = latest_checkpoint(checkpoints)[0]
    before = run.store.metrics_frame(run.run_id, stage="ppo")
    run.resume()
    metrics = run.store.metrics_frame(run.run_id)
    assert metrics.query("stage == 'resume' and key == 'ppo_from_step'").step.tolist() == [step]
    kl = metrics.query("stage == 'ppo' and key == 'objective/kl'").set_index("step").value
    assert sorted(kl.index) == list(range(1, 5))  # every update once, numbered on from the checkpoint
    assert abs(kl[1]) < 1e-6 < abs(kl[step + 1])  # the reference is still the round's starting policy
    assert_kept(before[before.step <= step], metrics[metrics.stage == "ppo"], ["round", "stage", "step", "key"])
    samples = run.store.ppo_samples_frame(run.run_id)
    assert len(samples) == 4 * 4 and not samples.duplicated(["step", "idx"]).any()
    assert not checkpoints.exists()
    policy = Path(run.store.get_artifact(run.run_id, 0, "policy"))
    assert (policy / "model.safetensors").is_file() and not list(policy.glob("*.bin"))


LABEL_WRITER = """
import sys
from core.store import Store

store = Store(sys.argv[1])
for i in range(100_000):
    pair, label = f"pair-{i // 2}", ("A", "B", "TIE")[i % 3]  # each pair labelled, then changed
    store.set_human_label(pair, "ana", label)
    print(i, pair, label, flush=True)  # acknowledged only once the store returned
"""


def test_kill_while_labelling_keeps_every_acknowledged_label(tmp_path):
    store = Store(tmp_path / "store.sqlite")
    proc = subprocess.Popen([sys.executable, "-c", LABEL_WRITER, str(store.path)], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    acked = []
    for line in proc.stdout:
        acked.append(line.split())
        if len(acked) == 400:
            os.kill(proc.pid, signal.SIGKILL)
            break
    acked += [line.split() for line in proc.stdout]  # printed before the kill, read after
    proc.wait()
    assert len(acked) >= 400 and proc.returncode == -signal.SIGKILL
    expected = {pair: label for _, pair, label in acked}  # the last acknowledged label per pair
    in_flight = int(acked[-1][0]) + 1  # the one write that may have landed without its acknowledgement
    maybe = (f"pair-{in_flight // 2}", ("A", "B", "TIE")[in_flight % 3])
    frame = store.human_labels_frame()
    assert store.integrity_check() == "ok" and frame.pair_id.is_unique and set(frame.annotator) == {"ana"}
    labels = dict(zip(frame.pair_id, frame.label))
    for pair, label in expected.items():
        assert labels[pair] == label or (pair, labels[pair]) == maybe
    assert set(labels) - set(expected) <= {maybe[0]}
