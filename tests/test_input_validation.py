"""A corpus of malformed inputs: each is refused with an error naming the file, the line (where
the problem has one) and the field (where it is about one), and none leaves a trace in the store.

The files are in tests/fixtures/malformed/; non-UTF-8 bytes and huge fields (over
core.data.textfiles.MAX_FIELD_CHARS) are made here.
"""
from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
from pathlib import Path

import pytest

from core.config import RunConfig, load_config
from core.data import import_file
from core.data.mapped import parse_mapping
from core.data.sample_workspace import ensure_sample_workspace
from core.data.textfiles import MAX_FIELD_CHARS
from core.judges import judge_config_from
from core.judges.local import DEFAULT_PRINCIPLES
from core.runs.pipeline import start_run
from core.store import Store
from tests.conftest import SAMPLE

MALFORMED = Path(__file__).parent / "fixtures" / "malformed"


@dataclasses.dataclass(frozen=True)
class Case:
    file: str
    line: int | None  # None: a problem of the whole file (empty, not a mapping, a missing column)
    field: str | None  # None: a problem of syntax or shape, before any field

    def __str__(self) -> str:
        return self.file


CASES = [
    # prompts files (core.loop.prompts.load_prompts, through start_run)
    Case("prompts_truncated.jsonl", 3, None),
    Case("prompts_missing_prompt.jsonl", 2, "prompt"),
    Case("prompts_empty_prompt.jsonl", 3, "prompt"),
    Case("prompts_wrong_type.jsonl", 2, "prompt"),
    Case("prompts_duplicate_id.jsonl", 3, "id"),
    Case("prompts_not_object.jsonl", 2, None),
    Case("prompts_wrong_column.csv", 2, "prompt"),
    Case("prompts_embedded_newline.csv", 4, "prompt"),
    Case("prompts_unterminated_quote.csv", 2, "prompt"),
    Case("prompts_empty.jsonl", None, None),
    Case("prompts_wrong_extension.txt", None, None),
    Case("prompts_non_utf8.jsonl", 2, None),
    Case("prompts_huge_field.jsonl", 2, "prompt"),
    Case("prompts_huge_field.csv", 3, "prompt"),
    Case("prompts_extra_cells.csv", 3, None),
    # pairs files (core.data.pairs_file, through core.data.import_file)
    Case("pairs_truncated.jsonl", 3, None),
    Case("pairs_missing_label.jsonl", 2, "human_preferred"),
    Case("pairs_label_outside.jsonl", 2, "human_preferred"),
    Case("pairs_empty_response.jsonl", 2, "response_b"),
    Case("pairs_wrong_type.jsonl", 1, "response_a"),
    Case("pairs_duplicate_id.jsonl", 3, "id"),
    Case("pairs_bool_id.jsonl", 2, "id"),
    Case("pairs_length_mismatch.jsonl", 1, "len_a"),
    Case("pairs_judge_p_out_of_range.jsonl", 2, "judge_p_a"),
    Case("pairs_annotator_vote.jsonl", 1, "annotators"),
    Case("pairs_meta_not_object.jsonl", 1, "meta"),
    Case("pairs_only_blank_lines.jsonl", None, None),
    Case("pairs_bad_last_line.jsonl", 6, "human_preferred"),
    Case("pairs_non_utf8.jsonl", 2, None),
    Case("pairs_huge_field.jsonl", 2, "response_a"),
    # TRL and HH-RLHF preference files
    Case("trl_missing_chosen.jsonl", 2, "chosen"),
    Case("trl_message_without_role.jsonl", 1, "chosen"),
    Case("trl_text_without_prompt.jsonl", 1, "prompt"),
    Case("trl_bad_chosen_side.jsonl", 1, "chosen_side"),
    Case("hh_no_assistant_turn.jsonl", 1, "chosen"),
    Case("hh_dialogue_differs.jsonl", 1, "rejected"),
    # any table with a column mapping (CSV/TSV/JSON/JSONL)
    Case("mapped_embedded_newlines.csv", 6, "label"),
    Case("mapped_unterminated_quote.csv", 2, None),
    Case("mapped_ragged_row.csv", 3, None),
    Case("mapped_no_prompt_column.csv", None, "prompt"),
    Case("mapped_duplicate_header.tsv", 1, "prompt"),
    Case("mapped_array_missing_field.json", 2, "response_b"),
    Case("mapped_votes_not_list.jsonl", 1, "votes"),
    Case("mapped_not_gzip.jsonl.gz", None, None),
    Case("mapped_unterminated_last_cell.csv", 3, "label"),
    Case("mapped_non_utf8.csv", 3, None),
    Case("mapped_huge_field.csv", 2, "response_a"),
    # run configs (core.config.load_config, then start_run)
    Case("config_unknown_key.yaml", 4, "ppo.kl_coeff"),
    Case("config_wrong_type.yaml", 3, "prompts.n"),
    Case("config_bool_for_int.yaml", 2, "rounds"),
    Case("config_bad_yaml.yaml", 2, None),
    Case("config_not_a_mapping.yaml", None, None),
    Case("config_section_not_mapping.yaml", 2, "ppo"),
    Case("config_out_of_range.yaml", 4, "ppo.mini_batches"),
    Case("config_api_key_inline.yaml", 5, "judge.api_key"),
    Case("config_non_utf8.yaml", 2, None),
    Case("config_control_character.yaml", 2, None),
    # judge definitions (core.judges.judge_config_from)
    Case("judge_unknown_key.yaml", 3, "temprature"),
    Case("judge_wrong_type.yaml", 2, "batch_size"),
    Case("judge_bad_backend.yaml", 1, "backend"),
    Case("judge_openai_without_url.yaml", None, "base_url"),
    Case("judge_list.yaml", None, None),
    Case("judge_tab_indent.yaml", 3, None),
    # principles files (core.judges.local.read_principles, through start_run)
    Case("principles_empty.txt", None, None),
    Case("principles_only_comments.txt", None, None),
    Case("principles_non_utf8.txt", 2, None),
    # column mapping files (core.data.mapped.parse_mapping)
    Case("mapping_bad_yaml.yaml", 3, None),
    Case("mapping_non_utf8.yaml", 2, None),
]

GOOD_PAIR = {"id": "1", "prompt": "Question?", "response_a": "Yes.", "response_b": "No.", "human_preferred": "a"}
HUGE = "x" * (MAX_FIELD_CHARS + 1)


def generated(name: str) -> bytes | None:
    """The bytes of the cases that are not kept as files: invalid UTF-8 and huge fields."""
    pair = json.dumps(GOOD_PAIR).encode()
    return {
        "prompts_non_utf8.jsonl": b'{"id": "p1", "prompt": "fine"}\n{"id": "p2", "prompt": "caf\xe9 \xff"}\n',
        "prompts_huge_field.jsonl": b'{"id": "p1", "prompt": "fine"}\n'
                                    + json.dumps({"id": "p2", "prompt": HUGE}).encode() + b"\n",
        "prompts_huge_field.csv": f"id,prompt\np1,fine\np2,{HUGE}\n".encode(),
        "pairs_non_utf8.jsonl": pair + b"\n" + pair.replace(b'"1"', b'"2"').replace(b"Yes.", b"Oui \xe9\xff") + b"\n",
        "pairs_huge_field.jsonl": pair + b"\n" + json.dumps({**GOOD_PAIR, "id": "2", "response_a": HUGE}).encode(),
        "mapped_non_utf8.csv": b"id,prompt,response_a,response_b,label\n1,Q,A,B,a\n2,Q\xff,A,B,b\n",
        "mapped_huge_field.csv": f"id,prompt,response_a,response_b,label\n1,Q,{HUGE},B,a\n".encode(),
        "config_non_utf8.yaml": b"name: bad\nrounds: 1 # caf\xe9\xff\n",
        "config_control_character.yaml": b"name: bad\nrounds: 1\x07\n",
        "principles_non_utf8.txt": b"- Be helpful.\n- Be caf\xe9\xff honest.\n",
        "mapping_non_utf8.yaml": b"prompt: question\nresponse_a: r\xe9ponse\n",
    }.get(name)


def case_path(case: Case, tmp_path: Path) -> Path:
    data = generated(case.file)
    if data is None:
        return MALFORMED / case.file
    path = tmp_path / case.file
    path.write_bytes(data)
    return path


def load(case: Case, path: Path, store: Store) -> None:
    """Feed the file to the loader a user would reach it through."""
    kind = case.file.split("_")[0]
    if kind in ("pairs", "trl", "hh", "mapped"):
        fmt = {"hh": "hh-rlhf"}.get(kind, kind)
        import_file(store, fmt, path, dataset="sample" if kind == "pairs" else None)
    elif kind == "prompts":
        start_run(store, _config(prompts=str(path)))
    elif kind == "principles":
        start_run(store, _config(principles=str(path)))
    elif kind == "config":
        start_run(store, load_config(path))
    elif kind == "judge":
        judge_config_from(str(path))
    elif kind == "mapping":
        parse_mapping(str(path))
    else:
        raise AssertionError(f"no loader for {case.file}")


def _config(*, prompts: str = str(SAMPLE / "prompts.jsonl"), principles: str = str(DEFAULT_PRINCIPLES)):
    cfg = RunConfig()
    return dataclasses.replace(cfg, prompts=dataclasses.replace(cfg.prompts, path=prompts),
                               judge=dataclasses.replace(cfg.judge, principles=principles))


@pytest.fixture(scope="module")
def template_store(tmp_path_factory) -> Store:
    store = Store(tmp_path_factory.mktemp("validation") / "store.sqlite")
    ensure_sample_workspace(store)
    store.set_human_label("sample/1", "dana", "b")
    return store


@pytest.fixture
def filled_store(template_store, tmp_path) -> Store:
    """A copy of a store that already holds the sample dataset (the pairs cases import into it too)."""
    path = tmp_path / "store.sqlite"
    src, dst = sqlite3.connect(template_store.path), sqlite3.connect(path)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return Store(path)


def dump(store: Store) -> list[str]:
    con = sqlite3.connect(store.path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def test_the_corpus_is_large_and_every_fixture_is_used():
    assert len(CASES) >= 30 and len({c.file for c in CASES}) == len(CASES)
    kept = {p.name for p in MALFORMED.iterdir() if p.name != "README.md"}
    assert kept == {c.file for c in CASES if generated(c.file) is None}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_malformed_input_is_refused_naming_file_line_and_field(case, filled_store, tmp_path):
    path = case_path(case, tmp_path)
    before = dump(filled_store)
    try:
        load(case, path, filled_store)
    except ValueError as exc:
        message = str(exc)
    else:
        message = None
    assert message is not None, f"{case.file} was accepted"
    assert dump(filled_store) == before, "a refused input changed the store"
    assert path.name in message, message
    rest = message.replace(str(path), "").replace(path.name, "")
    problems = []
    if case.line is not None and not re.search(rf"(\bline {case.line}\b|^:{case.line}:|\brow {case.line}\b)", rest):
        problems.append(f"no line {case.line}")
    if case.field is not None and not re.search(rf"(?<!\w){re.escape(case.field)}(?![\w.])", rest):
        problems.append(f"no field {case.field!r}")
    assert not problems, f"{problems}: {message}"


def test_a_file_refused_at_its_last_line_leaves_none_of_its_earlier_lines(filled_store):
    before = set(filled_store.pair_sources().source)
    with pytest.raises(ValueError, match="line 6"):
        import_file(filled_store, "pairs", MALFORMED / "pairs_bad_last_line.jsonl", dataset="half")
    assert set(filled_store.pair_sources().source) == before
    assert filled_store.pairs_frame(dataset="half").empty
