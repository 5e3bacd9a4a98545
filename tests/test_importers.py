"""Importers on hand-written files in the real formats, on the shipped human-labelled sets (sample_data/human), and on broken files."""
from __future__ import annotations

import gzip
import json

import pytest

from core.audit.consensus import human_consensus
from core.cli import main
from core.data import dataset_name, import_file, read_file
from core.data.frame import chosen_side
from core.data.mapped import ColumnMapping, parse_mapping
from core.data.pairs_file import PairsFormatError
from tests.conftest import HUMAN_DATA, ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "formats"
LABEL_STUDIO_MAPPING = str(FIXTURES / "label_studio.mapping.json")
ARGILLA_MAPPING = ("response_a=response1,response_b=response2,votes=preference.responses,"
                   "voters=preference.responses.users,vote_status=preference.responses.status,a=response1,b=response2")
SHEET_MAPPING = "id=item,prompt=question,chosen=better_answer,rejected=worse_answer,annotator=rater,category=topic"


def jsonl_lines(name):
    return [json.loads(line) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines()]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def stored_pairs(store, dataset):
    frame = store.pairs_frame(dataset=dataset)
    return {pid.split("/", 1)[1]: (p, a, b) for pid, p, a, b in
            zip(frame.pair_id, frame.prompt, frame.response_a, frame.response_b)}


def stored_labels(store, dataset):
    labels = store.source_human_labels(f"dataset:{dataset}")
    return {(pid.split("/", 1)[1], who): label
            for pid, who, label in zip(labels.pair_id, labels.annotator, labels.label)}


def test_hh_rlhf_splits_at_the_last_assistant_turn_and_places_chosen_by_seed(store):
    done = import_file(store, "hh-rlhf", FIXTURES / "hh_rlhf.jsonl", seed=7)
    assert (done.dataset, done.n_pairs, done.n_labels, done.n_placed) == ("hh_rlhf", 4, 4, 4)
    pairs, labels = stored_pairs(store, "hh_rlhf"), stored_labels(store, "hh_rlhf")
    assert pairs["0"][0] == "How long should I boil an egg for a runny yolk?"
    assert pairs["1"][0].startswith("Human: Can you help me write a birthday note") and pairs["1"][0].endswith(
        "Human: She's turning 30 and loves hiking.")
    placements = store.source_placements("dataset:hh_rlhf")
    assert placements["seed"].tolist() == [7] * 4
    for row, (pid, side) in zip(jsonl_lines("hh_rlhf.jsonl"), zip(placements.pair_id, placements.chosen_side)):
        local = pid.split("/", 1)[1]
        assert side == chosen_side(7, local) == labels[(local, "imported")]
        chosen, rejected = (pairs[local][1], pairs[local][2]) if side == "A" else (pairs[local][2], pairs[local][1])
        assert row["chosen"].endswith(chosen) and row["rejected"].endswith(rejected)
    assert "" in pairs["3"][1:]  # an empty last Assistant turn is a (losing) answer, as in real HH-RLHF


def test_trl_explicit_implicit_and_conversational_forms(store):
    standard = read_file("trl", FIXTURES / "trl_standard.jsonl")
    assert standard.prompt.tolist() == ["The sky is", "Translate 'merci' to English:", "2 + 2 ="]
    conversational = read_file("trl", FIXTURES / "trl_conversational.jsonl")
    implicit = read_file("trl", FIXTURES / "trl_implicit.jsonl")
    assert conversational.prompt[1] == "System: You answer in one word.\n\nUser: Opposite of hot?"
    assert implicit.prompt[1] == "User: Recommend a book.\n\nAssistant: Fiction or not?\n\nUser: Fiction."
    sky = ["prompt", "response_a", "response_b", "human", "chosen_side"]
    assert conversational.loc[0, sky].tolist() == implicit.loc[0, sky].tolist()
    winners = [r.response_a if r.human == "A" else r.response_b for r in implicit.itertuples()]
    assert winners == ["It is blue.", "Try 'The Left Hand of Darkness'."]


def test_trl_reads_jsonl_parquet_and_a_saved_dataset_alike(tmp_path):
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = jsonl_lines("trl_conversational.jsonl")
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "prefs.parquet")
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "prefs_ds"))
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows)}).save_to_disk(str(tmp_path / "prefs_dict"))
    frames = [read_file("trl", p) for p in (FIXTURES / "trl_conversational.jsonl", tmp_path / "prefs.parquet",
                                            tmp_path / "prefs_ds", tmp_path / "prefs_dict")]
    columns = ["pair_id", "prompt", "response_a", "response_b", "human", "chosen_side"]
    assert all(f[columns].equals(frames[0][columns]) for f in frames[1:])


def test_placement_is_a_seeded_coin_per_pair_recorded_in_the_store(tmp_path, store):
    rows = [{"id": f"q{i}", "prompt": f"question {i}", "chosen": f"good {i}", "rejected": f"bad {i}"}
            for i in range(60)]
    path = write_jsonl(tmp_path / "prefs.jsonl", rows)
    shuffled = write_jsonl(tmp_path / "shuffled.jsonl", rows[::-1])
    first, again, reordered = (read_file("trl", p, seed=3) for p in (path, path, shuffled))
    sides = dict(zip(first.pair_id, first.chosen_side))
    assert sides == dict(zip(again.pair_id, again.chosen_side)) == dict(zip(reordered.pair_id, reordered.chosen_side))
    assert 15 <= list(sides.values()).count("A") <= 45  # both sides are used
    assert sides != dict(zip(*(read_file("trl", path, seed=4)[c] for c in ("pair_id", "chosen_side"))))
    import_file(store, "trl", path, seed=3)
    placed = store.source_placements("dataset:prefs")
    assert {p.split("/")[1]: s for p, s in zip(placed.pair_id, placed.chosen_side)} == sides
    labels, pairs = stored_labels(store, "prefs"), stored_pairs(store, "prefs")
    for pid, side in sides.items():
        assert labels[(pid, "imported")] == side
        assert pairs[pid][1 if side == "A" else 2].startswith("good")


def test_label_studio_rows_per_annotator_become_one_pair_with_named_labels(store):
    done = import_file(store, "mapped", FIXTURES / "label_studio.csv", mapping=LABEL_STUDIO_MAPPING)
    assert (done.n_pairs, done.n_labels, done.n_placed) == (3, 6, 0)
    assert stored_labels(store, "label_studio") == {
        ("1", "ana@example.com"): "A", ("1", "ben@example.com"): "A", ("2", "ana@example.com"): "A",
        ("2", "ben@example.com"): "TIE", ("2", "cho@example.com"): "B", ("3", "ana@example.com"): "A"}
    assert stored_pairs(store, "label_studio")["2"][1] == (
        "Dear Sam,\nthank you for the lovely scarf. It is already my favourite.\nBest, Jo")


def test_argilla_list_columns_keep_submitted_votes_with_their_users(store):
    import_file(store, "mapped", FIXTURES / "argilla_records.jsonl", mapping=ARGILLA_MAPPING)
    labels = stored_labels(store, "argilla_records")
    user = "0a8e3c1e-{}-4d2a-8a55-00000000000{}".format
    assert labels == {("rec-1", user("1111", 1)): "A", ("rec-1", user("2222", 2)): "A",  # the discarded vote is out
                      ("rec-2", user("1111", 1)): "B", ("rec-2", user("2222", 2)): "TIE"}
    assert set(stored_pairs(store, "argilla_records")) == {"rec-1", "rec-2", "rec-3"}  # unlabelled, still judgeable


def test_a_ratings_sheet_of_chosen_rejected_rows_by_several_raters(store):
    import_file(store, "mapped", FIXTURES / "ratings_sheet.csv", mapping=SHEET_MAPPING, seed=0)
    labels, pairs = stored_labels(store, "ratings_sheet"), stored_pairs(store, "ratings_sheet")
    assert labels[("q1", "kim")] == labels[("q1", "lee")] == chosen_side(0, "q1")
    assert {labels[("q2", "kim")], labels[("q2", "lee")]} == {"A", "B"}  # lee preferred the other answer
    rice = pairs["q2"][1] if labels[("q2", "kim")] == "A" else pairs["q2"][2]
    assert rice.startswith("Rinse it")
    assert store.pairs_frame(dataset="ratings_sheet").category.tolist() == ["travel", "cooking", "maths"]


def test_the_pairs_importer_keeps_votes_and_file_verdicts(store):
    import_file(store, "pairs", FIXTURES / "pairs.jsonl")
    labels = stored_labels(store, "pairs")
    assert [labels[("p1", f"imported-{i}")] for i in (1, 2, 3)] == ["B", "B", "A"]
    assert labels[("p3", "imported")] == "TIE"
    verdicts = store.source_judgments("dataset:pairs").set_index("pair_id")["verdict"].to_dict()
    assert verdicts == {"pairs/p1": "B", "pairs/p2": "A", "pairs/p3": "INVALID"}


@pytest.mark.parametrize("name, n_pairs, votes_per_pair", [("pandalm_testset_v1.jsonl", 945, 3),
                                                           ("llmbar_natural.jsonl", 100, 1)])
def test_shared_data_imports_with_the_pairs_importer(store, name, n_pairs, votes_per_pair):
    done = import_file(store, "pairs", HUMAN_DATA / name)
    assert (done.n_pairs, done.n_labels) == (n_pairs, n_pairs * votes_per_pair)
    consensus = human_consensus(store.source_human_labels(done.source)).set_index("pair_id")["human"]
    expected = {f"{done.dataset}/{r['id']}": r["human_preferred"].upper()
                for r in map(json.loads, (HUMAN_DATA / name).read_text(encoding="utf-8").splitlines())}
    assert consensus.to_dict() == expected


def test_mapping_forms_agree_and_bad_mappings_are_refused(tmp_path):
    spec = {"id": "item", "prompt": "question", "label": "winner", "a": ["1", "left"], "b": "2"}
    (tmp_path / "m.json").write_text(json.dumps(spec))
    (tmp_path / "m.yaml").write_text("id: item\nprompt: question\nlabel: winner\na: ['1', left]\nb: '2'\n")
    forms = [spec, json.dumps(spec), str(tmp_path / "m.json"), str(tmp_path / "m.yaml"),
             "id=item,prompt=question,label=winner,a=1|left,b=2"]
    assert len({parse_mapping(f) for f in forms}) == 1
    assert parse_mapping(spec).a == ("1", "left") and parse_mapping(None) == ColumnMapping()
    with pytest.raises(ValueError, match="unknown key"):
        parse_mapping("prompt=q,winner=w")
    with pytest.raises(ValueError, match="cannot be used with"):
        parse_mapping("chosen=c,rejected=r,label=l")
    with pytest.raises(ValueError, match="means two things"):
        parse_mapping({"a": "x", "b": "x"})
    with pytest.raises(ValueError, match="only|for --format mapped"):
        read_file("trl", FIXTURES / "trl_standard.jsonl", mapping="prompt=q")


def write_text(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def hh_row(prompt, chosen, rejected):
    return {key: f"\n\nHuman: {prompt}\n\nAssistant: {answer}" for key, answer in (("chosen", chosen),
                                                                                     ("rejected", rejected))}


def parquet_with_bad_row(folder):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"prompt": "p", "chosen": "c", "rejected": "r"}, {"prompt": "p2", "chosen": "c", "rejected": None}]
    pq.write_table(pa.Table.from_pylist(rows), folder / "bad.parquet")
    return folder / "bad.parquet"


def edited_fixture(folder, name, old, new):
    text = (FIXTURES / name).read_text(encoding="utf-8")
    assert old in text
    return write_text(folder / f"edited-{name}", text.replace(old, new))


CONVERSATION = jsonl_lines("trl_conversational.jsonl")[0]
BAD_FILES = {  # case: (format, make the file in a folder, mapping, what the error must say)
    "hh no assistant turn": (
        "hh-rlhf", lambda d: write_jsonl(d / "hh.jsonl", [hh_row("hi", "hello", "go away"), hh_row("a", "b", "c"),
                                                          {"chosen": "\n\nHuman: hi", "rejected": "x"}]),
        None, r"hh\.jsonl, line 3, field 'chosen': has no"),
    "hh different dialogues": (
        "hh-rlhf", lambda d: write_jsonl(d / "hh.jsonl", [hh_row("hi", "hello", "go away"),
                                                          {"chosen": hh_row("hi", "hello", "")["chosen"],
                                                           "rejected": hh_row("yo", "", "bye")["rejected"]}]),
        None, r"line 2, field 'rejected': the dialogue"),
    "trl message without content": (
        "trl", lambda d: write_jsonl(d / "t.jsonl", [CONVERSATION,
                                                     {**CONVERSATION, "chosen": [{"role": "assistant"}]}]),
        None, r"line 2, field 'chosen': message 0"),
    "trl not json": (
        "trl", lambda d: write_text(d / "t.jsonl", '{"prompt": "p", "chosen": "c", "rejected": "r"}\n{oops\n'),
        None, r"line 2: not JSON"),
    "trl text without prompt": (
        "trl", lambda d: write_jsonl(d / "t.jsonl", [{"chosen": "a", "rejected": "b"}]),
        None, r"line 1, field 'prompt': .*--format hh-rlhf"),
    "trl parquet row": ("trl", parquet_with_bad_row, None, r"bad\.parquet, row 1, field 'rejected': missing"),
    "label studio unknown label": (  # its quoted cells span lines: the bad record starts on line 13
        "mapped", lambda d: edited_fixture(d, "label_studio.csv", "90 C at sea level.,Answer 1",
                                           "90 C at sea level.,Answer 3"),
        LABEL_STUDIO_MAPPING, r"label_studio\.csv, line 13, field 'comparison': must be one of"),
    "sheet same id other prompt": (
        "mapped", lambda d: edited_fixture(d, "ratings_sheet.csv", "q3,maths,Is 91", "q2,maths,Is 91"),
        SHEET_MAPPING, r"ratings_sheet\.csv, line 6, field 'question': differs from line 4"),
    "mapped duplicate id without annotators": (
        "mapped", lambda d: write_text(d / "s.csv", "id,prompt,response_a,response_b,label\n1,p,a,b,a\n1,p,a,b,b\n"),
        None, r"line 3, field 'id': duplicate id '1' \(first on line 2\); map an annotator"),
    "mapped missing column": (
        "mapped", lambda d: write_text(d / "s.csv", "id,prompt,response_a,response_b\n1,p,a,b\n"),
        None, r"no column for the human labels"),
    "pairs bad label": (
        "pairs", lambda d: edited_fixture(d, "pairs.jsonl", '"human_preferred": "a"', '"human_preferred": "both"'),
        None, r"line 2, field 'human_preferred'"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_names_line_and_field_and_stores_nothing(store, tmp_path, case):
    import_file(store, "pairs", FIXTURES / "pairs.jsonl", dataset="kept")
    before = (store.pair_sources().to_dict(), len(store.human_labels_frame()), store.data_version())
    fmt, make, mapping, message = BAD_FILES[case]
    with pytest.raises(PairsFormatError, match=message):
        import_file(store, fmt, make(tmp_path), mapping=mapping, dataset="bad")
    assert (store.pair_sources().to_dict(), len(store.human_labels_frame()), store.data_version()) == before


def test_gzipped_hh_rlhf_and_dataset_names_from_file_names(tmp_path, store):
    path = tmp_path / "hh_train.jsonl.gz"
    path.write_bytes(gzip.compress((FIXTURES / "hh_rlhf.jsonl").read_bytes()))
    assert import_file(store, "hh-rlhf", path).dataset == dataset_name(path) == "hh_train"
    assert dataset_name("a:b.csv") == "a_b" and dataset_name("prefs_ds") == "prefs_ds"


def test_cli_import_reports_counts_and_refuses_a_bad_file(tmp_path, capsys):
    store_path = tmp_path / "s.sqlite"
    assert main(["import", "--format", "mapped", str(FIXTURES / "label_studio.csv"), "--mapping",
                 LABEL_STUDIO_MAPPING, "--dataset", "ls", "--store", str(store_path)]) == 0
    assert "imported 3 pairs (3 with human labels, 6 labels) into dataset:ls" in capsys.readouterr().out
    bad = write_jsonl(tmp_path / "bad.jsonl", [hh_row("q", "a", "b"), {"chosen": 3, "rejected": "x"}])
    assert main(["import", "--format", "hh-rlhf", str(bad), "--store", str(store_path)]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl, line 2, field 'chosen': must be a string" in err and "nothing was imported" in err
    from core.store import Store

    assert Store(store_path).pair_sources()["source"].tolist() == ["dataset:ls"]
