"""The Runs page's core: presets, a form field per config leaf, the time estimate, the run table."""
from __future__ import annotations

import dataclasses
import re
import time
import typing

import pytest

from core.config import GATE_ACTIONS, RunConfig, load_config, with_overrides
from core.runs.estimate import STAGES, estimate_run, stage_seconds
from core.runs.pipeline import start_run
from core.runs.status import LOST_AFTER_SECONDS
from core.runs.worker import run_in_this_process
from core.store import RunStatus
from core.views import runs_page as runs_ui
from core.views.runs_page import runs_table
from tests.conftest import SAMPLE


def leaves(cls, prefix=""):
    """Every leaf field of a config dataclass, as (dotted name, type), found independently of core.views.run_form."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            yield from leaves(hints[f.name], f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", hints[f.name]


def test_presets_are_every_run_config_of_sample_data_and_of_the_user_folder(tmp_path, monkeypatch):
    user = tmp_path / "presets"
    user.mkdir()
    (user / "mine.yaml").write_text("name: mine\npolicy_model: tiny\nppo: {updates: 3}\n")
    (user / "judge.yaml").write_text((SAMPLE / "default_judge.yaml").read_text())
    (user / "broken.yaml").write_text("ppo: {kl_coeff: 1}\n")
    monkeypatch.setenv("RLAIF_AUDIT_PRESETS", str(user))
    monkeypatch.chdir(tmp_path)  # found from the package, whatever the working folder
    found = runs_ui.presets()
    assert found == {"quick (sample_data)": SAMPLE / "quick.yaml", "tiny (sample_data)": SAMPLE / "tiny.yaml",
                     "mine (yours)": user / "mine.yaml"}
    assert runs_ui.preset_values(found["tiny (sample_data)"])["policy_model"] == "tiny"
    assert runs_ui.preset_values(found["mine (yours)"])["ppo.updates"] == 3


def test_the_form_has_a_field_of_the_right_type_for_every_config_leaf():
    fields = {f.name: f for f in runs_ui.form_fields()}
    expected = dict(leaves(RunConfig))
    assert set(fields) == set(expected)
    assert {name: f.kind for name, f in fields.items()} == expected
    assert all(f.help for f in fields.values())  # each one explained, from the dataclass metadata
    assert fields["judge.backend"].choices == runs_ui.JUDGE_BACKENDS
    assert fields["ppo.learning_rate"].step == pytest.approx(1e-6)  # not 0.01 for a rate of 3e-6
    assert fields["gate.action"].choices == GATE_ACTIONS and fields["gate.source"].source


def test_every_form_label_comes_from_the_config_and_reads_as_words():
    """No label is generated from a field name ('Min agreement lower ci', 'Number of boot', 'C', 'Rlhf arm')."""
    fields = runs_ui.form_fields()
    assert all(f.title for f in fields), [f.name for f in fields if not f.title]  # each has label metadata
    labels = [f.label for f in fields]
    for label in labels:
        assert label[0].isupper() and "_" not in label and len(label) > 3, label
        assert not re.search(r"\b(ci|boot|rlhf|eos|kl|rm|api|url)\b", label), label  # acronyms in capitals
    assert {"Min agreement lower ci", "Number of boot", "C", "Rlhf arm"}.isdisjoint(labels)
    # a label names its setting among the others of its section
    for section, group in runs_ui.advanced_sections(fields):
        names = [f.label for f in group]
        assert len(names) == len(set(names)), (section, names)
        assert section[:1].isupper()


def test_a_source_field_offers_the_stores_sources_human_pairs_and_a_file():
    from core.config import HUMAN_PAIRS_SOURCE

    choices = runs_ui.source_choices(["dataset:sample", "run:abc"], "/data/h.jsonl")
    assert choices == [HUMAN_PAIRS_SOURCE, "dataset:sample", "run:abc", "/data/h.jsonl", runs_ui.FILE_CHOICE]
    assert runs_ui.source_choices(["dataset:sample"], "dataset:sample") == [
        HUMAN_PAIRS_SOURCE, "dataset:sample", runs_ui.FILE_CHOICE]
    assert runs_ui.source_choices([], runs_ui.FILE_CHOICE) == [HUMAN_PAIRS_SOURCE, runs_ui.FILE_CHOICE]


def test_form_values_round_trip_and_a_bad_value_names_its_field():
    tiny = load_config(SAMPLE / "tiny.yaml")
    values = runs_ui.run_values(tiny.to_dict())
    assert runs_ui.config_from_values(values) == tiny
    with pytest.raises(ValueError, match="ppo.mini_batches"):
        runs_ui.config_from_values({**values, "ppo.mini_batches": 3})


@pytest.fixture(scope="module")
def timed_run(tmp_path_factory):
    """A real tiny run (one round) in a real store, for its stage timings."""
    from core.store import Store

    store = Store(tmp_path_factory.mktemp("timed") / "store.sqlite")
    cfg = with_overrides(load_config(SAMPLE / "tiny.yaml"), {"rounds": 1, "prompts.n": 4, "ppo.updates": 1,
                                                             "monitor.eval_every": 0})
    run_id = start_run(store, cfg)
    run_in_this_process(store, run_id, show_bars=False)
    assert store.get_run(run_id)["status"] == "succeeded"
    return store, run_id, cfg


def test_the_estimate_is_priced_from_the_stage_timings_of_finished_runs(timed_run):
    store, run_id, cfg = timed_run
    run = store.get_run(run_id)
    timings = stage_seconds(store, run_id)
    assert list(timings["stage"]) == list(STAGES) and (timings["seconds"] >= 0).all()
    assert timings["seconds"].sum() == pytest.approx(run["updated_at"] - run["created_at"])
    same = estimate_run(store, cfg)
    assert same.n_runs == 1 and same.seconds == pytest.approx(run["updated_at"] - run["created_at"])
    longer = estimate_run(store, with_overrides(cfg, {"ppo.updates": 2, "rounds": 2}))
    assert longer.per_stage["PPO"] == pytest.approx(4 * same.per_stage["PPO"])
    assert longer.per_stage["judging"] == pytest.approx(2 * same.per_stage["judging"])
    assert "Estimated time: about" in longer.text and "1 finished run with policy 'tiny'" in longer.text
    other = estimate_run(store, with_overrides(cfg, {"policy_model": "smollm2-135m"}))
    assert other.seconds is None and other.text.startswith("No estimate yet")
    assert same.per_stage["RLHF arm"] == 0 and "RLHF arm" not in same.text


def test_the_estimate_counts_the_rlhf_arms_two_reward_models(timed_run):
    """56 s estimated, 101 s taken: the arm's two reward-model trainings per round were left out. A run
    without the arm prices them at its reward model's rate per pair and epoch, on the human_pairs file."""
    store, _, cfg = timed_run
    same = estimate_run(store, cfg)
    armed = with_overrides(cfg, {"reward.rlhf_arm": True})
    estimate = estimate_run(store, armed)
    per_pair_epoch = same.per_stage["reward model"] / (cfg.prompts.n * cfg.reward.epochs)
    assert estimate.per_stage["RLHF arm"] == pytest.approx(2 * 60 * cfg.reward.epochs * per_pair_epoch)  # 60 lines
    assert estimate.seconds == pytest.approx(same.seconds + estimate.per_stage["RLHF arm"])
    assert "RLHF arm " in estimate.text


def test_with_two_finished_runs_the_estimate_gives_their_range(timed_run):
    """Runs after the test above (file order): it adds a second run to the module's store."""
    store, first, cfg = timed_run
    second = start_run(store, with_overrides(cfg, {"ppo.updates": 2}))
    run_in_this_process(store, second, show_bars=False)
    alone = [r["updated_at"] - r["created_at"] for r in map(store.get_run, (first, second))]
    both = estimate_run(store, cfg)
    assert both.n_runs == 2 and both.low <= both.high
    # the first run, priced at its own speed for its own config, is exactly its duration: one end of the range
    assert min(abs(alone[0] - both.low), abs(alone[0] - both.high)) < 1e-6
    assert "priced at each run's own speed" in both.text


def test_runs_that_did_not_succeed_give_no_estimate(store):
    run_id = store.create_run(load_config(SAMPLE / "tiny.yaml").to_dict(), name="x")
    store.update_run(run_id, status=RunStatus.FAILED)
    assert estimate_run(store, load_config(SAMPLE / "tiny.yaml")).seconds is None
    assert stage_seconds(store, run_id) is None


def test_a_finished_runs_heartbeat_stops_and_a_live_one_reads_as_a_short_age(store):
    done = store.create_run({"name": "done"}, name="done")
    store.update_run(done, status=RunStatus.SUCCEEDED, message="2 round(s) finished " + "x" * 200)
    live = store.create_run({"name": "live"}, name="live")
    store.update_run(live, status=RunStatus.RUNNING)
    beat = store.get_run(live)["heartbeat_at"]
    first = runs_table(store, now=beat + 12).set_index("run_id")
    later = runs_table(store, now=beat + 200).set_index("run_id")
    assert first.loc[done, "heartbeat"] == later.loc[done, "heartbeat"]
    assert first.loc[done, "heartbeat"].startswith("finished ")
    assert first.loc[live, "heartbeat"] == "12 s ago" and later.loc[live, "heartbeat"] == "3 min ago"
    assert len(first.loc[done, "message"]) == 48 and first.loc[done, "message"].endswith("…")
    assert runs_ui.run_details(store, done).endswith("x" * 200)  # the whole message for the selected run


def test_resume_is_offered_for_stopped_runs_only(store):
    ids = {s: store.create_run({"name": s.value}, name=s.value) for s in RunStatus}
    for status, run_id in ids.items():
        store.update_run(run_id, status=status)
    offered = {s.value for s, r in ids.items() if runs_ui.can_resume(store, r)}
    assert offered == {"failed", "cancelled"}
    assert runs_ui.can_resume(store, ids[RunStatus.RUNNING]) is False
    stale = time.time() + LOST_AFTER_SECONDS + 5
    assert runs_table(store, now=stale).set_index("run_id").loc[ids[RunStatus.RUNNING], "status"] == "lost"


def test_the_run_shows_its_whole_progress_and_the_stage_apart(store):
    """'Progress' was the stage's: 100% during round 0's PPO, then 0%, then 50%. The run's own progress
    counts rounds times stages; the stage's is its own column; two runs named alike read apart."""
    run_id = store.create_run({"name": "tiny", "rounds": 2}, name="tiny")
    twin = store.create_run({"name": "tiny", "rounds": 2}, name="tiny")

    def row():
        return runs_table(store).set_index("run_id").loc[run_id]

    assert row()["stage"] == "not started" and row()["run_progress"] == 0.0 and row()["round_of"] == ""
    store.update_run(run_id, status=RunStatus.RUNNING, stage="ppo", round=0, progress=1.0)
    assert (row()["stage_progress"], row()["round_of"], row()["run_progress"]) == (1.0, "1 of 2", 0.5)
    store.update_run(run_id, stage="prompts", round=1, progress=0.0)
    assert (row()["stage_progress"], row()["run_progress"]) == (0.0, 0.5)  # round 1 begins: half done, not 0%
    store.update_run(run_id, stage="judging dataset:sample", round=1, progress=0.5)
    assert row()["run_progress"] == (1 + 2.5 / 5) / 2  # judging is the third of five stages
    store.update_run(run_id, status=RunStatus.SUCCEEDED, stage="done", progress=1.0)
    assert (row()["run_progress"], row()["round_of"]) == (1.0, "2 of 2")
    names = runs_table(store).set_index("run_id")["run"]
    assert names[run_id] != names[twin] and names[run_id].startswith("tiny [") and run_id.endswith(names[run_id][-7:-1])


def test_a_judge_job_has_one_stage_and_no_config_to_reuse(store):
    job = store.create_run({"kind": "judge", "source": "dataset:sample", "judge": "longest", "n_pairs": 4},
                           name="judge dataset:sample · longest")
    store.update_run(job, status=RunStatus.RUNNING, stage="judging", progress=0.25)
    row = runs_table(store).iloc[0]
    assert (row["run_progress"], row["round_of"]) == (0.25, "")
    assert runs_ui.is_judge_job(store, job)
