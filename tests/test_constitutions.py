"""Constitutions as versioned objects: saving (and refusing), two writers at once, a run config that
names a version, the held-out split, and versions judged and compared on held-out pairs, with a judge
whose verdicts depend on a word of the principles and a judge that ignores them."""
from __future__ import annotations

import pytest
from fake_openai_server import FakeOpenAIServer

from core.config import ConfigError, JudgeConfig, load_config, with_overrides
from core.human_labels.constitution_compare import principle_stats
from core.human_labels.splits import HELDOUT, TUNING, ensure_split
from core.judges import make_judge
from core.judges.constitutions import (
    MAX_CHARS,
    ConstitutionError,
    constitution_of,
    diff_versions,
    ensure_default,
    save_version,
    with_version,
)
from core.judges.identity import judge_identity
from core.judges.local import DEFAULT_PRINCIPLES
from core.runs import judge_jobs
from core.schema import ResponsePair
from core.store import Store
from core.views import constitution as view
from core.views.constitution_compare import comparison
from tests.test_concurrency import run_together

TERSE = "- Be terse: prefer the shorter response.\n- Be honest.\n"


def labelled_pairs(store: Store, n: int = 40, *, dataset: str = "d") -> list[ResponsePair]:
    """Pairs where people always preferred the shorter response (so 'terse' judges agree with them)."""
    pairs = [ResponsePair(f"{dataset}/{i:02d}", f"Question {i}?", "Short." if i % 2 else "A long answer. " * (2 + i % 3),
                          "A long answer. " * (2 + i % 3) if i % 2 else "Short.") for i in range(n)]
    store.add_pairs(pairs, dataset=dataset)
    for p in pairs:
        store.set_human_label(p.pair_id, "dana", "A" if len(p.response_a) < len(p.response_b) else "B")
    return pairs


# -- versions: saving and refusing -------------------------------------------------------------------
def test_the_packaged_constitution_is_version_1_of_default_and_edits_are_numbered(store):
    ensure_default(store)
    first = store.constitution_version("default", 1)
    assert first["text"] == DEFAULT_PRINCIPLES.read_text() and first["author"] == "rlaif-audit"
    assert save_version(store, "default", TERSE, author="ana", note="people prefer short answers", base_version=1) == 2
    assert save_version(store, "strict", "- Only facts.\n", author="bo", note="a new one") == 1
    assert view.names(store) == ["default", "strict"] and view.versions(store, "default") == [2, 1]
    diff = diff_versions(store, "default", 1, 2)
    assert "+- Be terse: prefer the shorter response." in diff and "-- Honesty:" in diff
    table = view.versions_table(store, "default")
    assert table["Version"].tolist() == [2, 1] and table["Edited from"].tolist() == ["default@1", ""]


@pytest.mark.parametrize("text, words", [
    ("", "empty"), ("  \n\n  ", "empty"), ("# only a comment\n", "empty"),
    ("x" * (MAX_CHARS + 1), "over the limit of 20,000"),
])
def test_an_empty_or_too_long_constitution_is_refused_and_nothing_is_stored(store, text, words):
    ensure_default(store)
    with pytest.raises(ConstitutionError, match=words):
        save_version(store, "default", text, author="ana", note="why", base_version=1)
    assert view.versions(store, "default") == [1]


def test_whitespace_or_comment_only_edits_are_refused_and_nothing_is_stored(store):
    ensure_default(store)
    text = view.version_text(store, "default", 1)
    for edit in (text + "\n\n   \n", text.replace(": ", ":   "), "# a new comment\n" + text, text.replace("\n", "\r\n")):
        with pytest.raises(ConstitutionError, match="already says this"):
            save_version(store, "default", edit, author="ana", note="why", base_version=1)
    with pytest.raises(ConstitutionError, match="note: required"):
        save_version(store, "default", TERSE, author="ana", note="  ", base_version=1)
    with pytest.raises(ConstitutionError, match="author: required"):
        save_version(store, "default", TERSE, author="", note="why", base_version=1)
    with pytest.raises(ConstitutionError, match="name"):
        save_version(store, "no spaces", TERSE, author="ana", note="why")
    assert view.versions(store, "default") == [1] and view.names(store) == ["default"]


def save_many(path: str, who: int, barrier) -> None:
    store = Store(path)
    barrier.wait(timeout=120)
    for k in range(5):
        save_version(store, "default", f"- Rule {who}.{k}: be kind.\n", author=f"person-{who}", note="at once",
                     base_version=1)


def test_people_saving_at_once_each_get_a_version_and_none_is_overwritten(store):
    ensure_default(store)
    run_together(save_many, [(str(store.path), who) for who in range(4)])  # each process exits 0
    rows = store.constitution_versions("default")
    assert rows["version"].tolist() == list(range(1, 22))  # 1 packaged + 4 people x 5, no gap, no double
    assert sorted(rows["text"][1:]) == sorted(f"- Rule {w}.{k}: be kind.\n" for w in range(4) for k in range(5))


def test_saving_from_an_older_version_says_which_newer_ones_it_lacks(store):
    ensure_default(store)
    save_version(store, "default", TERSE, author="ana", note="a", base_version=1)
    version, message = view.save(store, "default", "- Be kind.\n", author="bo", note="b", base_version=1)
    assert version == 3 and "default@2 is newer than the version you edited" in message


# -- a judge names a version ---------------------------------------------------------------------------
def test_a_version_is_a_judge_and_version_1_is_the_packaged_default_judge(store):
    ensure_default(store)
    save_version(store, "default", TERSE, author="ana", note="a", base_version=1)
    api = JudgeConfig(backend="openai", base_url="http://127.0.0.1:9/v1", model="m")
    assert judge_identity(with_version(api, "default@1", store)).key == judge_identity(api).key
    assert judge_identity(with_version(api, "default@2", store)).key != judge_identity(api).key
    judge = make_judge(JudgeConfig(backend="openai", base_url="http://127.0.0.1:9/v1", model="m",
                                   constitution="default@2"), store=store)
    assert judge.principles == TERSE.strip()
    assert constitution_of(with_version(api, "default@2", store), store) == "default@2"
    assert constitution_of(api, store) == "default@1"  # named by its text, not by how it was configured
    with pytest.raises(ConstitutionError, match="default has versions 1-2"):
        with_version(api, "default@7", store)
    with pytest.raises(ValueError, match="judge.constitution"):
        JudgeConfig(constitution="default")
    with pytest.raises(ConfigError, match="not resolved"):
        judge_identity(JudgeConfig(backend="openai", base_url="http://x/v1", constitution="default@2"))


def test_a_run_config_naming_a_version_is_resolved_when_it_starts(store, tmp_path):
    from core.runs.pipeline import start_run
    from tests.conftest import SAMPLE

    ensure_default(store)
    save_version(store, "default", TERSE, author="ana", note="a", base_version=1)
    tiny = load_config(SAMPLE / "tiny.yaml")
    run_id = start_run(store, with_overrides(tiny, {"judge.constitution": "default@2"}))
    judge = store.get_run(run_id)["config"]["judge"]
    assert judge["constitution"] == "default@2" and open(judge["principles"]).read() == TERSE
    with pytest.raises(ValueError, match="default@9"):
        start_run(store, with_overrides(tiny, {"judge.constitution": "default@9"}))
    assert len(store.list_runs()) == 1  # the refused run was not recorded


# -- the split ---------------------------------------------------------------------------------------
def test_the_split_is_seeded_stored_and_never_moves_a_pair(store):
    pairs = labelled_pairs(store, 40)
    first = ensure_split(store, "dataset:d")
    assert (first["part"] == HELDOUT).sum() == 20 and (first["part"] == TUNING).sum() == 20
    other = Store(store.path.parent / "other.sqlite")
    labelled_pairs(other, 40)
    assert ensure_split(other, "dataset:d").sort_values("pair_id").equals(first.sort_values("pair_id"))  # seeded
    more = [ResponsePair(f"d/new{i}", "q", "a", "bb") for i in range(30)]
    store.add_pairs(more, dataset="d")
    for p in more:
        store.set_human_label(p.pair_id, "dana", "B")
    later = ensure_split(store, "dataset:d").set_index("pair_id")["part"]
    assert len(later) == 70 and all(later[p] == part for p, part in zip(first["pair_id"], first["part"]))
    assert 5 <= (later[[p.pair_id for p in more]] == HELDOUT).sum() <= 25
    assert len(pairs) == 40


# -- judging versions and comparing them ---------------------------------------------------------------
@pytest.fixture
def server():
    with FakeOpenAIServer() as s:
        yield s


def api_judge(tmp_path, server) -> str:
    return str(judge_jobs.write_api_judge(tmp_path / "judges", name="fake", base_url=server.base_url,
                                          model="fake-judge", api_key_env=""))


def judge_versions(store, spec, refs, *, per_principle=False) -> None:
    """What the page's button does, in this process (the worker runs the same function)."""
    run_id = judge_jobs.start_judge_job(store, "dataset:d", spec, constitutions=refs, per_principle=per_principle,
                                        labelled_only=True)
    judge_jobs.execute_judge_job(store, run_id, show_bars=False)
    assert store.get_run(run_id)["status"] == "succeeded", store.get_run(run_id)["error"]


def test_a_version_that_changes_verdicts_is_better_beyond_noise_on_held_out_pairs(store, tmp_path, server):
    labelled_pairs(store, 40)
    spec = api_judge(tmp_path, server)
    ensure_default(store)
    save_version(store, "default", TERSE, author="ana", note="people prefer short answers", base_version=1)
    judge_versions(store, spec, ["default@2", "default@1"])
    shown = comparison(store, "dataset:d", spec, "default", baseline=1, n_boot=500)
    table = shown["table"].set_index(["Part", "Version"])
    held = table.loc[("held-out (the measurement)", "default@2")]
    assert held["Agreement"] == 1.0 and held["Judged pairs"] == "20 of 20" and held["Judge picks longer"] == 0.0
    assert table.loc[("held-out (the measurement)", "default@1"), "Agreement"] == 0.0
    assert held["Reading"] == "better beyond noise"
    assert any("default@2 against default@1 on the same 20 held-out pairs" in s and "better beyond noise" in s
               for s in shown["sentences"])
    changed = shown["changed"][HELDOUT]
    assert len(changed["now agrees"]) == 20 and changed["now disagrees"] == []
    assert not set(changed["now agrees"]) & set(shown["changed"][TUNING]["now agrees"])  # parts never mix
    assert shown["multiple"] == ""  # one version beside the baseline: nothing to correct for


def test_a_judge_that_ignores_the_principles_shows_no_difference_beyond_noise(store, tmp_path, server):
    labelled_pairs(store, 40)
    spec = api_judge(tmp_path, server)
    ensure_default(store)
    save_version(store, "default", "- Prefer the kinder response.\n", author="ana", note="kindness", base_version=1)
    judge_versions(store, spec, ["default@2", "default@1"])
    shown = comparison(store, "dataset:d", spec, "default", baseline=1, n_boot=500)
    rows = shown["table"]
    assert set(rows["Version"]) == {"default@1", "default@2"}  # two judges, judged apart
    assert rows.loc[rows["Version"] == "default@2", "Reading"].tolist() == ["no difference beyond noise"] * 2
    assert all("no difference beyond noise" in s for s in shown["sentences"] if s.startswith("default@2"))
    assert shown["changed"][HELDOUT] == {"now agrees": [], "now disagrees": [], "changed, still disagrees": []}


def test_several_versions_on_the_same_held_out_pairs_are_corrected_for(store, tmp_path, server):
    labelled_pairs(store, 40)
    spec = api_judge(tmp_path, server)
    ensure_default(store)
    save_version(store, "default", "- Prefer the kinder response.\n", author="ana", note="a", base_version=1)
    save_version(store, "default", TERSE, author="ana", note="b", base_version=2)
    judge_versions(store, spec, ["default@2", "default@1"])
    judge_versions(store, spec, ["default@3", "default@1"])
    shown = comparison(store, "dataset:d", spec, "default", baseline=1, n_boot=500)
    assert shown["candidate"] == "default@3"
    text = shown["multiple"]
    assert text.startswith("2 versions have been compared with default@1 on the same 20 held-out pairs")
    assert "The best, default@3, leads it by +100 points" in text and "Bonferroni 97.5% CI" in text
    assert "its lead holds after the correction" in text


def test_each_principle_judged_alone_shows_which_one_carries_the_length_preference(store, tmp_path, server):
    labelled_pairs(store, 20)
    spec = api_judge(tmp_path, server)
    ensure_default(store)
    save_version(store, "default", "- Be honest.\n" + TERSE.splitlines()[0] + "\n- Be kind.\n", author="ana",
                 note="split", base_version=1)
    judge_versions(store, spec, ["default@2", "default@1"], per_principle=True)
    stats = principle_stats(store, "dataset:d", view.judge_config(spec), "default@2", TUNING).set_index("principle")
    assert list(stats.index) == [1, 2, 3]
    assert stats.loc[2, "judge_p_longer"] == 0.0 and stats.loc[2, "agreement"] == 1.0  # the 'terse' principle
    assert stats.loc[1, "judge_p_longer"] == 1.0 and stats.loc[3, "agreement"] == 0.0
    assert stats.loc[2, "same_as_whole"] == 1.0 and stats.loc[2, "decides_whole"] == 1.0
    assert stats.loc[1, "same_as_whole"] == 0.0
    shown = view.faults(store, "dataset:d", spec, "default", 1)
    assert shown["judged"] and any("Length: it preferred the longer answer 100%" in s for s in shown["sentences"])
    assert all(e["pair_id"] in set(ensure_split(store, "dataset:d").query("part == 'tuning'")["pair_id"])
               for e in shown["examples"])  # examples only from the tuning part


def test_a_judge_that_reads_no_principles_cannot_judge_versions(store):
    labelled_pairs(store, 4)
    ensure_default(store)
    with pytest.raises(ValueError, match="does not read principles"):
        judge_jobs.start_judge_job(store, "dataset:d", "longest", constitutions=["default@1"], labelled_only=True)
    assert store.list_runs().empty


def test_the_report_has_a_constitution_versions_table_and_the_diff_of_the_version_used(store, tmp_path, server):
    from core.human_labels.with_verdicts import source_audit
    from core.views.constitution_compare import report_versions
    from core.views.report_html import build_report_html

    labelled_pairs(store, 40)
    spec = api_judge(tmp_path, server)
    ensure_default(store)
    save_version(store, "default", TERSE + "<script>x</script>\n", author="ana", note="short", base_version=1)
    judge_versions(store, spec, ["default@2", "default@1"])
    key = judge_identity(with_version(view.judge_config(spec), "default@2", store)).key
    found = report_versions(store, "dataset:d", key, n_boot=300)
    assert found["used"] == "default@2" and found["edited_from"] == "default@1"
    assert found["table"]["Version"].tolist() == ["default@1", "default@2"]
    assert found["table"]["Agreement"].tolist() == [0.0, 1.0]
    page = build_report_html(source_audit(store, "dataset:d", n_boot=200), source="dataset:d", focus=key,
                             constitution=found)
    assert "<h2>Constitution versions</h2>" in page and "reads constitution default@2" in page
    assert "+- Be terse: prefer the shorter response." in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<script>x</script>" not in page
    assert report_versions(store, "dataset:d", "longest") is None  # a judge that reads no principles


def test_the_calibrated_judge_can_read_each_principle_as_a_feature(store, tmp_path, server, capsys):
    from core.cli.main import main
    from core.judges.calibrated_model import load_model

    labelled_pairs(store, 40)
    spec = api_judge(tmp_path, server)
    ensure_default(store)
    save_version(store, "default", "- Be honest.\n" + TERSE.splitlines()[0] + "\n", author="ana", note="two rules",
                 base_version=1)
    out = tmp_path / "by_principle.json"
    assert main(["calibrate", "--source", "dataset:d", "--principles-of", "default@2", "--principle-judge", spec,
                 "--out", str(out), "--folds", "4", "--store", str(store.path), "--no-record"]) == 0
    model = load_model(out)
    assert len(model.judges) == 2 and all(j.config["principles"] for j in model.judges)
    weights = model.weights()
    terse = [f for f in weights if f.startswith(model.judges[1].name)]
    assert terse and all(weights[f] > 0 for f in terse)  # the principle people agree with, read the right way
    judge = make_judge(str(out), store=store)  # it rebuilds each principle's judge from the file
    try:
        from core.judges import judge_pairs

        verdicts = judge_pairs(judge, [ResponsePair("x", "q", "Short.", "A long answer. " * 3)])
    finally:
        judge.close()
    assert verdicts[0].verdict.value == "A"
    assert "wrote" in capsys.readouterr().out


def test_the_agreement_page_names_the_version_each_judge_reads(store, tmp_path, server):
    from core.views.agreement import judge_definitions_table

    labelled_pairs(store, 8)
    spec = api_judge(tmp_path, server)
    ensure_default(store)
    save_version(store, "default", TERSE, author="ana", note="a", base_version=1)
    judge_versions(store, spec, ["default@2", "default@1"], per_principle=True)
    table = judge_definitions_table(store, store.source_judges("dataset:d")).set_index("Stored as")
    keys = {ref: judge_identity(with_version(view.judge_config(spec), ref, store)).key for ref in ("default@1", "default@2")}
    assert table.loc[keys["default@1"], "Constitution"] == "default@1"
    assert table.loc[keys["default@2"], "Constitution"] == "default@2"
    assert (table["Constitution"] == "").sum() == 2  # each principle of default@2 alone is no version


def test_a_judge_yaml_can_name_a_version(store, tmp_path, server):
    labelled_pairs(store, 6)
    ensure_default(store)
    save_version(store, "default", TERSE, author="ana", note="a", base_version=1)
    path = tmp_path / "terse.yaml"
    path.write_text(f"backend: openai\nbase_url: {server.base_url}\nmodel: m\nconstitution: default@2\n")
    run_id = judge_jobs.start_judge_job(store, "dataset:d", str(path))
    judge_jobs.execute_judge_job(store, run_id, show_bars=False)
    key = judge_identity(with_version(view.judge_config(str(path)), "default@2", store)).key
    verdicts = store.source_judgments("dataset:d", key)
    assert len(verdicts) == 6  # the shorter answer every time: the version's text reached the judge
    pairs = store.source_pairs_frame("dataset:d").set_index("pair_id")
    assert all((v == "A") == (pairs.at[p, "len_a"] < pairs.at[p, "len_b"]) for p, v in zip(verdicts.pair_id, verdicts.verdict))
    path.write_text(f"backend: openai\nbase_url: {server.base_url}\nmodel: m\nconstitution: default@5\n")
    with pytest.raises(ValueError, match="default@5"):
        judge_jobs.start_judge_job(store, "dataset:d", str(path))


def test_two_length_only_versions_against_coin_flip_labels_read_as_noise(store, tmp_path, server):
    """Labels that are a seeded coin, and versions that pick the longer / the shorter answer: whatever
    the points say, the sentences must not claim a difference, and nothing reads 'nan'."""
    import numpy as np

    pairs = labelled_pairs(store, 40)
    coin = np.random.default_rng(11).random(len(pairs)) < 0.5
    for p, heads in zip(pairs, coin):
        store.set_human_label(p.pair_id, "dana", "A" if heads else "B")
    spec = api_judge(tmp_path, server)
    ensure_default(store)
    save_version(store, "default", TERSE, author="ana", note="a", base_version=1)
    judge_versions(store, spec, ["default@2", "default@1"])
    shown = comparison(store, "dataset:d", spec, "default", baseline=1, n_boot=1000)
    held = shown["table"].set_index(["Part", "Version"]).loc[("held-out (the measurement)", "default@2")]
    assert held["Judge picks longer"] == 0.0 and held["Reading"] == "no difference beyond noise"
    assert all("nan" not in s for s in shown["sentences"])
    assert any("held-out pairs" in s and "no difference beyond noise" in s for s in shown["sentences"])
