from __future__ import annotations

import pytest
import yaml

from core.config import ConfigError, config_from_dict, load_config
from core.data.textfiles import read_yaml
from tests.conftest import SAMPLE


@pytest.mark.parametrize("name", ["tiny.yaml", "quick.yaml"])
def test_sample_configs_load_and_resolve_paths(name):
    cfg = load_config(SAMPLE / name)
    assert cfg.prompts.path == str(SAMPLE / "prompts.jsonl")
    assert cfg.judge.principles == ""  # the packaged constitution


def test_yaml_round_trip_gives_the_same_config():
    cfg = load_config(SAMPLE / "tiny.yaml")
    assert config_from_dict(yaml.safe_load(cfg.to_yaml())) == cfg


@pytest.mark.parametrize("data, field", [
    ({"ppo": {"kl_coeff": 0.1}}, "ppo.kl_coeff"),
    ({"nmae": "x"}, "nmae"),
    ({"judge": {"tie_margin": "small"}}, "judge.tie_margin"),
    ({"prompts": {"n": 2.5}}, "prompts.n"),
    ({"rounds": True}, "rounds"),
    ({"generation": {"responses_per_prompt": 1}}, "generation.responses_per_prompt"),
    ({"judge": {"backend": "gpt5"}}, "judge.backend"),
    ({"ppo": {"batch_size": 8, "mini_batches": 3}}, "ppo.mini_batches"),
    ({"prompts": "all"}, "prompts"),
])
def test_bad_configs_name_the_field(data, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        config_from_dict(data, source="bad.yaml")


def test_unreadable_yaml_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="broken.yaml"):
        load_config(path)


def test_a_field_the_file_lacks_is_placed_at_its_section(tmp_path):
    path = tmp_path / "openai.yaml"
    path.write_text("name: x\n\njudge:\n  backend: openai\n")
    with pytest.raises(ConfigError, match=r"openai\.yaml, line 3: 'judge\.base_url' is required"):
        load_config(path)


def test_the_yaml_with_its_lines_is_what_safe_load_reads(tmp_path):
    text = "base: &b {n: 3, seed: 1}\nprompts:\n  <<: *b\n  n: 4\nname: caf\u00e9\n"
    path = tmp_path / "anchors.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())  # a byte-order mark is not part of the text
    data, lines = read_yaml(path)
    assert data == yaml.safe_load(text)
    assert lines == {"base": 1, "base.n": 1, "base.seed": 1, "prompts": 2, "prompts.seed": 1, "prompts.n": 4, "name": 5}
