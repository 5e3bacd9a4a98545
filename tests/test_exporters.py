"""Exports: chosen follows the judge or the humans, undecided pairs are counted, files load back,
export-then-import gives the same pairs and labels, and TRL's RewardTrainer trains from the file."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from core.cli import main
from core.data import import_file
from core.data.exporters import EXPORT_FORMATS, export_source, labels_table, trl_records
from core.loop.judging import judge_source
from core.views import data_page as exports
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "formats"
TRL_FORMATS = [f for f in EXPORT_FORMATS if f != "labels-csv"]
OUT_NAMES = {"trl-jsonl": "prefs.jsonl", "trl-parquet": "prefs.parquet", "hf-dataset": "prefs_ds"}


@pytest.fixture
def judged(store):
    """pairs.jsonl: humans B / A / TIE, the file's verdicts B / A / INVALID, and the 'longest' yardstick."""
    import_file(store, "pairs", FIXTURES / "pairs.jsonl", dataset="d")
    judge_source(store, "dataset:d", ["longest"])
    return store


def load_records(path, fmt):
    if fmt == "trl-jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if fmt == "trl-parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    import datasets

    return datasets.load_from_disk(str(path)).to_list()


def winners(records):
    return {r["pair_id"]: (r["chosen"][0]["content"], r["chosen_side"]) for r in records}


def pairs_and_labels(store, dataset):
    pairs = store.pairs_frame(dataset=dataset)
    labels = store.source_human_labels(f"dataset:{dataset}")
    local = lambda pid: pid.split("/", 1)[1]  # noqa: E731
    return ({local(r.pair_id): (r.prompt, r.response_a, r.response_b, r.category) for r in pairs.itertuples()},
            {(local(r.pair_id), r.annotator, r.label) for r in labels.itertuples()})


def test_chosen_follows_the_judge_or_the_humans_and_undecided_pairs_are_counted(judged):
    by_file, left_out = trl_records(judged, "dataset:d", judge="file-verdicts")
    assert left_out == 1 and winners(by_file) == {"p1": ("15% of 80 is 12, since 0.15 x 80 = 12.", "B"),
                                                  "p2": ("No: water when the soil is fully dry, about every one to "
                                                         "two weeks.", "A")}
    by_length, left_out = trl_records(judged, "dataset:d", judge="longest")
    assert left_out == 0 and winners(by_length)["p3"] == ("George Eliot (Mary Ann Evans).", "B")
    assert by_length[0]["judge"] == "longest" and by_length[0]["label_source"] == "judge"
    by_humans, left_out = trl_records(judged, "dataset:d", labels="human")
    assert left_out == 1 and winners(by_humans) == winners(by_file)  # p3 is a human tie
    assert by_humans[0]["prompt"] == [{"role": "user", "content": "What is 15% of 80?"}]


def test_the_judge_is_the_only_one_or_must_be_named(judged, store):
    with pytest.raises(ValueError, match="several judges; pick one with --judge: file-verdicts, longest"):
        trl_records(judged, "dataset:d")
    with pytest.raises(ValueError, match="'nobody' has not judged"):
        trl_records(judged, "dataset:d", judge="nobody")
    with pytest.raises(ValueError, match="no pairs in 'run:x'; sources in the store: dataset:d"):
        trl_records(judged, "run:x", labels="human")
    import_file(store, "hh-rlhf", FIXTURES / "hh_rlhf.jsonl", dataset="hh")
    with pytest.raises(ValueError, match="no judge has judged dataset:hh"):
        trl_records(store, "dataset:hh")


@pytest.mark.parametrize("fmt", TRL_FORMATS)
def test_each_trl_format_loads_back_as_the_same_records(judged, tmp_path, fmt):
    done = export_source(judged, "dataset:d", fmt, tmp_path / OUT_NAMES[fmt], judge="longest")
    assert (done.n_written, done.n_left_out, done.judge) == (3, 0, "longest")
    records, _ = trl_records(judged, "dataset:d", judge="longest")
    keys = ["prompt", "chosen", "rejected", "pair_id", "chosen_side", "verdict", "p_a"]
    assert [{k: r[k] for k in keys} for r in load_records(done.path, fmt)] == [{k: r[k] for k in keys}
                                                                                 for r in records]
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize("fmt", TRL_FORMATS)
def test_trl_export_then_import_gives_the_same_pairs_and_labels(store, tmp_path, fmt):
    import_file(store, "hh-rlhf", FIXTURES / "hh_rlhf.jsonl", dataset="hh", seed=5)
    done = export_source(store, "dataset:hh", fmt, tmp_path / OUT_NAMES[fmt], labels="human")
    assert (done.n_written, done.n_left_out) == (4, 0)
    import_file(store, "trl", done.path, dataset="back", seed=99)  # chosen_side in the file wins over the seed
    assert pairs_and_labels(store, "back") == pairs_and_labels(store, "hh")
    assert store.source_placements("dataset:back")["seed"].isna().all()


def test_hh_rlhf_through_export_gives_back_the_original_chosen_and_rejected(store, tmp_path):
    import_file(store, "hh-rlhf", FIXTURES / "hh_rlhf.jsonl", dataset="hh", seed=1)
    done = export_source(store, "dataset:hh", "trl-jsonl", tmp_path / "p.jsonl", labels="human")
    original = [json.loads(line) for line in (FIXTURES / "hh_rlhf.jsonl").read_text().splitlines()]
    for record, row in zip(load_records(done.path, "trl-jsonl"), original):
        for key in ("chosen", "rejected"):
            assert row[key].endswith(("\n\nAssistant: " + record[key][0]["content"]).rstrip())
            assert record["prompt"][0]["content"] in row[key]


@pytest.mark.parametrize("fixture, mapping", [
    ("label_studio.csv", str(FIXTURES / "label_studio.mapping.json")),
    ("argilla_records.jsonl", "response_a=response1,response_b=response2,votes=preference.responses,"
                              "voters=preference.responses.users,vote_status=preference.responses.status,"
                              "a=response1,b=response2"),
    ("ratings_sheet.csv", "id=item,prompt=question,chosen=better_answer,rejected=worse_answer,annotator=rater,"
                          "category=topic"),
])
def test_labels_csv_then_mapped_import_keeps_every_annotator_tie_and_unlabelled_pair(store, tmp_path, fixture,
                                                                                     mapping):
    import_file(store, "mapped", FIXTURES / fixture, mapping=mapping, dataset="orig")
    judge_source(store, "dataset:orig", ["longest"])
    done = export_source(store, "dataset:orig", "labels-csv", tmp_path / "labels.csv")
    table = pd.read_csv(done.path)
    assert list(table.columns[:3]) == ["pair_id", "annotator", "label"] and "judge:longest" in table.columns
    import_file(store, "mapped", done.path, dataset="back")  # the CSV's own column names need no mapping
    assert pairs_and_labels(store, "back") == pairs_and_labels(store, "orig")


def test_the_labels_csv_shows_where_a_chosen_rejected_source_put_chosen(store, tmp_path):
    import_file(store, "hh-rlhf", FIXTURES / "hh_rlhf.jsonl", dataset="hh", seed=2)
    table = labels_table(store, "dataset:hh")
    assert table["source_chosen"].tolist() == table["label"].tolist() and table["placement_seed"].tolist() == [2] * 4


def test_the_dashboard_exports_are_the_exporters(judged):
    records, left_out = exports.preference_records(judged, "dataset:d", "longest")
    assert (records, left_out) == trl_records(judged, "dataset:d", judge="longest")
    assert exports.human_labels_csv(judged, "dataset:d") == labels_table(judged, "dataset:d").to_csv(
        index=False).encode("utf-8")


def test_cli_export(judged, tmp_path, capsys):
    args = ["export", "--source", "dataset:d", "--store", str(judged.path)]
    assert main([*args, "--format", "trl-parquet", "--out", str(tmp_path / "p.parquet"), "--labels", "human"]) == 0
    assert "wrote 2 preference pairs" in capsys.readouterr().out
    assert main([*args, "--format", "trl-jsonl", "--out", str(tmp_path / "p.jsonl")]) == 2
    assert "pick one with --judge" in capsys.readouterr().err and not (tmp_path / "p.jsonl").exists()
    assert main([*args, "--format", "labels-csv", "--out", str(tmp_path / "l.csv"), "--judge", "longest"]) == 0
    header = (tmp_path / "l.csv").read_text().splitlines()[0]
    assert header.endswith("judge:longest,judge:longest:p_a") and "file-verdicts" not in header


def test_trl_reward_trainer_trains_from_an_exported_file(tiny_model_path, tmp_path, store):
    """The exported JSONL, loaded by datasets as any user would, trains TRL's RewardTrainer as it is."""
    import datasets
    import torch
    from trl import RewardConfig, RewardTrainer

    from core.models import load_scalar_model, load_tokenizer

    good, bad = ["clear honest answer", "the capital is Paris", "add the two numbers"], ["zzz qqq", "no no no"]
    rows = [{"id": i, "prompt": f"Question {i}: please help.", "chosen": good[i % 3], "rejected": bad[i % 2]}
            for i in range(16)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    import_file(store, "trl", tmp_path / "in.jsonl", dataset="prefs")
    path = export_source(store, "dataset:prefs", "trl-jsonl", tmp_path / "prefs.jsonl", labels="human").path
    dataset = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))
    assert len(dataset) == 16 and {"prompt", "chosen", "rejected"} <= set(dataset.column_names)

    tokenizer = load_tokenizer(tiny_model_path)
    tokenizer.padding_side = "right"
    model = load_scalar_model(tiny_model_path, tokenizer.pad_token_id)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    args = RewardConfig(output_dir=str(tmp_path / "rm"), num_train_epochs=2, per_device_train_batch_size=4,
                        learning_rate=1e-3, logging_steps=1, save_strategy="no", report_to="none",
                        disable_tqdm=True, bf16=False, max_length=64)
    trainer = RewardTrainer(model=model, args=args, processing_class=tokenizer, train_dataset=dataset)
    trainer.train()
    losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
    assert len(losses) == 8 and all(loss == loss for loss in losses)  # 16 pairs / 4 per step x 2 epochs
    unchanged = [k for k, v in trainer.model.named_parameters() if torch.equal(before[k], v.detach())]
    assert unchanged == []
