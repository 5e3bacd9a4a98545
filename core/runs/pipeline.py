"""Sequences the stages for one run: prompts -> responses -> judgments -> preferences ->
reward model -> RL (``core/runs/rl_stage.py``), for each round, writing every stage's output to the run store.

Every stage first looks in the store for what it already produced, so ``resume_run`` on a
run that died continues from the last committed chunk or finished stage.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from core.config import HUMAN_PAIRS_SOURCE, RunConfig, config_from_dict, is_store_source
from core.runs.progress import Reporter
from core.runs.rl_stage import rl_for_round, tensorboard_mirrors
from core.schema import Prompt, ResponsePair
from core.store import RunStatus, Store


def start_run(store: Store, cfg: RunConfig) -> str:
    """Check the run's input files, then record it with its resolved config; it starts QUEUED.

    A missing or malformed prompts, principles or human-pairs file, or a constitution version
    the store does not hold, raises ValueError naming it, and no run is recorded.
    """
    if cfg.judge.constitution:  # NAME@VERSION -> the file of that version's text, recorded with the run
        from core.judges.constitutions import resolve

        cfg = dataclasses.replace(cfg, judge=resolve(cfg.judge, store))
    check_inputs(cfg)
    if cfg.gate.enabled and is_store_source(cfg.gate.source) and cfg.gate.source not in store.source_names():
        raise ValueError(f"gate.source {cfg.gate.source!r} is not in the store: import its pairs first")
    return store.create_run(cfg.to_dict(), name=cfg.name)


def check_inputs(cfg: RunConfig) -> None:
    from core.data.prompts_file import load_prompts
    from core.judges.local import read_principles

    if not Path(cfg.prompts.path).exists():
        raise ValueError(f"prompts file not found: {cfg.prompts.path}")
    load_prompts(cfg.prompts.path)
    if cfg.judge.backend in ("local", "openai"):
        read_principles(cfg.judge.principles)
    if cfg.judge.backend == "calibrated":  # a bad calibration file stops the run before it is recorded
        from core.judges.calibrated_model import load_model

        load_model(cfg.judge.calibration)
    if cfg.human_pairs:
        from core.data.pairs_file import read_pairs_jsonl

        read_pairs_jsonl(cfg.human_pairs)
    check_trackers(cfg)
    if cfg.gate.enabled and cfg.gate.source != HUMAN_PAIRS_SOURCE and not is_store_source(cfg.gate.source):
        from core.data.pairs_file import read_pairs_jsonl

        if not Path(cfg.gate.source).is_file():
            raise ValueError(f"gate.source file not found: {cfg.gate.source}")
        read_pairs_jsonl(cfg.gate.source)


def check_trackers(cfg: RunConfig) -> None:
    """Every tracker in ``report_to`` is installed (TensorBoard through tensorboardX, the others as
    transformers finds them); otherwise a ValueError naming the field, before the run is recorded."""
    import importlib.util

    if not cfg.trackers:
        return
    from transformers.integrations import get_available_reporting_integrations

    available = set(get_available_reporting_integrations())
    if importlib.util.find_spec("tensorboardX") is not None:
        available.add("tensorboard")
    missing = [t for t in cfg.trackers if t not in available]
    if missing:
        raise ValueError(f"report_to: tracker {missing[0]!r} is not installed here "
                         f"(installed: {', '.join(sorted(available)) or 'none'})")


def run_dir(store: Store, run_id: str) -> Path:
    return store.path.parent / "runs" / run_id


def execute_run(store: Store, run_id: str, *, show_bars: bool = True) -> None:
    """Run (or resume) every round of a stored run, recording status and errors."""
    cfg = config_from_dict(store.get_run(run_id)["config"])
    reporter = Reporter(store, run_id, show_bars=show_bars)
    with reporter.recording():
        for round_ in range(cfg.rounds):
            reporter.round = round_
            run_round(store, run_id, cfg, round_, reporter)
    store.update_run(run_id, status=RunStatus.SUCCEEDED, stage="done", progress=1.0,
                     message=finished_message(store, run_id, cfg))


def finished_message(store: Store, run_id: str, cfg: RunConfig) -> str:
    """What a finished run's row says: its rounds, and the judge gate's warning when it went on past one."""
    from core.human_labels.gate import gate_reading

    warning = gate_reading(store, run_id, failed_only=True) if cfg.gate.enabled else None
    return f"{cfg.rounds} round(s) finished" + (f". Warning: {warning}" if warning else "")


def run_round(store: Store, run_id: str, cfg: RunConfig, round_: int, reporter: Reporter) -> None:
    policy = policy_for_round(store, run_id, cfg, round_)
    prompts = prompts_for_round(store, run_id, cfg, round_, reporter)
    pairs = pairs_for_round(store, run_id, cfg, round_, prompts, policy, reporter)
    judge_round(store, run_id, cfg, pairs, reporter)
    gate_round(store, run_id, cfg, round_)
    # d-RLAIF (rl.reward: judge) scores the policy's samples with the judge: no reward model to train
    reward_path = reward_for_round(store, run_id, cfg, round_, policy, reporter) if cfg.rl.reward != "judge" else None
    reward_arms_for_round(store, run_id, cfg, round_, policy, reporter)
    rl_for_round(store, run_id, cfg, round_, policy, reward_path, prompts, reporter,
                 run_dir(store, run_id) / f"round{round_}")


def policy_for_round(store: Store, run_id: str, cfg: RunConfig, round_: int) -> Path:
    """Round 0 starts from the configured policy; round k+1 from the policy round k trained."""
    from core.models import resolve_model

    if round_ == 0:
        return resolve_model(cfg.policy_model)
    trained = store.get_artifact(run_id, round_ - 1, "policy")
    if trained is None:
        raise RuntimeError(f"round {round_} needs the policy of round {round_ - 1}, which is not in the store")
    return Path(trained)


def prompts_for_round(store, run_id, cfg, round_, reporter) -> list[Prompt]:
    from core.data.prompts_file import load_prompts
    from core.loop.prompts import sample_prompts

    stored = store.prompts_frame(run_id)
    mine = stored[stored["round"] == round_]
    if not mine.empty:
        return [Prompt(r.prompt_id, r.text, r.category, int(r.cluster)) for r in mine.itertuples()]
    with reporter.stage("prompts", 1) as progress:
        prompts = sample_prompts(load_prompts(cfg.prompts.path), cfg.prompts.n, n_clusters=cfg.prompts.n_clusters,
                                 seed=cfg.prompts.seed + round_, exclude=set(stored["prompt_id"]))
        store.add_prompts(run_id, round_, prompts)
        progress(1)
    return sorted(prompts, key=lambda p: p.prompt_id)  # the order a resumed run reads back


def pairs_for_round(store, run_id, cfg, round_, prompts, policy, reporter) -> list[ResponsePair]:
    from core.loop.generation import generate_responses, make_pairs
    from core.models import load_policy, load_tokenizer
    from core.schema import Response

    stored = store.responses_frame(run_id)
    stored = stored[stored["round"] == round_]
    expected = len(prompts) * cfg.generation.responses_per_prompt
    if len(stored) < expected:  # a fresh round, or one killed mid-generation: finish the missing batches
        with reporter.stage("generation", expected) as progress:
            generate_responses(load_policy(policy), load_tokenizer(policy), prompts, cfg.generation, round_=round_,
                               model_name=f"policy-r{round_}", progress=progress, done=set(stored["response_id"]),
                               on_batch=lambda batch: store.add_responses(run_id, batch))
        stored = store.responses_frame(run_id)
        stored = stored[stored["round"] == round_]
    responses = [Response(r.response_id, r.prompt_id, r.text, r.n_tokens, r.n_chars, r.round, r.model)
                 for r in stored.itertuples()]
    pairs = make_pairs(prompts, responses, run_id=run_id, round_=round_)
    store.add_pairs(pairs, run_id=run_id)
    return pairs


def judge_round(store, run_id, cfg, pairs, reporter) -> None:
    from core.judges import make_judge
    from core.loop.judging import label_pairs

    with reporter.stage("judging", len(pairs)) as progress:
        judge = make_judge(cfg.judge, store=store)  # the API judge keeps its answer cache in this store
        record_round_judge(store, run_id, cfg, reporter.round, judge.name)
        try:
            label_pairs(store, judge, pairs, progress=progress, between_chunks=reporter.check_cancel)
            attack_judge(store, run_id, cfg, judge, pairs)
            judge_human_sources(store, run_id, cfg, judge, reporter)
        finally:
            judge.close()
    if cfg.calibrate.from_spot_checks and reporter.round >= 1:
        calibrate_round(store, run_id, cfg, reporter.round, pairs, judge.name)


def record_round_judge(store, run_id, cfg, round_, key) -> None:
    """Which judge, and which constitution version, judged this round (the report's versions table)."""
    from core.judges.constitutions import constitution_of

    store.record_round_judge(run_id, round_, key, constitution_of(cfg.judge, store))


def calibrate_round(store, run_id, cfg, round_, pairs, raw_key) -> None:
    """Round k >= 1 with calibrate.from_spot_checks: fit on the spot-checks of rounds < k and let the
    calibrated judge decide this round's pairs (core/human_labels/calibrated_rounds.py); the run's message says which."""
    from core.human_labels.calibrated_rounds import fit_for_round, label_calibrated

    path, note = fit_for_round(store, run_id, cfg, round_, run_dir(store, run_id) / f"round{round_}")
    if path:
        label_calibrated(store, path, raw_key, [p.pair_id for p in pairs])
    store.update_run(run_id, message=note)


def judge_human_sources(store, run_id, cfg, judge, reporter) -> None:
    """The judge reads the human-labelled pairs that the gate and the RLHF arm measure it on
    (once: verdicts already in the store are reused, by this run or any other)."""
    from core.human_labels.sources import sources_to_judge
    from core.human_labels.with_verdicts import labelled_pairs
    from core.loop.judging import label_pairs

    for source in sources_to_judge(store, cfg, run_id):
        pairs = labelled_pairs(store, source)
        if not pairs:
            continue
        with reporter.stage(f"judging {source}", len(pairs)) as progress:
            label_pairs(store, judge, pairs, progress=progress, between_chunks=reporter.check_cancel)


def gate_round(store, run_id, cfg, round_) -> None:
    """The judge gate (``core.human_labels.gate``) before the round's reward model; raises GateFailed to stop."""
    from core.human_labels.gate import apply_gate
    from core.judges.identity import judge_identity

    if cfg.gate.enabled and not store.get_artifact(run_id, round_, "reward_model"):
        apply_gate(store, run_id, cfg, round_, judge_identity(cfg.judge).key)


def reward_arms_for_round(store, run_id, cfg, round_, policy, reporter) -> None:
    """With ``reward.rlhf_arm``: reward models on the judge's and on people's labels, side by side."""
    from core.human_labels.rlhf_arm import record_reward_arms
    from core.judges.identity import judge_identity

    if cfg.reward.rlhf_arm and not store.get_artifact(run_id, round_, "reward_arms"):
        record_reward_arms(store, run_id, cfg, round_, policy, reporter, run_dir(store, run_id) / f"round{round_}",
                           judge_identity(cfg.judge).key)


def attack_judge(store, run_id, cfg, judge, pairs) -> None:
    """The judge's padding attack on the round's first pairs (once per round): metrics in stage
    'judge_attack', every case (original, padded copy, verdict) in a JSON artifact for reading."""
    from core.gaming.padding import attack_metrics, judge_padding_attack

    round_ = pairs[0].round if pairs else 0
    if not cfg.monitor.n_attack_pairs or not pairs or store.get_artifact(run_id, round_, "judge_attack"):
        return
    result = judge_padding_attack(judge, pairs[: cfg.monitor.n_attack_pairs], seed=cfg.monitor.eval_seed)
    store.add_metrics(run_id, round_, "judge_attack", 0, attack_metrics(result, "judge_attack"))
    path = run_dir(store, run_id) / f"round{round_}" / "judge_attack.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2), encoding="utf-8")
    store.set_artifact(run_id, round_, "judge_attack", path)


def reward_for_round(store, run_id, cfg, round_, policy, reporter) -> Path:
    """Train the round's reward model, resuming from its last checkpoint when a killed run left one."""
    from core.loop.callbacks import StoreCallback  # transformers: imported only where training runs
    from core.loop.preferences import compile_preferences, export_preferences
    from core.loop.reward_model import checkpoint_step, latest_checkpoint, train_reward_model

    done = store.get_artifact(run_id, round_, "reward_model")
    if done:
        return Path(done)
    out = run_dir(store, run_id) / f"round{round_}"
    checkpoints = out / "reward_checkpoints"
    resumed = checkpoint_step(latest_checkpoint(checkpoints)) if cfg.reward.checkpoint_every else 0
    if resumed:
        store.add_metrics(run_id, round_, "resume", resumed, {"reward_model_from_step": resumed})
    from core.human_labels.calibrated_rounds import decisive_judgments

    # one verdict per pair: each round's deciding judge's (a judge job on run:<id> adds others)
    records, skipped = compile_preferences(store.pairs_frame(run_id=run_id), decisive_judgments(store, run_id, cfg))
    store.set_artifact(run_id, round_, "preferences", export_preferences(records, out / "preferences.jsonl"))
    store.add_metrics(run_id, round_, "preferences", 0, {"pairs_with_winner": len(records), "pairs_skipped": skipped})
    human = _human_records(cfg)
    steps = max(1, int(-(-len(records) * (1 - cfg.reward.eval_fraction) // cfg.reward.batch_size) * cfg.reward.epochs))
    with reporter.stage("reward_model", steps) as progress:
        callback = StoreCallback(store, run_id, round_, "reward", progress=lambda s, t: progress.set(s, t),
                                 mirrors=tensorboard_mirrors(cfg, out, "reward_model"))
        metrics = train_reward_model(policy, records, cfg.reward, out / "reward_model", callbacks=[callback],
                                     human_records=human, checkpoint_dir=checkpoints,
                                     report_to=[t for t in cfg.trackers if t != "tensorboard"])
    path = metrics.pop("path")
    store.add_metrics(run_id, round_, "reward_eval", 0, metrics)
    if cfg.monitor.probe_reward_model:
        probe_reward_model(store, run_id, cfg, round_, path, records)
    store.set_artifact(run_id, round_, "reward_model", path)
    shutil.rmtree(checkpoints, ignore_errors=True)  # the finished model is recorded; optimizer states go
    return Path(path)


def probe_reward_model(store, run_id, cfg, round_, path, records) -> None:
    """How often the new reward model prefers a padded copy of a held-out response: stage 'reward_probe'."""
    from core.gaming.padding import attack_metrics, probe_saved_reward_model
    from core.loop.reward_model import split_records

    _, held_out = split_records(records, cfg.reward.eval_fraction, cfg.reward.seed)
    result = probe_saved_reward_model(path, held_out or records, seed=cfg.monitor.eval_seed)
    metrics = attack_metrics(result, "rm_probe")
    metrics["rm_probe/heldout"] = float(bool(held_out))  # 0: nothing was held out, the training pairs were probed
    store.add_metrics(run_id, round_, "reward_probe", 0, metrics)


def _human_records(cfg: RunConfig) -> list[dict]:
    if not cfg.human_pairs:
        return []
    from core.data.pairs_file import read_pairs_jsonl
    from core.loop.preferences import compile_preferences

    pairs = read_pairs_jsonl(cfg.human_pairs)
    records, _ = compile_preferences(pairs.drop(columns=["verdict"], errors="ignore"),
                                     pairs[["pair_id", "human"]], label_column="human")
    return records


def config_json(cfg: RunConfig) -> str:
    return json.dumps(cfg.to_dict(), indent=2)
