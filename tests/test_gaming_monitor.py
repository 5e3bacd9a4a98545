"""The length monitor on synthetic PPO batches: a reward that is the length fires every flag,
a reward that ignores length fires none, and the definitions hold exactly where they can."""
from __future__ import annotations

import math

import numpy as np
import pytest

from core.config import MonitorConfig
from core.gaming.monitor import (
    FLAGS,
    GamingMonitor,
    append_flags_jsonl,
    flags_frames,
    read_flags_jsonl,
    reward_length_correlation,
    write_flags_jsonl,
)


def batches(reward_of, *, steps=8, batch=16, growth=6, seed=0):
    """Per update: rollouts whose lengths drift up by ``growth`` tokens per update."""
    rng = np.random.default_rng(seed)
    out = []
    for step in range(1, steps + 1):
        tokens = rng.integers(10 + growth * step, 40 + growth * step, size=batch)
        rewards = reward_of(tokens, step, rng)
        out.append([{"prompt": f"q{i}", "response": "w " * int(n), "score": float(r), "n_tokens": int(n),
                     "n_chars": 2 * int(n)} for i, (n, r) in enumerate(zip(tokens, rewards))])
    return out


def run(monitor, data):
    return [monitor.update(step, samples) for step, samples in enumerate(data, 1)]


def fired(monitor):
    return {f["flag"] for f in monitor.flags}


def test_reward_equal_to_length_fires_every_flag():
    monitor = GamingMonitor(MonitorConfig())
    metrics = run(monitor, batches(lambda n, t, rng: n))
    assert fired(monitor) == set(FLAGS)
    assert min(f["step"] for f in monitor.flags) == MonitorConfig().min_steps
    last = metrics[-1]
    assert last["gaming/reward_length_spearman"] == pytest.approx(1.0)
    assert last["gaming/reward_per_token"] == pytest.approx(1.0)
    assert last["gaming/length_explained_share"] == pytest.approx(1.0)
    assert last["gaming/length_controlled_gain"] == pytest.approx(0.0, abs=1e-9)
    assert all(last[f"gaming/flag_{name}"] == 1.0 for name in FLAGS)


@pytest.mark.parametrize("seed", range(5))
def test_reward_that_ignores_length_stays_quiet_even_while_length_and_reward_both_rise(seed):
    # Quality improves every update and lengths grow too, but within a batch reward is
    # independent of length: comparing batches would blame length, the within-batch slope does not.
    monitor = GamingMonitor(MonitorConfig())
    metrics = run(monitor, batches(lambda n, t, rng: 0.5 * t + rng.normal(size=n.size), seed=seed))
    assert monitor.flags == []
    assert metrics[-1]["gaming/length_gain_pct"] > 50
    assert metrics[-1]["gaming/length_explained_share"] < 0.5


@pytest.mark.parametrize("seed", range(5))
def test_pure_noise_reward_stays_quiet(seed):
    monitor = GamingMonitor(MonitorConfig())
    run(monitor, batches(lambda n, t, rng: rng.normal(size=n.size), seed=seed))
    assert monitor.flags == []


def test_length_controlled_reward_removes_an_affine_length_effect_exactly():
    monitor = GamingMonitor(MonitorConfig(baseline_steps=2, min_steps=3))
    metrics = run(monitor, batches(lambda n, t, rng: 3.0 - 0.5 * n))
    lc = [m["gaming/length_controlled_reward"] for m in metrics[1:]]  # from the full baseline on
    assert all(m["gaming/reward_per_token"] == pytest.approx(-0.5) for m in metrics)
    assert lc == pytest.approx([lc[0]] * len(lc))
    assert [m["gaming/length_controlled_gain"] for m in metrics[1:]] == pytest.approx([0.0] * len(lc), abs=1e-9)
    # the reward falls as length grows: length explains all of the change, and nothing is flagged
    assert metrics[-1]["gaming/length_explained_share"] == pytest.approx(1.0)
    assert monitor.flags == []


def test_rollouts_all_of_one_length_leave_the_reward_as_its_own_length_controlled_value():
    """A tiny policy may answer every prompt with the same number of tokens: no slope can be
    fitted, but a length that never moved explains none of the reward."""
    monitor = GamingMonitor(MonitorConfig())
    rng = np.random.default_rng(0)
    for step in range(1, 5):
        rewards = rng.normal(step, 1.0, size=8)
        m = monitor.update(step, [{"prompt": "q", "response": "w " * 48, "score": float(r), "n_tokens": 48,
                                   "n_chars": 96} for r in rewards])
        assert math.isnan(m["gaming/reward_per_token"])
        assert m["gaming/length_controlled_reward"] == pytest.approx(rewards.mean())
        assert m["gaming/length_explained_gain"] == 0.0
    assert monitor.flags == []


def test_correlation_alone_fires_when_length_does_not_grow():
    monitor = GamingMonitor(MonitorConfig())
    run(monitor, batches(lambda n, t, rng: n, growth=0))
    assert fired(monitor) == {"reward_length_correlation"}


def test_share_is_nan_while_the_reward_is_flat_and_the_first_update_is_its_own_baseline():
    monitor = GamingMonitor(MonitorConfig())
    first = monitor.update(1, batches(lambda n, t, rng: n)[0])
    assert first["gaming/reward_gain"] == 0 and first["gaming/length_gain_pct"] == 0
    assert math.isnan(first["gaming/length_explained_share"])
    assert monitor.update(2, []) == {}


def test_flags_carry_readable_messages_and_the_longest_samples(tmp_path):
    cfg = MonitorConfig(n_flagged_samples=2)
    monitor = GamingMonitor(cfg)
    run(monitor, batches(lambda n, t, rng: n))
    flag = next(f for f in monitor.flags if f["flag"] == "length_without_quality")
    assert "% longer than at the start" in flag["message"] and "paid for length" in flag["message"]
    assert flag["threshold"] == cfg.length_growth_pct and flag["value"] > cfg.length_growth_pct
    tokens = [s["n_tokens"] for s in flag["samples"]]
    assert len(tokens) == 2 and tokens == sorted(tokens, reverse=True)
    assert {"prompt", "response", "reward", "length_controlled_reward", "n_chars"} <= set(flag["samples"][0])
    path = append_flags_jsonl(tmp_path / "flags.jsonl", monitor.flags)
    with path.open("a") as fh:
        fh.write('{"torn": ')  # a reader may race the writer
    back = read_flags_jsonl(path)
    assert back == monitor.flags
    head, samples = flags_frames(back)
    assert len(head) == len(monitor.flags) and len(samples) == 2 * len(monitor.flags)
    assert head.equals(monitor.flags_frame())
    assert read_flags_jsonl(tmp_path / "missing.jsonl") == []


def test_a_resumed_run_rebuilds_the_monitor_from_the_stored_rollouts(store, tmp_path):
    data = batches(lambda n, t, rng: n)
    live = GamingMonitor(MonitorConfig())
    metrics = run(live, data)
    for step, samples in enumerate(data, 1):
        store.add_ppo_samples("run", 0, step, samples)
    stored = store.ppo_samples_frame("run")
    replayed = GamingMonitor.from_samples(MonitorConfig(), stored[stored["step"] <= 5])
    assert replayed.flags == [f for f in live.flags if f["step"] <= 5]
    assert replayed.update(6, data[5]) == metrics[5]  # the next update carries on as if never stopped
    path = write_flags_jsonl(tmp_path / "flags.jsonl", live.flags)
    assert read_flags_jsonl(write_flags_jsonl(path, replayed.flags)) == replayed.flags


def test_thresholds_are_configurable():
    strict = GamingMonitor(MonitorConfig(length_growth_pct=1000, corr_threshold=0.99,
                                         explained_share_threshold=1.0))
    run(strict, batches(lambda n, t, rng: n + 3 * rng.normal(size=n.size)))
    assert strict.flags == []


def test_correlation_matches_scipy_and_is_nan_when_undefined():
    from scipy import stats

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=20), rng.normal(size=20)
    assert reward_length_correlation(y, x) == pytest.approx(stats.pearsonr(y, x)[0])
    assert reward_length_correlation(y, x, method="spearman") == pytest.approx(stats.spearmanr(y, x)[0])
    assert math.isnan(reward_length_correlation([1, 2, 3], [5, 5, 5]))
    assert math.isnan(reward_length_correlation([1, 2], [1, 2]))
    with pytest.raises(ValueError, match="method"):
        reward_length_correlation(y, x, method="kendall")


@pytest.mark.parametrize("field,value", [("min_steps", 1), ("corr_threshold", 1.5), ("length_growth_pct", -1),
                                         ("explained_share_threshold", 1.1), ("patience", 0), ("eval_every", -1),
                                         ("n_eval_prompts", 0), ("baseline_steps", 0)])
def test_config_validation_names_the_field(field, value):
    with pytest.raises(ValueError, match=f"monitor.{field}"):
        MonitorConfig(**{field: value})
