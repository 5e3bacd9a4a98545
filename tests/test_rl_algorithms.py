"""PPO, RLOO and GRPO through TRL's own trainers on tiny models; the judge as a direct reward (d-RLAIF);
trackers; and the bad RL configs refused before a run is recorded."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest
import torch
import yaml

from core.config import ConfigError, PPOStageConfig, RLConfig, config_from_dict, load_config
from core.judges import make_judge
from core.loop.callbacks import StoreCallback, TensorBoardMirror
from core.loop.rl import metric_keys, run_rl
from core.loop.rollouts import length_metrics
from core.models import load_policy, load_tokenizer
from tests.conftest import SAMPLE
from tests.test_training import params

PROMPTS = [f"Tell me about {w}." for w in ("cats", "rain", "tea", "maps")]


def recording(store, rl, cfg, seen, mirrors=()):
    """The callback factory the pipeline uses, reduced: samples and lengths to the store, house keys."""
    def factory(scorer):
        def extra(step):
            samples, cost = scorer.drain()
            seen.append((samples, cost))
            store.add_ppo_samples("", 0, step, samples)
            return {**length_metrics(samples), **cost}

        return [StoreCallback(store, "", 0, "ppo", extra=extra, translate=metric_keys(rl, cfg), mirrors=mirrors)]

    return factory


@pytest.mark.parametrize("algorithm", ["ppo", "rloo", "grpo"])
def test_each_algorithm_moves_the_policy_and_writes_kl_reward_and_lengths(algorithm, tiny_model_path, reward_model_path,
                                                                         tmp_path, store):
    cfg = PPOStageConfig(updates=2, batch_size=4, mini_batches=2, ppo_epochs=1, response_length=8,
                         learning_rate=1e-3, temperature=1.0)
    rl = RLConfig(algorithm=algorithm)
    seen = []
    out = run_rl(tiny_model_path, PROMPTS, cfg, rl, tmp_path / "policy", reward_path=reward_model_path,
                 callback_factory=recording(store, rl, cfg, seen))
    before, after = params(load_policy(tiny_model_path)), params(load_policy(out))
    assert all(not torch.equal(before[k], after[k]) for k in before if "rotary" not in k)
    logged = store.metrics_frame("", stage="ppo")
    keys = {"objective/kl", "objective/scores", "objective/rlhf_reward", "objective/entropy", "response/mean_tokens",
            "reward_cost/seconds"}
    assert keys <= set(logged.key)
    per_update = logged[logged.key.isin(keys)]
    assert sorted(per_update.step.unique()) == [1, 2]
    wide = per_update.pivot_table(index="step", columns="key", values="value")
    assert wide["objective/rlhf_reward"].to_numpy() == pytest.approx(
        (wide["objective/scores"] - 0.05 * wide["objective/kl"]).to_numpy(), abs=1e-5)  # one KL, one penalty
    assert abs(wide.loc[1, "objective/kl"]) < 1e-5 < abs(wide.loc[2, "objective/kl"])  # from the reference only
    assert [len(samples) for samples, _ in seen[:2]] == [4, 4]  # every rollout of every update was scored
    assert all(c["reward_cost/seconds"] > 0 for _, c in seen[:2])
    assert len(store.ppo_samples_frame("")) == 8


def test_rloo_with_lora_trains_adapters_and_saves_a_merged_policy(tiny_model_path, reward_model_path, tmp_path,
                                                                 store):
    cfg = PPOStageConfig(updates=2, batch_size=4, mini_batches=1, response_length=8, learning_rate=1e-2,
                         temperature=1.0)
    rl = RLConfig(algorithm="rloo", lora_r=4)
    out = run_rl(tiny_model_path, PROMPTS, cfg, rl, tmp_path / "policy", reward_path=reward_model_path,
                 callback_factory=recording(store, rl, cfg, []))
    before, after = params(load_policy(tiny_model_path)), params(load_policy(out))
    assert set(before) == set(after)  # a plain model: the adapters are merged in, no lora_ keys
    moved = {k for k in before if not torch.equal(before[k], after[k])}
    assert moved and all(k.endswith("proj.weight") for k in moved)  # only the adapted projections changed
    assert "model.embed_tokens.weight" not in moved
    assert abs(store.metrics_frame("", stage="ppo").query("key == 'objective/kl' and step == 1").value.iloc[0]) < 1e-6


def test_judge_scorer_pays_each_sample_its_chance_of_beating_the_other(tiny_model_path):
    from core.loop.rewards import JudgeScorer

    scorer = JudgeScorer(make_judge("longest"), eos_token_id=0)
    prompts = [[{"role": "user", "content": "q1"}]] * 2 + [[{"role": "user", "content": "q2"}]] * 2
    completions = [[{"role": "assistant", "content": t}] for t in ("short", "much longer", "same", "same")]
    assert scorer(prompts, completions, [[5, 0], [5, 6, 7], [1], [1]]) == [0.0, 1.0, 0.5, 0.5]
    samples, cost = scorer.drain()
    assert [s["n_tokens"] for s in samples] == [1, 3, 1, 1]  # EOS (id 0) is not counted
    assert cost["reward_cost/judge_pairs"] == 2 and cost["reward_cost/unscorable_share"] == 0
    with pytest.raises(RuntimeError, match="two samples of each prompt"):
        scorer(prompts[1:3], completions[:2])


# -- d-RLAIF end to end ------------------------------------------------------------------------
def early_stopping_policy(tiny_model_path: Path, folder: Path) -> Path:
    """The tiny policy with an output head that ends answers early, at lengths that vary: the random one
    almost never samples EOS, so its answers all run to the limit and none can get longer. The EOS row
    of an untied head points along the mean hidden state of its own samples (scale found by trying)."""
    from core.loop.generation import chat_prompt

    tok, model = load_tokenizer(tiny_model_path), load_policy(tiny_model_path)
    enc = tok([chat_prompt(tok, p) for p in PROMPTS], return_tensors="pt", padding=True, add_special_tokens=False)
    torch.manual_seed(0)
    with torch.no_grad():
        out = model.generate(**enc, do_sample=True, max_new_tokens=16, top_k=0, pad_token_id=tok.pad_token_id)
        hidden = model.model(input_ids=out).last_hidden_state[:, enc["input_ids"].shape[1] - 1:]
        direction = hidden.reshape(-1, hidden.shape[-1]).mean(0)
        head = model.lm_head.weight.detach().clone()
        head[tok.eos_token_id] = 2.0 * direction / direction.norm()
    model.config.tie_word_embeddings = False
    model.lm_head.weight = torch.nn.Parameter(head)
    model.save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    return folder


def test_drlaif_with_the_longest_judge_lengthens_answers_and_the_gaming_panel_flags_it(tiny_model_path, tmp_path):
    from core.runs.pipeline import execute_run, start_run
    from core.store import Store
    from core.views.gaming_panel import gaming_panel
    from core.views.training_monitor import read_length

    policy = early_stopping_policy(tiny_model_path, tmp_path / "policy")
    cfg = yaml.safe_load((SAMPLE / "tiny.yaml").read_text())
    cfg.update(rounds=1, human_pairs="", policy_model=str(policy), prompts={**cfg["prompts"], "n": 8, "path": str(SAMPLE / "prompts.jsonl")},
               judge={"backend": "longest"}, rl={"algorithm": "rloo", "reward": "judge"},
               monitor={"eval_every": 0, "n_attack_pairs": 0},
               ppo={"updates": 6, "batch_size": 16, "mini_batches": 1, "response_length": 32, "kl_coef": 0.01,
                    "learning_rate": 0.0005, "temperature": 1.0, "checkpoint_every": 0})
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(cfg))
    store = Store(tmp_path / "store.sqlite")
    run_id = start_run(store, load_config(tmp_path / "run.yaml"))
    execute_run(store, run_id, show_bars=False)
    assert store.get_artifact(run_id, 0, "reward_model") is None  # no reward model was trained
    ppo = store.metrics_frame(run_id, stage="ppo")
    tokens = ppo[ppo.key == "response/mean_tokens"].sort_values("step").value.to_numpy()
    assert tokens[-2:].mean() > tokens[:2].mean() + 2  # answers got longer
    scores = ppo[ppo.key == "objective/scores"].value
    assert scores.to_numpy() == pytest.approx(0.5)  # a pair shares one point: the mean cannot rise
    panel = gaming_panel(store, run_id)
    assert "reward_length_correlation" in set(panel.flags.flag)
    assert panel.warning and "reward_length_correlation" in panel.warning
    assert panel.reading.startswith("The reward is the judge's P(win)")
    reading = read_length(ppo, reward="judge")
    assert "0.5 by construction" in reading.text and "The reward model's score" not in reading.text
    assert (ppo.key == "reward_cost/judge_pairs").any()


# -- trackers ----------------------------------------------------------------------------------
def tensorboard_scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """The scalars of the TFRecord event files in ``folder`` (read with tensorboardX's protobufs)."""
    from tensorboardX.proto.event_pb2 import Event

    out: dict[str, list] = {}
    for path in folder.glob("events.out.tfevents.*"):
        data = path.read_bytes()
        at = 0
        while at < len(data):
            (length,) = struct.unpack("<Q", data[at:at + 8])
            event = Event.FromString(data[at + 12:at + 12 + length])
            at += 12 + length + 4
            for value in event.summary.value:
                out.setdefault(value.tag, []).append((event.step, value.simple_value))
    return out


def test_report_to_tensorboard_writes_what_the_store_gets(tiny_model_path, reward_model_path, tmp_path, store):
    cfg = PPOStageConfig(updates=2, batch_size=4, mini_batches=1, response_length=6, learning_rate=1e-3)
    rl = RLConfig(algorithm="grpo")
    mirror = TensorBoardMirror(tmp_path / "tb")
    run_rl(tiny_model_path, PROMPTS, cfg, rl, tmp_path / "policy", reward_path=reward_model_path,
           callback_factory=recording(store, rl, cfg, [], mirrors=[mirror]))
    scalars = tensorboard_scalars(tmp_path / "tb")
    stored = store.metrics_frame("", stage="ppo").query("key == 'objective/kl'").sort_values("step")
    assert [s for s, _ in scalars["objective/kl"]] == stored.step.tolist() == [1, 2]
    assert [v for _, v in scalars["objective/kl"]] == pytest.approx(stored.value.tolist(), rel=1e-5)
    assert "response/mean_tokens" in scalars  # our own metrics too, not only TRL's


def test_an_uninstalled_tracker_is_refused_naming_report_to():
    from core.runs.pipeline import check_trackers

    check_trackers(config_from_dict({"report_to": "tensorboard"}))
    with pytest.raises(ValueError, match="report_to: tracker 'wandb' is not installed"):
        check_trackers(config_from_dict({"report_to": "tensorboard, wandb"}))
    with pytest.raises(ConfigError, match="'report_to' names an unknown tracker"):
        config_from_dict({"report_to": "tensorbored"})


# -- bad configs -------------------------------------------------------------------------------
@pytest.mark.parametrize("rl, field", [
    ({"algorithm": "a2c"}, "rl.algorithm"),
    ({"algorithm": "grpo", "samples_per_prompt": 1}, "rl.samples_per_prompt"),
    ({"algorithm": "ppo", "reward": "judge"}, "rl.reward"),  # PPO's one rollout per prompt: nothing to compare
    ({"algorithm": "rloo", "reward": "judge", "samples_per_prompt": 4}, "rl.samples_per_prompt"),
    ({"algorithm": "rloo", "samples_per_prompt": 3}, "rl.samples_per_prompt"),  # does not divide ppo.batch_size
    ({"algorithm": "ppo", "lora_r": 8}, "rl.lora_r"),
])
def test_bad_rl_configs_are_refused_before_a_run_is_recorded(rl, field, tmp_path, store):
    from core.views import runs_page as runs_ui

    values = runs_ui.preset_values(SAMPLE / "tiny.yaml")
    values.update({f"rl.{k}": v for k, v in rl.items()})
    with pytest.raises(ValueError, match=f"'{field}'"):
        runs_ui.create_run(store, values)
    assert store.list_runs().empty
    (tmp_path / "run.yaml").write_text(yaml.safe_dump({"rl": rl}))
    with pytest.raises(ConfigError, match=r"run\.yaml, line \d+: '" + field.replace(".", r"\.")):
        load_config(tmp_path / "run.yaml")


def test_configs_without_an_rl_section_still_mean_ppo_against_the_reward_model():
    for name in ("tiny.yaml",):
        cfg = load_config(SAMPLE / name)
        assert (cfg.rl.algorithm, cfg.rl.reward) == ("ppo", "reward_model")
