import json
from pathlib import Path

import pandas as pd
import pytest

from core.data.pairs_file import PairsFormatError, read_pairs_jsonl
from core.schema import to_response_pairs

DATA = Path(__file__).resolve().parents[1] / "sample_data" / "human"


def _record(**changes):
    record = {"id": "x1", "prompt": "Say hi.", "response_a": "hi", "response_b": "hello there",
              "human_preferred": "b"}
    record.update(changes)
    return {k: v for k, v in record.items() if v is not ...}


def _write(tmp_path, records, name="pairs.jsonl") -> Path:
    path = tmp_path / name
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_reads_a_minimal_file_into_the_pairs_frame(tmp_path):
    path = _write(tmp_path, [_record(), "", _record(id=7, human_preferred="TIE", category="chat",
                                                    model_a="llama-7b", model_b="opt-7b")])
    frame = read_pairs_jsonl(path)
    assert list(frame["pair_id"]) == ["x1", "7"]
    assert list(frame["human"]) == ["B", "TIE"]
    assert list(frame["len_a"]) == [2, 2] and list(frame["len_b"]) == [11, 11]
    assert frame.loc[1, "category"] == "chat" and frame.loc[1, "model_a"] == "llama-7b"
    assert "verdict" not in frame.columns and frame.loc[0, "annotators"] is None
    pairs = to_response_pairs(frame)
    assert pairs[1].pair_id == "7" and pairs[1].model_b == "opt-7b" and pairs[0].response_b == "hello there"


def test_judge_fields_become_verdict_and_p_a(tmp_path):
    path = _write(tmp_path, [_record(judge_preferred="a", judge_p_a=0.8),
                             _record(id="x2", judge_preferred="invalid", judge_p_a=None),
                             _record(id="x3")])
    frame = read_pairs_jsonl(path)
    assert list(frame["verdict"][:2]) == ["A", "INVALID"] and pd.isna(frame["verdict"][2])
    assert frame["p_a"][0] == 0.8 and frame["p_a"][1:].isna().all()


def test_pandalm_votes_map_to_annotator_labels(tmp_path):
    path = _write(tmp_path, [_record(meta={"annotators": [0, 1, 2], "motivation_app": "Gmail"}),
                             _record(id="x2", annotators=["a", "TIE"])])
    frame = read_pairs_jsonl(path)
    assert frame.loc[0, "annotators"] == ["TIE", "A", "B"] and frame.loc[0, "category"] == "Gmail"
    assert frame.loc[1, "annotators"] == ["A", "TIE"]


def test_reads_the_shared_files():
    pandalm = read_pairs_jsonl(DATA / "pandalm_testset_v1.jsonl")
    assert len(pandalm) == 945 and (pandalm["human"] == "TIE").sum() == 103
    assert pandalm["annotators"].map(len).eq(3).all()
    assert len(read_pairs_jsonl(DATA / "llmbar_natural.jsonl")) == 100


@pytest.mark.parametrize("line, field, problem", [
    ("{not json", None, "not JSON"),
    (json.dumps(["a", "list"]), None, "JSON object"),
    (json.dumps(_record(prompt=...)), "prompt", "missing"),
    (json.dumps(_record(response_b="  ")), "response_b", "empty"),
    (json.dumps(_record(id="")), "id", "empty"),
    (json.dumps(_record(human_preferred=...)), "human_preferred", "missing"),
    (json.dumps(_record(human_preferred="c")), "human_preferred", "must be one of"),
    (json.dumps(_record(human_preferred="invalid")), "human_preferred", "must be one of"),
    (json.dumps(_record(prompt=3)), "prompt", "must be a string"),
    (json.dumps(_record(id=[1])), "id", "string or an integer"),
    (json.dumps(_record(id=True)), "id", "string or an integer"),
    (json.dumps(_record(len_a=99)), "len_a", "character length"),
    (json.dumps(_record(judge_preferred="x")), "judge_preferred", "must be one of"),
    (json.dumps(_record(judge_p_a=1.5)), "judge_p_a", "in [0, 1]"),
    (json.dumps(_record(judge_p_a="0.5")), "judge_p_a", "in [0, 1]"),
    (json.dumps(_record(meta={"annotators": [0, 3]})), "meta.annotators", "0 (tie)"),
    (json.dumps(_record(annotators="a")), "annotators", "list"),
    (json.dumps(_record(meta="x")), "meta", "object"),
])
def test_rejects_bad_lines_naming_file_line_and_field(tmp_path, line, field, problem):
    path = _write(tmp_path, [_record(id="ok"), line])
    with pytest.raises(PairsFormatError) as caught:
        read_pairs_jsonl(path)
    error = caught.value
    assert error.line == 2 and error.field == field and error.path == str(path)
    assert str(path) in str(error) and "line 2" in str(error) and problem in str(error)
    if field:
        assert repr(field) in str(error)


def test_rejects_duplicate_ids_and_non_utf8_and_empty_files(tmp_path):
    with pytest.raises(PairsFormatError, match=r"line 3, field 'id': duplicate id 'x1' \(first on line 1\)"):
        read_pairs_jsonl(_write(tmp_path, [_record(), _record(id="x2"), _record()]))
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(json.dumps(_record()).encode() + b"\n" + json.dumps(_record(id="x2")).encode()[:-2]
                     + b'\xe9"}\n')
    with pytest.raises(PairsFormatError, match="line 2: not UTF-8"):
        read_pairs_jsonl(path)
    with pytest.raises(PairsFormatError, match="no pairs"):
        read_pairs_jsonl(_write(tmp_path, ["", "  "], name="empty.jsonl"))


def test_error_is_a_value_error_and_nothing_half_read_is_returned(tmp_path):
    path = _write(tmp_path, [_record(), _record(id="x2"), "{broken"])
    with pytest.raises(ValueError):
        frame = read_pairs_jsonl(path)
    assert "frame" not in locals()
