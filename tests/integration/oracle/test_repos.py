"""The oracle with ``--repo-root``: TestWriter localisation against a real git checkout at the base commit."""

from __future__ import annotations

import ast
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from patchline.edits import apply_exact_then_stripped, find_fenced_blocks, parse_search_replace
from patchline.oracle import BaseFiles, GoldInstance, compose_answer, load_gold
from tests.unit.oracle.test_answers import OTHER_TEST_FILE, _testwriter_prompt

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lite(lite_test_path: Path) -> dict[str, GoldInstance]:
    return {inst.instance_id: inst for inst in load_gold(lite_test_path)}


def _git_checkout(root: Path, repo: str, files: dict[str, str]) -> str:
    """A git checkout ``root/owner__name`` holding ``files`` in one commit; returns the commit id."""
    folder = root / repo.replace("/", "__")
    for path, text in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_SYSTEM": "/dev/null", "HOME": str(root)}
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-q", "-m", "base"]):
        subprocess.run(["git", *args], cwd=folder, env=env, check=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=folder, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_repo_root_turns_a_new_gold_test_file_into_an_existing_neighbour(
    lite: dict[str, GoldInstance], tmp_path: Path
) -> None:
    real = lite["django__django-10924"]  # its test patch creates tests/model_fields/test_filepathfield.py
    files = {
        "tests/model_fields/test_decimalfield.py": OTHER_TEST_FILE,
        "django/db/models/fields/__init__.py": "x = 1\n",
    }
    inst = replace(real, base_commit=_git_checkout(tmp_path, real.repo, files))
    prompt = (
        "Please look through the following GitHub problem description and Repository structure and provide a list "
        f"of the most relevant files: the test files that should be run.\n{inst.problem_statement}\n"
    )
    repos = BaseFiles(tmp_path)
    base_files = repos.files(inst)
    assert base_files == frozenset(files)
    listed = find_fenced_blocks(compose_answer(prompt, inst, base_files=base_files))[0].content.split()
    assert listed == ["tests/model_fields/test_decimalfield.py", "django/db/models/fields/__init__.py"]
    without = find_fenced_blocks(compose_answer(prompt, inst))[0].content.split()
    assert without[0] == "tests/model_fields/test_filepathfield.py"
    # Step 2 shows the neighbour: the gold tests are inserted into it.
    answer = compose_answer(_testwriter_prompt(inst, listed[0], OTHER_TEST_FILE), inst)
    result = apply_exact_then_stripped(OTHER_TEST_FILE, parse_search_replace(answer).edits)
    assert all(outcome.applied for outcome in result.outcomes)
    assert "def test_path(self):" in result.new_content
    ast.parse(result.new_content)
    assert BaseFiles(tmp_path).files(replace(inst, repo="nobody/nothing")) is None
    assert BaseFiles(None).files(inst) is None
