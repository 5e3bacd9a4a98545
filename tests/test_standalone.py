"""The project stands alone: a user's clone has no ../shared, so nothing may read from outside the repo."""
import re
import subprocess

from tests.conftest import HUMAN_DATA, ROOT

OUTSIDE = re.compile(r"\.\./shared|[\"']shared[\"']\s*/|ROOT\.parent|SHARED_DATA")


def _tracked_text_files():
    names = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / n for n in names if n.endswith((".py", ".sh", ".md", ".yaml", ".toml", ".txt", ".cfg", ".ini"))
            and (ROOT / n).is_file()]


def test_no_file_points_outside_the_repository():
    offenders = [f"{path.relative_to(ROOT)}:{i}: {line.strip()}"
                 for path in _tracked_text_files() if path.name != "test_standalone.py"
                 for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
                 if OUTSIDE.search(line)]
    assert offenders == []


def test_the_human_labelled_sets_ship_with_their_licences():
    for name, licence in (("pandalm_testset_v1.jsonl", "PandaLM-LICENSE"), ("llmbar_natural.jsonl", "LLMBar-LICENSE")):
        assert (HUMAN_DATA / name).stat().st_size > 50_000
        assert (HUMAN_DATA / "licenses" / licence).read_text().strip()
    assert "Apache" in (HUMAN_DATA / "licenses" / "PandaLM-LICENSE").read_text()
    assert "MIT" in (HUMAN_DATA / "licenses" / "LLMBar-LICENSE").read_text()
