from __future__ import annotations

import json

import pytest

from core.data.prompts_file import PromptsFormatError, load_prompts
from core.loop.prompts import cluster_prompts, sample_prompts
from tests.conftest import SAMPLE


def test_sample_prompts_file_is_large_and_varied():
    prompts = load_prompts(SAMPLE / "prompts.jsonl")
    assert len(prompts) >= 200
    assert len({p.category for p in prompts}) >= 6


def test_sample_spreads_across_clusters_and_is_seeded():
    prompts = load_prompts(SAMPLE / "prompts.jsonl")
    labels = cluster_prompts([p.text for p in prompts], 8, seed=0)
    sample = sample_prompts(prompts, 16, n_clusters=8, seed=0)
    assert len({p.cluster for p in sample}) == len(set(labels)) == 8  # every cluster is drawn from
    assert [p.prompt_id for p in sample] == [p.prompt_id for p in sample_prompts(prompts, 16, n_clusters=8, seed=0)]
    assert [p.prompt_id for p in sample] != [p.prompt_id for p in sample_prompts(prompts, 16, n_clusters=8, seed=1)]


def test_excluded_prompts_are_used_only_when_the_rest_run_out():
    prompts = load_prompts(SAMPLE / "prompts.jsonl")[:12]
    first = sample_prompts(prompts, 8, n_clusters=3, seed=0)
    second = sample_prompts(prompts, 8, n_clusters=3, seed=0, exclude={p.prompt_id for p in first})
    fresh = {p.prompt_id for p in prompts} - {p.prompt_id for p in first}
    assert fresh <= {p.prompt_id for p in second} and len(second) == 8


def test_csv_and_saved_hf_dataset(tmp_path):
    csv_path = tmp_path / "p.csv"
    csv_path.write_text('id,prompt\n1,"Write a haiku,\nplease"\n2,Explain DNS\n', encoding="utf-8")
    assert [p.text for p in load_prompts(csv_path)] == ["Write a haiku,\nplease", "Explain DNS"]
    import datasets

    datasets.Dataset.from_dict({"prompt": ["a?", "b?"]}).save_to_disk(str(tmp_path / "ds"))
    assert [p.text for p in load_prompts(tmp_path / "ds")] == ["a?", "b?"]


@pytest.mark.parametrize("content, where", [
    ('{"prompt": "ok"}\n{"prompt": \n', ":2:"),
    ('{"prompt": "ok"}\n{"text2": "x"}\n', ":2: field 'prompt'"),
    ('{"prompt": "  "}\n', ":1: field 'prompt'"),
    ('{"id": "a", "prompt": "x"}\n{"id": "a", "prompt": "y"}\n', ":2: field 'id'"),
    ('["a list"]\n', ":1:"),
])
def test_bad_prompt_files_name_line_and_field(tmp_path, content, where):
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PromptsFormatError, match=f"bad.jsonl{where}"):
        load_prompts(path)


def test_non_utf8_prompt_file(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(json.dumps({"prompt": "caf"}).encode() + b"\xe9\n")
    with pytest.raises(PromptsFormatError, match="UTF-8"):
        load_prompts(path)
