"""Training curves: EMA smoothing, one colour per run across subplots, reward vs KL as a cloud, the KL note."""
from __future__ import annotations

import math

import pytest

from core.views import training_charts as charts
from core.views import training_monitor as monitor

KEYS = ["objective/kl", "objective/scores"]


def two_runs(store):
    """Two runs with PPO metrics in a real store: 'a' over two rounds, 'b' over one, with a negative KL."""
    ids = []
    for name, rounds, kl0 in (("a", 2, 0.01), ("b", 1, -0.02)):
        run_id = store.create_run({"name": name}, name=name)
        for round_ in range(rounds):
            for step in range(1, 5):
                store.add_metrics(run_id, round_, "ppo", step, {"objective/kl": kl0 * step,
                                                                "objective/scores": 0.1 * step + round_})
        ids.append(run_id)
    return ids


def test_ema_matches_tensorboard_smoothing_on_a_known_series():
    # s = w*s + (1-w)*x, debiased by 1 - w**n: [1, 1.25/0.75, 2.125/0.875]
    assert charts.ema([1, 2, 3], 0.5) == pytest.approx([1.0, 5 / 3, 17 / 7])
    assert list(charts.ema([4.0, 1.0, 7.0], 0.0)) == [4.0, 1.0, 7.0]
    smoothed = charts.ema([1, float("nan"), 3], 0.5)
    assert math.isnan(smoothed[1]) and smoothed[2] == pytest.approx((0.25 + 1.5) / 0.75)  # NaN skipped
    with pytest.raises(ValueError, match="weight"):
        charts.ema([1, 2], 1.0)


def test_overlaid_runs_keep_one_colour_per_run_and_round_across_subplots(store):
    a, b = two_runs(store)
    ppo = monitor.compare_metrics(store, [a, b], "ppo")
    fig = charts.training_figure(ppo, KEYS, "PPO")
    labels = list(ppo)
    groups = {}
    for trace in fig.data:
        groups.setdefault(trace.legendgroup, []).append(trace)
    assert set(groups) == {f"{labels[0]} · r0", f"{labels[0]} · r1", f"{labels[1]} · r0"}
    for traces in groups.values():
        assert {t.xaxis for t in traces} == {"x", "x2"}  # the group is in both subplots...
        assert len({t.line.color for t in traces}) == 1  # ...in one colour
        assert sum(bool(t.showlegend) for t in traces) == 1  # and in the legend once
    assert len({ts[0].line.color for ts in groups.values()}) == 3
    assert fig.layout.xaxis.title.text == fig.layout.xaxis2.title.text == "RL update"


def test_smoothing_draws_the_ema_over_faint_raw_points(store):
    a, _ = two_runs(store)
    fig = charts.training_figure(monitor.compare_metrics(store, [a], "ppo"), ["objective/scores"], "s",
                                 smoothing=0.6)
    raw, smooth = fig.data[0], fig.data[1]
    assert raw.opacity < 0.5 and raw.line.color == smooth.line.color and not raw.showlegend
    assert list(smooth.y) == pytest.approx(charts.ema(raw.y, 0.6))
    assert fig.data[0].legendgroup == "round 0"  # one run: groups are its rounds


def test_reward_against_kl_is_a_cloud_coloured_by_update(store):
    a, b = two_runs(store)
    fig = charts.reward_kl_figure(monitor.compare_metrics(store, [a, b], "ppo"))
    assert [t.mode for t in fig.data] == ["markers"] * 3
    assert list(fig.data[0].marker.color) == [1, 2, 3, 4] and fig.data[0].marker.coloraxis == "coloraxis"
    assert fig.layout.coloraxis.colorbar.title.text == "RL update"
    assert len({t.marker.symbol for t in fig.data}) == 3


def test_the_kl_note_appears_only_when_some_kl_is_negative(store):
    a, b = two_runs(store)
    assert monitor.kl_note(monitor.compare_metrics(store, [a], "ppo")) is None
    note = monitor.kl_note(monitor.compare_metrics(store, [a, b], "ppo"))
    assert note.startswith("KL below zero at 4 of 12 updates (lowest -0.08)")
    assert "never negative" in note
    with pytest.raises(ValueError, match="at most 4"):
        monitor.compare_metrics(store, [a] * 5, "ppo")
