"""The reward-model and PPO stages as commands for ``accelerate launch``: several processes,
GPUs or machines, configured by TRL-style accelerate configs (``accelerate_configs/``).

    accelerate launch --config_file accelerate_configs/two_cpu_processes.yaml -m core.loop.distributed rm \\
        --records preferences.jsonl --base MODEL_DIR --out RM_DIR [--config run.yaml] [--set epochs=3]
    accelerate launch --config_file accelerate_configs/multi_gpu.yaml -m core.loop.distributed ppo \\
        --policy MODEL_DIR --reward RM_DIR --prompts prompts.jsonl --out POLICY_DIR [--config run.yaml] \\
        [--algorithm rloo]

Every process runs the same stage function (``core.loop.reward_model.train_reward_model``,
``core.loop.rl.run_rl``): the Trainer gives each process its share of every batch and averages
the gradients (DDP, or DeepSpeed with its config); only the main process writes the model
and ``metrics.json`` (the stage's metrics, the optimizer steps and ``world_size``) into the
output folder. Hyperparameters come from the ``reward``/``ppo`` section of a run config (or
the defaults), with ``--set key=value`` overrides; the RL stage's optimiser and reward from its
``rl`` section (``--algorithm`` overrides the optimiser; with ``rl.reward: judge`` the config's
judge scores the samples and ``--reward`` may be omitted). On a host without GPUs, processes started
by torchrun (``--multi_gpu`` or a MULTI_GPU config) run on the CPU over gloo; accelerate's
``--cpu`` flag would start a single process.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import torch
    from accelerate import PartialState

    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available():
        # torchrun-style launch on a host without GPUs: accelerate and the Trainer only pick
        # the multi-CPU (gloo) mode when told to use the CPU, and `accelerate launch --cpu`
        # alone starts a single process.
        os.environ["ACCELERATE_USE_CPU"] = "true"
    state = PartialState()  # joins the process group the launcher set up (gloo on CPU, NCCL on GPUs)
    metrics = _run_rm(args) if args.stage == "rm" else _run_ppo(args)
    metrics["world_size"] = state.num_processes
    if state.is_main_process:
        out = Path(args.out) / "metrics.json"
        out.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        print(f"{args.stage} stage on {state.num_processes} process(es) -> {out}")
    state.wait_for_everyone()
    return 0


def _run_rm(args) -> dict:
    from core.loop.reward_model import train_reward_model

    cfg = _stage_config(args.config, "reward", args.set)
    records = _read_jsonl(args.records)
    steps: dict = {}
    metrics = train_reward_model(args.base, records, cfg, args.out, callbacks=[_step_recorder(steps)])
    return {**{k: v for k, v in metrics.items() if k != "path"}, **steps}


def _run_ppo(args) -> dict:
    from core.loop.rl import run_rl

    cfg = _stage_config(args.config, "ppo", args.set)
    rl = _stage_config(args.config, "rl", [f"algorithm={args.algorithm}"] if args.algorithm else [])
    judge = None
    if rl.reward == "judge":
        from core.config import load_config
        from core.judges import make_judge

        judge = make_judge(load_config(args.config).judge if args.config else "local")
    elif not args.reward:
        raise SystemExit("--reward is required unless the config's rl.reward is 'judge'")
    prompts = [row["prompt"] for row in _read_jsonl(args.prompts)]
    steps: dict = {}
    run_rl(args.policy, prompts, cfg, rl, args.out, reward_path=args.reward, judge=judge,
           callback_factory=lambda _: [_step_recorder(steps)])
    return {"n_prompts": len(prompts), "algorithm": rl.algorithm, **steps}


def _step_recorder(into: dict):
    """A TrainerCallback that leaves the optimizer steps taken and the first and last loss in ``into``:
    with N processes each step sees N per-device batches, so there are N times fewer steps."""
    from transformers import TrainerCallback

    class StepRecorder(TrainerCallback):
        def on_train_end(self, args, state, control, **kwargs):
            losses = [log["loss"] for log in state.log_history if "loss" in log]
            into.update(steps=state.global_step, trainer_world_size=args.world_size)
            if losses:
                into.update(first_loss=losses[0], last_loss=losses[-1])

    return StepRecorder()


def _stage_config(path: str | None, section: str, overrides: list[str]):
    """The run config's ``section`` (or its defaults), with ``key=value`` overrides as YAML values."""
    import yaml

    from core.config import ConfigError, RunConfig, _build, load_config

    base = load_config(path) if path else RunConfig()
    data = dataclasses.asdict(getattr(base, section))
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set takes key=value, got {item!r}")
        data[key] = yaml.safe_load(value)
    try:
        return _build(type(getattr(base, section)), data, prefix=f"{section}.")
    except ValueError as exc:
        raise ConfigError(f"--set: {exc}") from exc


def _read_jsonl(path: str) -> list[dict]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="accelerate launch ... -m core.loop.distributed",
                                     description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="stage", required=True)
    rm = sub.add_parser("rm", help="train the reward model (stage 5)")
    rm.add_argument("--records", required=True, help="TRL conversational preference JSONL (stage 4's export)")
    rm.add_argument("--base", required=True, help="model directory the reward model starts from")
    ppo = sub.add_parser("ppo", help="the RL stage (stage 6): PPO, RLOO or GRPO, as the config's rl section says")
    ppo.add_argument("--policy", required=True, help="policy model directory")
    ppo.add_argument("--reward", help="reward model directory (stage 5's output); not needed with rl.reward 'judge'")
    ppo.add_argument("--algorithm", choices=("ppo", "rloo", "grpo"), help="override the config's rl.algorithm")
    ppo.add_argument("--prompts", required=True, help="JSONL with a 'prompt' field per line")
    for stage in (rm, ppo):
        stage.add_argument("--out", required=True, help="output folder (written by the main process)")
        stage.add_argument("--config", help="run config YAML whose reward/ppo (and rl) section to use")
        stage.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                           help="override one field of the section, e.g. --set epochs=3")
    return parser


if __name__ == "__main__":
    sys.exit(main())
