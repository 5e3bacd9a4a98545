"""The monitor's verbosity panel, read back from a real store that holds what a PPO round writes."""
from __future__ import annotations

import math

import pytest

from core.config import MonitorConfig
from core.gaming.monitor import FLAGS
from core.views import gaming_charts
from core.views.gaming_panel import FLAG_COLUMNS, SAMPLE_COLUMNS, STEP_COLUMNS, gaming_panel, gaming_reading
from tests.gaming_helpers import EVIL, gaming_run, quiet_run, rollouts, write_round


def test_a_gamed_run_shows_its_metrics_flags_samples_and_reading(store):
    run_id = gaming_run(store, steps=6)
    g = gaming_panel(store, run_id)
    assert not g.empty
    assert list(g.steps.columns) == ["round", "step", *STEP_COLUMNS.values()]
    assert g.steps["step"].tolist() == [1, 2, 3, 4, 5, 6]
    assert g.steps["reward_length_spearman"].tolist() == pytest.approx([1.0] * 6)
    assert g.steps["reward"].tolist() == pytest.approx(g.steps["mean_tokens"].tolist())  # reward = length
    # the reward with the length effect removed stays where it started: all of the gain is length
    assert g.steps["length_controlled_reward"].tolist() == pytest.approx([g.steps["reward"][0]] * 6)

    assert list(g.flags.columns) == FLAG_COLUMNS
    assert set(g.flags["flag"]) == set(FLAGS) and g.flags["step"].min() == MonitorConfig().min_steps
    assert g.flags["meaning"].str.len().min() > 40 and (g.flags["round"] == 0).all()
    assert all(name in g.warning for name in FLAGS)

    # one row per listed rollout and update, naming every flag that listed it; text as it was
    assert list(g.samples.columns) == SAMPLE_COLUMNS
    assert len(g.samples) == g.flags["step"].nunique() * MonitorConfig().n_flagged_samples
    last = g.samples[g.samples["step"] == 6]
    assert set(last["flags"].iloc[0].split(", ")) == set(FLAGS)
    assert last["response"].str.startswith(EVIL).all() and (last["reward"] == last["n_tokens"]).all()

    assert g.reading.startswith("Length explains 100% of the reward gain since step 1")
    assert "gaming the length bias" in g.reading


def test_over_optimisation_lines_up_kl_proxy_judge_and_spot_checked_human_win_rates(store):
    run_id = gaming_run(store, steps=6)
    at_step_6 = [p for p in store.pairs_frame(dataset=f"ppo-eval/{run_id}").pair_id if p.endswith(tuple(
        f"/s6/p{i}" for i in range(3)))]
    for pair_id, label in zip(at_step_6, ["A", "B", "TIE"]):
        store.set_human_label(pair_id, "ann", label)
    over = gaming_panel(store, run_id).overopt
    assert over["step"].tolist() == [1, 2, 3, 4, 5, 6]
    assert over["kl"].tolist() == pytest.approx([0.05 * s for s in range(1, 7)])
    # the 'shortest' judge audits a policy whose answers are longer than the reference's: it never wins
    assert over.set_index("step")["judge_win_rate"].dropna().to_dict() == {2: 0.0, 4: 0.0, 6: 0.0}
    assert over.set_index("step")["human_win_rate"].dropna().to_dict() == {6: pytest.approx(0.5)}
    assert over["human_pairs"].tolist() == [0, 0, 0, 0, 0, 3]
    reading = gaming_panel(store, run_id).reading
    assert "50% by people (3 spot-checked pairs, 95% CI " in reading
    assert "win rate against the reference policy on held-out prompts is 0% by the judge" in reading
    assert "over-optimised" in reading


def test_over_optimisation_is_named_only_for_a_proxy_gain_beyond_noise(store):
    g = gaming_panel(store, gaming_run(store, steps=6))
    assert "over-optimised" in g.reading
    within_noise = g.steps.assign(flat_tolerance=g.steps["reward_gain"] + 1)
    assert "over-optimised" not in gaming_reading(within_noise, g.overopt, g.config)
    better = g.overopt.assign(judge_win_rate=g.overopt["judge_win_rate"] * 0 + 0.8)
    assert "over-optimised" not in gaming_reading(g.steps, better, g.config)


def test_a_run_that_ignores_length_raises_no_flag(store):
    g = gaming_panel(store, quiet_run(store, steps=8))
    assert g.flags.empty and list(g.flags.columns) == FLAG_COLUMNS
    assert g.samples.empty and list(g.samples.columns) == SAMPLE_COLUMNS
    assert g.warning is None
    assert "most of the gain is reward the reward model gives beyond length" in g.reading
    assert "over-optimised" not in g.reading  # the 'longest' judge prefers the grown policy


def test_a_run_without_gaming_metrics_is_empty(store):
    run_id = store.create_run({"name": "plain"}, name="plain")
    store.add_metrics(run_id, 0, "ppo", 1, {"objective/kl": 0.1, "objective/scores": 0.3,
                                            "response/mean_tokens": 20})
    g = gaming_panel(store, run_id)
    assert g.empty and g.steps.empty and g.reading is None and g.warning is None
    assert g.overopt["kl"].tolist() == [0.1]


def test_thresholds_are_the_runs_own_and_drive_the_flags_and_the_chart(store):
    run_id = gaming_run(store, monitor={"corr_threshold": 0.3, "patience": 4}, steps=6)
    g = gaming_panel(store, run_id)
    assert g.config.corr_threshold == 0.3
    shown = dict(zip(g.thresholds["setting"], g.thresholds["value"]))
    assert shown["corr_threshold"] == "0.3" and shown["patience"] == "4"
    assert g.thresholds["meaning"].str.len().min() > 20
    assert (g.flags["threshold"][g.flags["flag"] == "reward_length_correlation"] == 0.3).all()
    assert g.flags["step"].min() == 4  # patience 4: the condition has held at updates 1 to 4
    fig = gaming_charts.correlation_figure(g.steps, corr_threshold=g.config.corr_threshold,
                                           share_threshold=g.config.explained_share_threshold)
    assert sorted(shape.y0 for shape in fig.layout.shapes) == [0.3, 0.5]


def test_flags_of_every_round_are_read_with_their_round(store):
    run_id = gaming_run(store, steps=4)
    write_round(store, run_id, rollouts(lambda n, t, rng: n.astype(float), steps=4, seed=1), round_=1)
    g = gaming_panel(store, run_id)
    assert sorted(store.artifact_paths(run_id, "gaming_flags")) == [0, 1]
    assert set(g.flags["round"]) == {0, 1} and set(g.samples["round"]) == {0, 1}
    assert g.steps.groupby("round").size().to_dict() == {0: 4, 1: 4}
    assert g.reading.startswith("Round 1, step 4: ")
    assert len(gaming_charts.length_figure(g.steps).data) == 2 * 4  # 4 lines per round


def test_a_torn_last_line_of_the_flags_file_is_skipped_while_the_run_writes(store):
    run_id = gaming_run(store, steps=6)
    path = store.artifact_paths(run_id, "gaming_flags")[0]
    before = len(gaming_panel(store, run_id).flags)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"step": 7, "flag": "reward_len')
    assert len(gaming_panel(store, run_id).flags) == before


def test_charts_draw_every_series_and_leave_unmeasured_points_out(store):
    g = gaming_panel(store, gaming_run(store, steps=6))
    length = gaming_charts.length_figure(g.steps)
    assert [t.name for t in length.data] == ["mean length r0", "median length r0", "reward (proxy) r0",
                                            "length-controlled reward r0"]
    corr = gaming_charts.correlation_figure(g.steps, corr_threshold=0.5, share_threshold=0.5)
    share = next(t for t in corr.data if t.name.startswith("share explained"))
    assert not any(math.isnan(v) for v in share.y)  # NaN while the reward is flat: not drawn
    over = gaming_charts.overopt_figure(g.overopt)
    judge = next(t for t in over.data if t.name == "judge r0")
    assert list(judge.x) == pytest.approx([0.1, 0.2, 0.3]) and list(judge.y) == [0.0, 0.0, 0.0]
    assert [t.name for t in over.data] == ["proxy reward r0", "judge r0", "people (spot-checked) r0"]
