"""An AppTest for every page, each with one interaction, on a real store in tmp_path."""
from __future__ import annotations

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from core.store import RunStatus, Store
from tests.conftest import ROOT

APP = str(ROOT / "dashboard" / "app.py")
PAGES = ROOT / "dashboard" / "pages"


@pytest.fixture
def store_path(tmp_path, monkeypatch):
    path = tmp_path / "store.sqlite"
    monkeypatch.setenv("RLAIF_AUDIT_STORE", str(path))
    from dashboard.state import get_store

    get_store.clear()
    return path


def page(name: str) -> AppTest:
    return AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60)


def test_app_opens_on_a_page_that_says_what_the_tool_is_and_what_to_do_first(store_path):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "RLAIF judge audit" and "audits the AI judge against people" in at.markdown[0].value
    assert Store(store_path).pair_sources()["n_pairs"].tolist() == [60]  # sample_data loaded on first start
    said = " ".join(c.value for c in at.caption)
    assert "1 source(s), 60 pairs, 60 with a human label" in said
    assert "Only the yardsticks" in said  # the sample set is judged by yardsticks until a real judge reads it
    assert "To do: 0 spot-check label(s) so far" in said  # its imported labels are not spot-checks


def test_spot_check_labels_blind_then_reveals_and_undoes(store_path):
    at = page("spotcheck").run()
    at.run()
    assert any("Type your name" in i.value for i in at.info)  # the hint, before any pair is shown
    at.text_input(key="annotator_input").input("dana").run()
    assert not any("P(A better)" in m.value for m in at.markdown)  # nothing of the judge before the answer
    shown = at.session_state["current_pair"]
    at.button(key="label_A").click().run()
    labels = Store(store_path).human_labels_frame()
    assert list(zip(labels.pair_id, labels.annotator, labels.label))[-1] == (shown, "dana", "A")
    assert "You labelled 1 of 60" in at.get("progress")[0].proto.text
    verdicts = [m.value for m in at.markdown if "when A was shown first" in m.value]
    assert {v.split(":")[0].lstrip("- ") for v in verdicts} == {"longest", "random", "shortest"}
    assert all("%" in v and ("flipped" in v or "same pick" in v or "undecided" in v) for v in verdicts)
    saved = [s.value for s in [*at.success, *at.warning]]
    assert any("you said A is better" in v and "team" in v for v in saved)  # the team's label beside yours
    assert any(f"about this pair ({shown})" in m.value for m in at.markdown)  # the verdicts stand with their pair
    assert any(f"pair {shown}" in c.value for c in at.caption) and not at.text_input  # no box left to type into
    at.button(key="next_pair").click().run()
    assert at.session_state["current_pair"] != shown
    assert not any("P(A better)" in m.value for m in at.markdown)  # the next pair is blind again
    at.button(key="undo").click().run()
    assert (Store(store_path).human_labels_frame().annotator == "dana").sum() == 0


def test_the_name_is_asked_once_and_kept_in_the_address(store_path):
    at = page("spotcheck").run()
    at.text_input(key="annotator_input").input("walker").run()
    assert at.query_params["annotator"] in ("walker", ["walker"]) and not at.text_input
    fresh = page("spotcheck")  # a reload: a new session with the tab's address
    fresh.query_params["annotator"] = "walker"
    fresh.run()
    assert any("Labelling as **walker**" in c.value for c in fresh.caption) and not fresh.text_input
    fresh.button(key="change_name").click().run()
    assert fresh.text_input(key="annotator_input") and "annotator" not in fresh.query_params


def test_spot_check_shows_model_text_as_plain_text(store_path):
    store = Store(store_path)
    store.pair_sources()  # creates tables
    from core.schema import ResponsePair

    evil = "<img src=x onerror=alert(1)> ![x](http://example.invalid/a.png) <script>alert(2)</script>"
    at = page("spotcheck")
    from dashboard.state import get_store

    get_store()  # sample workspace first, then only the evil pair is unlabelled by this annotator
    get_store().add_pairs([ResponsePair("evil/1", "Say hi", evil, "hi")], dataset="evil")
    at.run()
    at.selectbox(key="source_select").set_value("dataset:evil").run()
    at.text_input(key="annotator_input").input("eve").run()
    assert evil in [t.value for t in at.text]
    assert not any(evil in m.value for m in at.markdown)


def test_agreement_page_counts_a_new_label(store_path):
    at = page("audit").run()
    assert not at.exception
    before = at.metric[0].value
    assert before == "60"
    store = Store(store_path)
    from core.schema import ResponsePair

    store.add_pairs([ResponsePair("sample/new", "q", "long answer here", "short")], dataset="sample")
    from core.judges import judge_pairs, make_judge

    store.add_judgments(judge_pairs(make_judge("longest"), [ResponsePair("sample/new", "q", "long answer here",
                                                                        "short")]))
    store.set_human_label("sample/new", "dana", "a")
    at.selectbox(key="audit_focus").set_value("longest").run()
    assert at.metric[0].value == "61"
    assert any("Length: it preferred the longer answer 100%" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 7  # six of the audit, one of the cost


def test_agreement_page_prices_the_labels(store_path):
    from core.data.sample_workspace import ensure_sample_workspace
    from core.schema import Judgment, Preference

    store = Store(store_path)
    ensure_sample_workspace(store)
    store.add_judgments([Judgment(i, "api", Preference.A, 0.9, 0.9, 0.9, True, tokens_in=500, tokens_out=5,
                                  seconds=1.5) for i in store.audit_rows("dataset:sample")["pair_id"]])
    at = page("audit").run()
    at.selectbox(key="audit_focus").set_value("api").run()
    table = at.dataframe[-1].value.set_index("Judge")
    assert table.loc["api", "$ / 1k labels"] == 0 and table.loc["human labels", "$ / 1k labels"] == 670
    at.number_input(key="cost_price_in").set_value(1.0).run()
    at.number_input(key="cost_human_label").set_value(1.0).run()
    assert not at.exception
    table = at.dataframe[-1].value.set_index("Judge")
    assert table.loc["api", "$ / 1k labels"] == 500 and table.loc["human labels", "$ / 1k labels"] == 1000
    assert any("1,000 labels from api took 25 min of compute and cost $500.00" in m.value for m in at.markdown)
    at.number_input(key="cost_price_hour").set_value(2.0).run()  # 25 min per 1,000 labels at $2 an hour
    assert at.dataframe[-1].value.set_index("Judge").loc["api", "$ / 1k labels"] == round(500 + 25 / 60 * 2, 2)
    assert any("at $1.00 / $0.00 per 1,000 tokens in / out and $2.00 per compute hour" in m.value
               for m in at.markdown)


def test_runs_form_refuses_bad_input_and_records_nothing(store_path, tmp_path):
    at = page("runs").run()
    fields = {w.label: w for w in at.text_input}
    fields["Prompts (JSONL/CSV/HF dataset folder)"].set_value(str(tmp_path / "missing.jsonl"))
    at.button[0].click().run()
    assert "prompts file not found" in at.error[0].value
    assert Store(store_path).list_runs().empty


def test_runs_form_launches_a_worker_that_finishes(store_path):
    older = Store(store_path).create_run({"name": "older"}, name="older")
    Store(store_path).update_run(older, status="failed")
    at = page("runs").run()
    at.selectbox(key="runs_selected").set_value(older).run()
    fields = {w.label: w for w in at.text_input}
    fields["Policy model ('smollm2-135m', 'tiny' or a folder)"].set_value("tiny")
    fields["Judge model (local name/folder, or the API model)"].set_value("tiny")
    numbers = {w.label: w for w in at.number_input}
    numbers["Prompts per round"].set_value(4)
    numbers["RL updates"].set_value(1)
    numbers["RM epochs"].set_value(1.0)
    at.button[0].click().run()
    assert "Started run" in at.success[0].value
    store = Store(store_path)
    run_id = store.list_runs().run_id[0]
    assert run_id != older and at.selectbox(key="runs_selected").value == run_id  # the selection follows it
    assert at.session_state["monitor_run_chosen"] == run_id  # and the Training monitor opens on it
    deadline = time.time() + 240
    while time.time() < deadline and store.get_run(run_id)["status"] in ("queued", "running"):
        time.sleep(2)
    run = store.get_run(run_id)
    assert run["status"] == "succeeded", run["error"]
    assert store.get_run(run_id)["pid"] and store.counts(run_id)["judgments"] == 4


def test_runs_form_offers_presets_and_a_widget_for_every_config_field(store_path, tmp_path, monkeypatch):
    from core.config import RunConfig
    from tests.test_runs_ui import leaves

    monkeypatch.setenv("RLAIF_AUDIT_PRESETS", str(tmp_path / "no-presets-here"))
    at = page("runs").run()
    assert not at.exception
    preset = at.selectbox(key="run_preset_select")
    assert preset.options == ["quick (sample_data)", "tiny (sample_data)"]
    widgets = {w.key: type(w).__name__ for kind in ("number_input", "text_input", "checkbox", "selectbox")
               for w in at.get(kind)}
    for name, kind in leaves(RunConfig):
        expected = ("Selectbox" if name in ("judge.backend", "judge.method", "judge.constitution", "rl.algorithm",
                                            "rl.reward", "gate.action", "gate.source", "reward.precision",
                                            "rl.precision") else
                    {bool: "Checkbox", int: "NumberInput", float: "NumberInput", str: "TextInput"}[kind])
        assert widgets.get(f"run_form.{name}") == expected, name
    assert at.number_input(key="run_form.ppo.learning_rate").value == pytest.approx(3e-6)
    preset.set_value("tiny (sample_data)").run()
    assert at.text_input(key="run_form.policy_model").value == "tiny"
    assert at.number_input(key="run_form.ppo.batch_size").value == 4  # an advanced field follows the preset too
    assert any("No estimate yet: no run with policy 'tiny'" in c.value for c in at.caption)
    at.number_input(key="run_form.ppo.mini_batches").set_value(3).run()
    at.button[0].click().run()
    assert "ppo.mini_batches" in at.error[0].value and Store(store_path).list_runs().empty


def test_runs_form_labels_are_words_and_the_gate_offers_choices(store_path, tmp_path):
    from core.config import GATE_ACTIONS
    from core.views.runs_page import FILE_CHOICE

    at = page("runs").run()
    labels = [w.label for kind in ("number_input", "text_input", "checkbox", "selectbox") for w in at.get(kind)]
    assert "Gate: minimum agreement (lower end of its 95% CI; 0 = off)" in labels
    assert {"Min agreement lower ci", "Number of boot", "C", "Rlhf arm"}.isdisjoint(labels)
    assert at.selectbox(key="run_form.gate.action").options == list(GATE_ACTIONS)
    source = at.selectbox(key="run_form.gate.source")
    assert source.options[0] == "human_pairs" and "dataset:sample" in source.options  # the store's sources
    assert source.options[-1] == FILE_CHOICE
    source.set_value(FILE_CHOICE).run()
    file_box = at.text_input(key="run_form.gate.source#file")
    file_box.set_value(str(tmp_path / "nowhere.jsonl")).run()
    at.number_input(key="run_form.gate.min_agreement_lower_ci").set_value(0.5).run()
    at.button[0].click().run()
    assert "nowhere.jsonl" in at.error[0].value and Store(store_path).list_runs().empty  # the typed file is used


def test_runs_form_keeps_its_values_across_pages(store_path):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/runs.py").run()
    at.selectbox(key="run_preset_select").set_value("tiny (sample_data)").run()
    at.number_input(key="run_form.ppo.learning_rate").set_value(2e-5).run()
    at.checkbox(key="run_form.monitor.enabled").uncheck().run()
    at.switch_page("pages/data.py").run()
    assert "run_form.ppo.learning_rate" not in at.session_state  # Streamlit dropped the widgets...
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    assert at.number_input(key="run_form.ppo.learning_rate").value == pytest.approx(2e-5)  # ...not the values
    assert at.checkbox(key="run_form.monitor.enabled").value is False
    assert at.text_input(key="run_form.policy_model").value == "tiny"
    assert at.selectbox(key="run_preset_select").value == "tiny (sample_data)"


def test_runs_page_reuses_a_runs_config_and_offers_no_resume_for_a_queued_run(store_path):
    from core.config import load_config, with_overrides
    from tests.conftest import SAMPLE

    store = Store(store_path)
    cfg = with_overrides(load_config(SAMPLE / "tiny.yaml"), {"name": "first try", "ppo.kl_coef": 0.2})
    done = store.create_run(cfg.to_dict(), name=cfg.name)
    store.update_run(done, status="succeeded", message="2 round(s) finished")
    queued = store.create_run(cfg.to_dict(), name="waiting")
    at = page("runs").run()
    at.selectbox(key="runs_selected").set_value(queued).run()
    assert at.button(key="resume_run").disabled
    at.selectbox(key="runs_selected").set_value(done).run()
    assert "2 round(s) finished" in at.caption[-1].value and "finished " in at.dataframe[0].value.set_index(
        "run_id").loc[done, "heartbeat"]
    at.button(key="reuse_config").click().run()
    assert not at.exception
    assert at.text_input(key="run_form.name").value == "first try"
    assert at.number_input(key="run_form.ppo.kl_coef").value == pytest.approx(0.2)
    assert f"The form holds run {done}'s config" in at.caption[0].value


def test_monitor_overlays_runs_in_one_colour_each_and_explains_a_negative_kl(store_path):
    store = Store(store_path)
    ids = []
    for name, kl in (("a", 0.01), ("b", -0.02)):
        run_id = store.create_run({"name": name}, name=name)
        for step in range(1, 4):
            store.add_metrics(run_id, 0, "ppo", step, {"objective/scores": 0.1 * step, "objective/kl": kl * step,
                                                       "objective/entropy": 2.0, "response/mean_tokens": 20})
        ids.append(run_id)
    at = page("monitor").run()
    at.selectbox(key="monitor_run").set_value(ids[0]).run()
    at.multiselect(key="monitor_compare").select(ids[1]).run()
    at.slider(key="monitor_smoothing").set_value(0.5).run()
    assert not at.exception
    fig = json.loads(at.get("plotly_chart")[1].proto.spec)  # KL and entropy
    colours = {}
    for trace in fig["data"]:
        colours.setdefault(trace["legendgroup"], set()).add(trace["line"]["color"])
    # the legend names each run's optimiser: runs stored without an rl section were PPO
    assert set(colours) == {f"a [{ids[0][-6:]}] PPO · r0", f"b [{ids[1][-6:]}] PPO · r0"}
    assert all(len(c) == 1 for c in colours.values()) and len(set.union(*colours.values())) == 2
    assert fig["layout"]["xaxis"]["title"]["text"] == "RL update"
    assert any("KL below zero at 3 of 6 updates" in c.value for c in at.caption)


def test_monitor_draws_curves_and_reads_length(store_path):
    store = Store(store_path)
    run_id = store.create_run({"name": "m"}, name="m")
    steps = [(20, 0.1), (22, 0.2), (30, 0.5), (33, 0.6), (38, 0.7), (41, 0.8), (45, 0.9), (47, 1.0)]
    for step, (tokens, score) in enumerate(steps, start=1):
        store.add_metrics(run_id, 0, "ppo", step, {"objective/scores": score, "objective/kl": 0.01 * step,
                                                   "response/mean_tokens": tokens})
    at = page("monitor").run()
    at.selectbox(key="monitor_run").set_value(run_id).run()
    assert not at.exception
    assert "21 tokens over the first 2 of 8 RL updates, 46 over the last 2: answers got longer" in at.warning[0].value
    assert not at.get("help")  # no stray Streamlit "magic" output on the page
    assert len(at.get("plotly_chart")) == 5
    assert "Verbosity gaming and over-optimisation" in [h.value for h in at.subheader]
    assert "No verbosity-gaming metrics for this run yet" in at.info[-1].value


def test_monitor_says_why_a_stopped_run_has_no_curves_and_opens_on_one_that_has(store_path):
    """A newer run the gate stopped before PPO used to open the monitor on five empty charts."""
    store = Store(store_path)
    older = store.create_run({"name": "trained"}, name="trained")
    for step in range(1, 4):
        store.add_metrics(older, 0, "ppo", step, {"objective/scores": 0.1 * step, "response/mean_tokens": 20})
    store.update_run(older, status=RunStatus.SUCCEEDED, stage="done")
    time.sleep(0.01)
    gated = store.create_run({"name": "gated"}, name="gated")
    store.update_run(gated, status=RunStatus.FAILED, message="stopped by the judge gate",
                     error="Judge gate on dataset:sample: the judge agreed with people on 0.25 of 60 pairs.")
    at = page("monitor").run()
    assert not at.exception and at.selectbox(key="monitor_run").value == older  # the newest run with curves
    at.selectbox(key="monitor_run").set_value(gated).run()
    assert any("stopped by the judge gate before training" in w.value and "0.25 of 60" in w.value for w in at.warning)
    assert len(at.get("plotly_chart")) == 1  # the reward-model chart; no empty PPO charts
    at.button(key="show_run_with_curves").click().run()
    assert at.selectbox(key="monitor_run").value == older and len(at.get("plotly_chart")) >= 4


def test_monitor_shows_gaming_flags_their_samples_as_plain_text_and_the_thresholds(store_path):
    from core.gaming.monitor import FLAGS
    from core.views.gaming_panel import FLAG_COLUMNS
    from tests.gaming_helpers import EVIL, gaming_run, quiet_run

    store = Store(store_path)
    gamed, quiet = gaming_run(store, monitor={"corr_threshold": 0.3}), quiet_run(store)
    at = page("monitor").run()
    at.selectbox(key="monitor_run").set_value(gamed).run()
    assert not at.exception and not at.get("help")
    assert "Reward-gaming flags fired: reward_length_correlation" in at.warning[-1].value
    assert "Length explains 100% of the reward gain" in at.info[-1].value
    flags, samples, thresholds = (d.value for d in at.dataframe)
    assert list(flags.columns) == FLAG_COLUMNS and set(flags["flag"]) == set(FLAGS)
    assert samples["response"].str.startswith(EVIL).all()
    assert not any(EVIL in m.value for m in at.markdown)  # model text only inside the dataframe
    assert dict(zip(thresholds["setting"], thresholds["value"]))["corr_threshold"] == "0.3"
    assert any("docs/verbosity.md" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 5 + 3
    at.selectbox(key="monitor_run").set_value(quiet).run()
    assert not any("flags fired" in w.value for w in at.warning)
    assert "No flag has fired." in [c.value for c in at.caption]
    assert len(at.dataframe) == 1  # the thresholds only


def test_data_page_imports_good_pairs_and_refuses_bad_ones(store_path):
    good = json.dumps({"id": 1, "prompt": "p", "response_a": "a", "response_b": "bb", "human_preferred": "b"})
    bad = good + "\n" + json.dumps({"id": 2, "prompt": "p", "response_a": "a", "response_b": "b",
                                    "human_preferred": "maybe"})
    at = page("data").run()
    at.file_uploader(key="pairs_upload").set_value(("bad.jsonl", bad.encode(), "application/jsonl")).run()
    at.button(key="import_pairs").click().run()
    assert "line 2" in at.error[0].value and "human_preferred" in at.error[0].value
    assert "bad.jsonl, line 2" in at.error[0].value and "/tmp" not in at.error[0].value  # the file as uploaded
    assert "dataset:uploaded" not in Store(store_path).pair_sources().source.tolist()
    at.file_uploader(key="pairs_upload").set_value(("good.jsonl", good.encode(), "application/jsonl")).run()
    at.button(key="import_pairs").click().run()
    assert "Imported 1 pairs" in at.success[0].value


def test_report_page_builds_a_self_contained_html(store_path):
    at = page("report").run()
    at.selectbox(key="report_focus").set_value("longest").run()
    at.button(key="build_report").click().run()
    assert not at.exception
    html = at.get("download_button")[0].proto.url
    assert html  # the file is served from media storage; its content is tested in test_report_html
    at.selectbox(key="report_focus").set_value("longest").run()  # any rerun, e.g. after the download
    assert at.get("download_button"), "the download button stays until the inputs change"
    at.selectbox(key="report_focus").set_value("shortest").run()
    assert not at.get("download_button")  # a report of another judge must be built anew


def test_data_page_download_buttons_stay_after_a_rerun(store_path):
    at = page("data").run()
    at.button(key="build_downloads").click().run()
    assert len(at.get("download_button")) == 2
    at.run()  # the rerun a download or any other widget causes
    assert len(at.get("download_button")) == 2


def test_pages_import_no_torch_or_trl(tmp_path):
    """Every page renders in a fresh process without importing torch, trl or transformers."""
    import subprocess
    import sys

    code = (
        "import sys\nfrom streamlit.testing.v1 import AppTest\n"
        "for p in ['spotcheck', 'audit', 'constitution', 'runs', 'monitor', 'data', 'report']:\n"
        "    at = AppTest.from_file(f'dashboard/pages/{p}.py', default_timeout=120).run()\n"
        "    assert not at.exception, (p, at.exception)\n"
        "print(sorted(m for m in ('torch', 'trl', 'transformers') if m in sys.modules))\n"
    )
    env = {**__import__("os").environ, "RLAIF_AUDIT_STORE": str(tmp_path / "store.sqlite")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_monitor_gaming_panel_imports_no_torch_or_trl(tmp_path):
    """The verbosity panel, flags and all, renders in a fresh process without torch, trl or transformers."""
    import subprocess
    import sys

    from tests.gaming_helpers import gaming_run

    store_path = tmp_path / "store.sqlite"
    run_id = gaming_run(Store(store_path))
    code = (
        "import sys\nfrom streamlit.testing.v1 import AppTest\n"
        "at = AppTest.from_file('dashboard/pages/monitor.py', default_timeout=120).run()\n"
        f"at.selectbox(key='monitor_run').set_value({run_id!r}).run()\n"
        "assert not at.exception, at.exception\n"
        "assert any('flags fired' in w.value for w in at.warning), [w.value for w in at.warning]\n"
        "print(sorted(m for m in ('torch', 'trl', 'transformers') if m in sys.modules))\n"
    )
    env = {**__import__("os").environ, "RLAIF_AUDIT_STORE": str(store_path)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_agreement_page_counts_a_label_on_an_already_labelled_pair(store_path):
    at = page("audit").run()
    votes, split = int(at.metric[1].value), int(at.metric[3].value)
    store = Store(store_path)
    labels = store.human_labels_frame()
    pair_id, label = labels.iloc[0]["pair_id"], labels.iloc[0]["label"]
    store.set_human_label(pair_id, "dana", "B" if label == "A" else "A")  # disagrees with the team
    at.run()
    assert at.metric[0].value == "60"  # the same pairs are labelled...
    assert int(at.metric[1].value) == votes + 1  # ...but the label counts as a vote
    assert int(at.metric[3].value) == split  # under the default policy the imported label still decides
    assert any("Imported labels decide" in box.value and "default" in box.value for box in at.info)
    assert any("1 spot-check vote is measured against" in m.value for m in at.markdown)
    people = at.dataframe[0].value
    assert dict(zip(people["Annotator"], people["Labels"]))["dana"] == 1
    store.set_consensus_policy("dataset:sample", "majority", set_by="kim")  # a team that counts every vote
    at.run()
    assert int(at.metric[3].value) == split + 1  # now it made that pair a human tie, which is said
    assert any("Set by kim" in box.value for box in at.info)


def test_data_page_judges_uploaded_pairs_in_the_background(store_path):
    from core.schema import ResponsePair

    at = page("data").run()
    store = Store(store_path)
    pairs = [ResponsePair(f"up/{i}", f"q{i}", "long answer " * (i + 2), "short") for i in range(12)]
    store.add_pairs(pairs, dataset="up")
    for p in pairs:
        store.set_human_label(p.pair_id, "dana", "A")
    at.run()
    at.selectbox(key="judge_job_source").set_value("dataset:up").run()
    at.selectbox(key="judge_job_choice").set_value("shortest").run()
    at.button(key="start_judge_job").click().run()
    assert not at.exception and any("in the background" in s.value for s in at.success)
    deadline = time.monotonic() + 60
    while len(store.source_judgments("dataset:up", "shortest")) < 12:
        assert time.monotonic() < deadline, store.list_runs().to_dict("records")
        time.sleep(0.3)
    audit = page("audit").run()
    audit.selectbox(key="source_select").set_value("dataset:up").run()
    assert "shortest" in audit.selectbox(key="audit_focus").options


def test_constitution_page_refuses_a_bad_edit_saves_a_good_one_judges_it_and_compares(store_path):
    from fake_openai_server import FakeOpenAIServer

    from core.runs.judge_jobs import write_api_judge

    at = page("constitution").run()
    assert not at.exception and at.title[0].value == "Constitution workbench"
    assert "30 tuning pairs" in at.caption[0].value and "30 held-out pairs" in at.caption[0].value
    box = at.text_area(key="constitution_text.default@1")
    assert box.value.startswith("# Sample constitution")
    box.set_value("   \n# nothing but a comment\n").run()
    at.button(key="save_constitution").click().run()
    assert "Not saved: text: empty" in at.error[0].value
    assert Store(store_path).constitution_versions("default")["version"].tolist() == [1]
    at.text_area(key="constitution_text.default@1").set_value("- Be terse: prefer the shorter response.\n").run()
    at.text_input(key="constitution_author").input("dana").run()
    at.text_input(key="constitution_note").input("people here prefer short answers").run()
    at.button(key="save_constitution").click().run()
    assert "Saved as default@2 (edited from default@1)." in at.success[0].value
    assert at.selectbox(key="constitution_version").value == 2
    assert "+- Be terse: prefer the shorter response." in at.code[0].value
    with FakeOpenAIServer() as server:
        fake = write_api_judge(store_path.parent / "judges", name="fake", base_url=server.base_url, model="m",
                               api_key_env="")
        at.run()
        at.selectbox(key="constitution_judge").set_value(str(fake)).run()
        at.button(key="judge_constitution").click().run()
        assert not at.exception and any("in the background" in s.value for s in at.success)
        store, deadline = Store(store_path), time.monotonic() + 120
        while store.list_runs()["status"].iloc[0] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, store.list_runs().to_dict("records")
            time.sleep(0.5)
        assert store.list_runs()["status"].iloc[0] == "succeeded", store.list_runs()["error"].iloc[0]
    at.run()
    table = at.dataframe[-1].value if "Version" in at.dataframe[-1].value else at.dataframe[-2].value
    assert {"default@1", "default@2"} <= set(table["Version"])
    assert any("default@2 against default@1 on the same 30 held-out pairs" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 1
    runs = page("runs").run()  # the Runs form offers the versions
    assert {"default@1", "default@2"} <= set(runs.selectbox(key="run_form.judge.constitution").options)
