from __future__ import annotations

import json

import pandas as pd
import pytest

from core.judges import judge_pairs, make_judge
from core.loop.preferences import compile_preferences, export_preferences
from core.schema import ResponsePair

PAIRS = [ResponsePair("p1", "q1", "short", "a longer answer"), ResponsePair("p2", "q2", "same", "same"),
         ResponsePair("p3", "q3", "a much longer answer", "tiny")]


def frames():
    pairs = pd.DataFrame([{"pair_id": p.pair_id, "prompt": p.prompt, "response_a": p.response_a,
                           "response_b": p.response_b} for p in PAIRS])
    judgments = pd.DataFrame([j.to_row() for j in judge_pairs(make_judge("longest"), PAIRS)])
    return pairs, judgments


def test_chosen_follows_the_verdict_and_ties_are_left_out():
    records, skipped = compile_preferences(*frames())
    assert skipped == 1
    assert [(r["pair_id"], r["chosen"][0]["content"], r["rejected"][0]["content"]) for r in records] == [
        ("p1", "a longer answer", "short"), ("p3", "a much longer answer", "tiny")]
    assert records[0]["prompt"] == [{"role": "user", "content": "q1"}] and records[0]["judge"] == "longest"


@pytest.mark.parametrize("name", ["prefs.jsonl", "prefs.parquet", "prefs_ds"])
def test_exports_load_back_as_the_same_records(tmp_path, name):
    records, _ = compile_preferences(*frames())
    path = export_preferences(records, tmp_path / name)
    if name.endswith(".jsonl"):
        back = [json.loads(line) for line in path.read_text().splitlines()]
    elif name.endswith(".parquet"):
        back = pd.read_parquet(path).to_dict("records")
    else:
        import datasets

        back = list(datasets.load_from_disk(str(path)))
    assert [(b["pair_id"], b["chosen"][0]["content"]) for b in back] == [
        (r["pair_id"], r["chosen"][0]["content"]) for r in records]
    assert not list(tmp_path.glob("*.partial"))
