"""The oracle's gold index and answers on real SWE-bench Lite instances and real EditBench histories."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import replace
from pathlib import Path

import multiprocess
import pytest

from patchline.edits import (
    apply_exact_then_stripped,
    find_diffs,
    find_fenced_blocks,
    parse_search_replace,
    search_replace_from_diff,
)
from patchline.oracle import (
    GoldIndex,
    GoldInstance,
    UnplaceablePromptError,
    chat_completion,
    compose_answer,
    diff_files,
    load_gold,
    split_diff,
)

pytestmark = pytest.mark.unit

SR_INSTRUCTIONS = (
    "Please first localize the bug based on the issue statement, and then generate *SEARCH/REPLACE* edits to fix "
    "the issue.\n```python\n### mathweb/flask/app.py\n<<<<<<< SEARCH\nfrom flask import Flask\n=======\nimport math\n"
    "from flask import Flask\n>>>>>>> REPLACE\n```\n"
)
# A real test module (from an installed package) standing in for a test file the gold patch does not touch.
OTHER_TEST_FILE = (
    Path(multiprocess.__file__).parent / "tests" / "test_multiprocessing_fork" / "test_misc.py"
).read_text()


@pytest.fixture(scope="module")
def lite(lite_test_path: Path) -> dict[str, GoldInstance]:
    return {inst.instance_id: inst for inst in load_gold(lite_test_path)}


@pytest.fixture(scope="module")
def index(lite: dict[str, GoldInstance]) -> GoldIndex:
    return GoldIndex(lite.values())


def _raw_issue(path: Path, instance_id: str) -> str:
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["instance_id"] == instance_id:
            return str(record["problem_statement"])
    raise AssertionError(instance_id)


def test_the_issue_text_places_the_instance_even_with_crlf(lite_test_path: Path, index: GoldIndex) -> None:
    raw = _raw_issue(lite_test_path, "astropy__astropy-12907")
    assert "\r\n" in raw
    for issue in (raw, raw.replace("\r\n", "\n")):
        found = index.find(f"We are currently solving the following issue.\n--- BEGIN ISSUE ---\n{issue}\n---")
        assert found is not None and found.instance_id == "astropy__astropy-12907"


def test_every_lite_instance_is_placed_by_its_own_issue(lite: dict[str, GoldInstance], index: GoldIndex) -> None:
    misplaced = [
        iid
        for iid, inst in lite.items()
        if (index.find(f"Issue:\n{inst.problem_statement}\n") or inst).instance_id != iid
    ]
    assert misplaced == []


def test_an_unknown_prompt_is_not_placed(index: GoldIndex) -> None:
    assert index.find("Fix the bug in the frobnicator, it crashes on empty input.") is None
    with pytest.raises(UnplaceablePromptError):
        chat_completion(index, {"messages": [{"role": "user", "content": "Hello there"}]})


def test_duplicate_issue_prefixes_prefer_the_whole_issue(lite: dict[str, GoldInstance]) -> None:
    real = lite["django__django-11099"]
    longer = replace(real, instance_id="copy-longer", problem_statement=real.problem_statement + "\nMore detail.")
    index = GoldIndex([real, longer])
    assert index.find(f"Issue:\n{real.problem_statement}\nEnd") is real
    assert index.find(f"Issue:\n{longer.problem_statement}\nEnd") is longer


def test_search_replace_answer_is_the_gold_patch(lite: dict[str, GoldInstance]) -> None:
    inst = lite["django__django-11099"]
    prompt = f"--- BEGIN ISSUE ---\n{inst.problem_statement}\n--- END ISSUE ---\n{SR_INSTRUCTIONS}"
    answer = compose_answer(prompt, inst)
    assert answer == search_replace_from_diff(inst.patch)
    parsed = parse_search_replace(answer)
    assert parsed.paths == diff_files(inst.patch) == ["django/contrib/auth/validators.py"]
    assert [("+$'" in e.search, "+\\Z'" in e.replace) for e in parsed.edits] == [(True, True), (True, True)]


def test_localisation_bugfixer_gets_source_files(lite: dict[str, GoldInstance]) -> None:
    inst = lite["django__django-11019"]
    prompt = (
        f"Please look through the following GitHub problem description and Repository structure and provide a list "
        f"of files that one would need to edit to fix the problem.\n\n{inst.problem_statement}\n\ndjango/\n"
        f"    forms/\n        widgets.py\n        test_forms.py\n\nReturn at most 5 of the most relevant files, one "
        f"per line, in a fenced block."
    )
    blocks = find_fenced_blocks(compose_answer(prompt, inst))
    assert [line for line in blocks[0].content.splitlines() if line] == ["django/forms/widgets.py"]


def test_localisation_testwriter_gets_test_files_first(lite: dict[str, GoldInstance]) -> None:
    inst = lite["django__django-11019"]
    prompt = (
        f"Please look through the following GitHub problem description and Repository structure and provide a list "
        f"of test files that would help reproduce the issue.\n\n{inst.problem_statement}\n\ntests/\n    test_x.py\n"
        f"Return at most 5 of the most relevant files, one per line, in a fenced block."
    )
    files = [line for line in find_fenced_blocks(compose_answer(prompt, inst))[0].content.splitlines() if line]
    assert files == [
        "tests/admin_inlines/tests.py",
        "tests/admin_widgets/test_autocomplete_widget.py",
        "tests/forms_tests/tests/test_media.py",
        "django/forms/widgets.py",
    ]


def test_diff_answer_is_the_gold_patch_in_patch_tags(lite: dict[str, GoldInstance]) -> None:
    inst = lite["astropy__astropy-14182"]
    answer = compose_answer(f"{inst.problem_statement}\nAnswer with a diff inside <patch></patch>.", inst)
    assert answer.startswith("<patch>\n") and answer.rstrip().endswith("</patch>")
    assert find_diffs(answer)[0].strip() == inst.patch.strip()


def test_a_patch_answer_keeps_a_trailing_blank_context_line(lite: dict[str, GoldInstance]) -> None:
    """A gold patch whose last hunk ends in a context line of one space applies only with that line kept."""
    ending = [inst for inst in lite.values() if inst.patch.endswith("\n \n")]
    assert ending, "the Lite test split has gold patches that end in a blank context line"
    for inst in ending:
        answer = compose_answer(f"{inst.problem_statement}\nAnswer with a diff inside <patch></patch>.", inst)
        assert answer == f"<patch>\n{inst.patch}</patch>\n"


def _testwriter_prompt(inst: GoldInstance, path: str, content: str) -> str:
    return (
        f"We are currently solving the following issue:\n{inst.problem_statement}\n\nBelow is a test file:\n"
        f"{path}\n{content}\n\nWrite *SEARCH/REPLACE* edits to this test file that reproduce the issue; the test "
        f"prints 'Issue reproduced', 'Issue resolved' or 'Other issues'.\n```python\n### {path}\n<<<<<<< SEARCH\n"
        f"old\n=======\nnew\n>>>>>>> REPLACE\n```"
    )


def test_testwriter_edits_use_the_test_patch_hunks_of_the_shown_file(lite: dict[str, GoldInstance]) -> None:
    inst = lite["pallets__flask-4045"]
    shown = "tests/test_blueprints.py"
    answer = compose_answer(_testwriter_prompt(inst, shown, "import pytest\n\nimport flask\n"), inst)
    assert answer == search_replace_from_diff(split_diff(inst.test_patch)[shown])
    assert parse_search_replace(answer).paths == [shown]


@pytest.mark.parametrize(
    ("instance_id", "expected"),
    [
        ("pallets__flask-4045", "def test_"),
        ("psf__requests-1963", "class TestRedirects:"),
        ("django__django-11133", "class TestReproduction(unittest.TestCase):"),
    ],
)
def test_testwriter_edit_inserts_gold_tests_into_another_shown_file(
    lite: dict[str, GoldInstance], instance_id: str, expected: str
) -> None:
    inst = lite[instance_id]
    shown = "tests/test_misc.py"
    answer = compose_answer(_testwriter_prompt(inst, shown, OTHER_TEST_FILE), inst)
    edits = parse_search_replace(answer).edits
    assert [edit.path for edit in edits] == [shown]
    assert expected in edits[0].replace
    result = apply_exact_then_stripped(OTHER_TEST_FILE, edits)
    assert all(outcome.applied for outcome in result.outcomes)
    tree = ast.parse(result.new_content)  # the edited file is still Python
    added = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    gold = set(re.findall(r"^\+[ \t]*def (test\w+)", inst.test_patch, re.MULTILINE))
    assert gold and gold <= added


def test_testwriter_without_a_test_file_is_unplaceable(lite: dict[str, GoldInstance]) -> None:
    inst = lite["pallets__flask-4045"]
    with pytest.raises(UnplaceablePromptError, match="shows no test file"):
        compose_answer(_testwriter_prompt(inst, "src/flask/app.py", "x = 1\n"), inst)


def test_a_prompt_without_a_format_marker_is_unplaceable(lite: dict[str, GoldInstance]) -> None:
    inst = lite["pallets__flask-4045"]
    with pytest.raises(UnplaceablePromptError, match="no known answer format"):
        compose_answer(f"{inst.problem_statement}\nWhat do you think?", inst)


def test_chat_completion_shape_usage_and_reasoning(lite: dict[str, GoldInstance], index: GoldIndex) -> None:
    inst = lite["astropy__astropy-14182"]
    body = {"model": "m1", "n": 2, "messages": [{"role": "user", "content": f"{inst.problem_statement}\n<patch>"}]}
    plain = chat_completion(index, body)
    assert plain["model"] == "m1" and len(plain["choices"]) == 2
    assert plain["usage"]["prompt_tokens"] == len(body["messages"][0]["content"]) // 4  # type: ignore[index]
    assert plain["usage"]["total_tokens"] == plain["usage"]["prompt_tokens"] + plain["usage"]["completion_tokens"]
    think = chat_completion(index, body, reasoning="think")["choices"][0]["message"]
    assert think["content"].startswith("<think>\n") and "</think>" in think["content"]
    field = chat_completion(index, body, reasoning="field")["choices"][0]["message"]
    assert inst.instance_id in field["reasoning_content"]
    assert field["content"] == plain["choices"][0]["message"]["content"]


# -- EditBench ------------------------------------------------------------------------------------------------


def _code_block(path: str, content: str) -> str:
    numbered = "".join(f"{i} {line}\n" for i, line in enumerate(content.splitlines(), start=1))
    return f"[start of {path}]\n{numbered}[end of {path}]\n"


def editbench_lines(shared_data: Path, count: int = 3) -> list[dict[str, object]]:
    """Infbench lines built from real EditBench histories: two steps of history, the rest to write."""
    lines = []
    source = shared_data / "editbench_realistic" / "sample_with_file_snapshots.jsonl"
    for raw in source.read_text().splitlines()[:count]:
        record = json.loads(raw)
        steps, snapshots = record["work_patch_list"], record["file_snapshots"]
        history = "".join(f"[start of step {i}]\n{''.join(s)}[end of step {i}]\n" for i, s in enumerate(steps[:2], 1))
        code = "".join(_code_block(s["path"], s["original"]) for s in snapshots)
        prompt = (
            "You are an expert software engineer continuing a pull request.\n<history>\n"
            f"{history}</history>\n<code>\n{code}</code>\nWrite the remaining change as a diff in <patch></patch>."
        )
        lines.append(
            {
                "instance_id": record["instance_id"],
                "repo": record["repo"],
                "work_patch_list": steps,
                "files_work": record["files_work"],
                "prompt": prompt,
                "split_idx": 2,
                "pre_edits": ["".join(s) for s in steps[:2]],
                "ground_truth": "".join("".join(s) for s in steps[2:]),
            }
        )
    return lines


def test_editbench_prompts_are_placed_even_with_files_dropped(shared_data: Path, tmp_path: Path) -> None:
    lines = editbench_lines(shared_data)
    path = tmp_path / "infbench.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    index = GoldIndex.from_file(path)
    assert {inst.kind for inst in index.instances} == {"editbench"}
    for line in lines:
        prompt = str(line["prompt"])
        dropped = re.sub(r"\[start of (?!step)([^\]]+)\].*?\[end of \1\]\n", "", prompt, flags=re.DOTALL)
        assert dropped != prompt
        for variant in (prompt, dropped):
            found = index.find(variant)
            assert found is not None and found.instance_id == line["instance_id"]
            answer = compose_answer(variant, found)
            assert answer == f"```diff\n{str(line['ground_truth']).rstrip()}\n```\n"
    assert index.find("You are an expert software engineer continuing a pull request.\n<history>\n") is None


def test_testwriter_shown_empty_new_file_falls_back_to_inserting_whole_tests(lite: dict[str, GoldInstance]) -> None:
    inst = lite["django__django-13448"]  # its test patch creates an empty migrations/__init__.py
    shown = "tests/backends/base/app_unmigrated/migrations/__init__.py"
    assert search_replace_from_diff(split_diff(inst.test_patch)[shown]).strip() == ""
    # The insertion path is taken; this test patch only changes existing tests, so nothing whole can be inserted.
    with pytest.raises(UnplaceablePromptError, match="adds no test function"):
        compose_answer(_testwriter_prompt(inst, shown, "import unittest\n"), inst)


def test_public_names() -> None:
    import patchline.oracle as oracle

    assert set(oracle.__all__) == {
        "BaseFiles",
        "GoldIndex",
        "GoldInstance",
        "OracleServer",
        "ReasoningMode",
        "UnplaceablePromptError",
        "build_app",
        "chat_completion",
        "compose_answer",
        "diff_files",
        "load_gold",
        "normalise_text",
        "serve_oracle",
        "split_diff",
    }
    assert all(hasattr(oracle, name) for name in oracle.__all__)
