"""The oracle against the prompts the workflows really send: their shipped templates, filled with real data.

These pin the prompt-marker contract from both sides: a template change that drops a marker fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchline.edits import find_diffs, find_fenced_blocks, parse_search_replace, search_replace_from_diff
from patchline.oracle import GoldIndex, GoldInstance, UnplaceablePromptError, compose_answer, load_gold
from patchline.workflows.editbench.prompt import PromptTemplates, render_prompt, shrink_code_context
from patchline.workflows.templates import load_template
from tests.unit.oracle.test_answers import OTHER_TEST_FILE

pytestmark = pytest.mark.unit

ROLLOUT = "patchline.workflows.rollout"
AGENTLESS = "patchline.workflows.agentless"
TREE = "django/\n    forms/\n        widgets.py\ntests/\n    admin_inlines/\n        tests.py\n"


@pytest.fixture(scope="module")
def lite(lite_test_path: Path) -> dict[str, GoldInstance]:
    return {inst.instance_id: inst for inst in load_gold(lite_test_path)}


def _answer(index: GoldIndex, prompt: str, **kwargs: frozenset[str]) -> str:
    instance = index.find(prompt)
    assert instance is not None
    return compose_answer(prompt, instance, **kwargs)


def _listed(answer: str) -> list[str]:
    return find_fenced_blocks(answer)[0].content.split()


def test_rollout_step1_templates(lite: dict[str, GoldInstance]) -> None:
    inst = lite["django__django-11019"]
    index = GoldIndex([inst, lite["django__django-11099"]])
    for name, expected in (
        ("bugfixer_step1.txt", ["django/forms/widgets.py"]),
        ("testwriter_step1.txt", ["tests/admin_inlines/tests.py", "tests/admin_widgets/test_autocomplete_widget.py"]),
    ):
        prompt = load_template(ROLLOUT, name).render(problem_statement=inst.problem_statement, structure=TREE)
        assert _listed(_answer(index, prompt))[: len(expected)] == expected, name


def test_rollout_bugfixer_step2_and_agentless_templates(lite: dict[str, GoldInstance]) -> None:
    inst = lite["django__django-11099"]
    index = GoldIndex([inst])
    contents = "django/contrib/auth/validators.py\nimport re\n"
    for package, name in ((ROLLOUT, "bugfixer_step2.txt"), (AGENTLESS, "repair_cot_diff.txt")):
        prompt = load_template(package, name).render(problem_statement=inst.problem_statement, file_contents=contents)
        assert _answer(index, prompt) == search_replace_from_diff(inst.patch), name


def test_rollout_testwriter_step2_template(lite: dict[str, GoldInstance]) -> None:
    inst = lite["pallets__flask-4045"]
    index = GoldIndex([inst])
    template = load_template(ROLLOUT, "testwriter_step2.txt")
    gold_file = template.render(problem_statement=inst.problem_statement, file_contents="tests/test_blueprints.py\nx")
    assert parse_search_replace(_answer(index, gold_file)).paths == ["tests/test_blueprints.py"]
    other = template.render(
        problem_statement=inst.problem_statement, file_contents=f"tests/test_misc.py\n{OTHER_TEST_FILE}"
    )
    edits = parse_search_replace(_answer(index, other)).edits
    assert [(e.path, e.search) for e in edits] == [("tests/test_misc.py", "import unittest\n")]
    # The template's own example has a one-line import; it must never become the anchor.
    no_import = template.render(problem_statement=inst.problem_statement, file_contents="tests/test_misc.py\nX = 1\n")
    with pytest.raises(UnplaceablePromptError, match="no one-line import"):
        _answer(index, no_import)


def test_editbench_templates_and_dropped_files(shared_data: Path) -> None:
    source = shared_data / "editbench_realistic" / "sample_with_file_snapshots.jsonl"
    records = [json.loads(line) for line in source.read_text().splitlines()]
    records = [record for record in records if len(record["file_snapshots"]) > 1][:3]  # one can be dropped
    assert len(records) == 3
    templates = PromptTemplates.load()
    lines, prompts = [], []
    for record in records:
        steps = ["".join(step) for step in record["work_patch_list"]]
        files = {snap["path"]: snap["original"] for snap in record["file_snapshots"]}
        prompt = render_prompt(templates, requirement="", files=files, pre_edits=steps[:2])
        prompts.append(prompt)
        lines.append(
            GoldInstance(
                instance_id=record["instance_id"], kind="editbench", prompt=prompt, ground_truth="".join(steps[2:])
            )
        )
    index = GoldIndex(lines)
    for inst, prompt in zip(lines, prompts, strict=True):
        smaller = shrink_code_context(prompt)
        assert smaller is not None and smaller != prompt
        for variant in (prompt, smaller):
            answer = _answer(index, variant)
            assert find_diffs(answer)[0].strip() == inst.ground_truth.strip()
