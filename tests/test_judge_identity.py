"""A judge's key changes with anything that changes its verdicts, so edited principles are re-judged."""
from __future__ import annotations

import json

import yaml

from core.judges import judge_config_from, make_judge
from core.judges.identity import display_names, judge_identity
from core.loop.judging import label_pairs
from core.schema import ResponsePair

PAIRS = [ResponsePair(f"p{i}", f"Question {i}?", "Short." if i % 2 else "A longer answer. " * 3,
                      "A longer answer. " * 3 if i % 2 else "Short.") for i in range(4)]


def _judge_file(tmp_path, principles: str, **fields):
    (tmp_path / "principles.txt").write_text(principles)
    path = tmp_path / "judge.yaml"
    path.write_text(yaml.safe_dump({"backend": "local", "model": "tiny", "method": "pointwise",
                                    "principles": "principles.txt", **fields}))
    return str(path)


def test_editing_the_principles_makes_a_new_judge_whose_verdicts_are_made_afresh(tmp_path, store):
    store.add_pairs(PAIRS, dataset="d")
    first = make_judge(_judge_file(tmp_path, "- Be brief.\n"))
    assert label_pairs(store, first, PAIRS) == len(PAIRS)
    assert label_pairs(store, first, PAIRS) == 0  # the same definition: nothing judged twice
    edited = make_judge(_judge_file(tmp_path, "- Be thorough and cite sources.\n"))
    assert edited.name != first.name
    assert edited.name.split("@")[0] == first.name.split("@")[0] == "tiny-pointwise"
    assert label_pairs(store, edited, PAIRS) == len(PAIRS)  # judged again, not skipped
    frame = store.judgments_frame()
    assert sorted(frame["judge"].unique()) == sorted([first.name, edited.name])
    stored = store.judge_definitions([edited.name]).iloc[0]
    assert stored["name"] == "tiny-pointwise"
    assert "Be thorough" in json.loads(stored["definition"])["principles"]


def test_the_key_follows_verdict_fields_and_ignores_speed_fields(tmp_path, monkeypatch):
    path = _judge_file(tmp_path, "- Be brief.\n")
    key = judge_identity(judge_config_from(path)).key
    assert judge_identity(judge_config_from(path, batch_size=1, pass_tokens=64)).key == key
    assert judge_identity(judge_config_from(path, tie_margin=0.1)).key != key
    assert judge_identity(judge_config_from(path, method="likelihood")).key.startswith("tiny-likelihood@")
    assert judge_identity(judge_config_from(path, max_response_chars=100)).key != key
    import core.judges.local as local

    monkeypatch.setitem(local.TEMPLATES, "pointwise", local.TEMPLATES["pointwise"] + " Think first.")
    assert judge_identity(judge_config_from(path)).key != key  # a new prompt template is a new judge


def test_yardsticks_keep_their_plain_names():
    assert judge_identity(judge_config_from("longest")).key == "longest"
    assert judge_identity(judge_config_from("shortest", tie_margin=0.2)).key == "shortest"
    assert judge_identity(judge_config_from("random")).key == "random"
    assert judge_identity(judge_config_from("random", seed=3)).key.startswith("random@")


def test_the_ui_shows_readable_names_and_the_digest_only_where_two_definitions_share_one():
    shown = display_names(["longest", "tiny-pointwise@1a2b3c4d", "smollm2-135m-letters@00ff00ff",
                           "tiny-pointwise@99999999"])
    assert shown["longest"] == "longest" and shown["smollm2-135m-letters@00ff00ff"] == "smollm2-135m-letters"
    assert shown["tiny-pointwise@1a2b3c4d"] == "tiny-pointwise (1a2b3c4d)"
