"""One answer -> patch, on real sympy files: gold edits, hostile answers, compat newlines, several files."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchline.core.repos import DirSnapshot
from patchline.edits import apply_unified_diff
from patchline.workflows.agentless.context import ContextOptions, InstanceContext, build_context
from patchline.workflows.agentless.records import LocRecord, SampleStatus
from patchline.workflows.agentless.responses import SampleAnswer
from patchline.workflows.agentless.sample import patch_sample
from tests.unit.workflows.agentless.helpers import installed_path, oracle_answer, read_lite

pytestmark = pytest.mark.unit

LATEX = "sympy/printing/latex.py"
FACTOR = "sympy/polys/factortools.py"
SUBS_RETURN = "        return r'\\left. %s \\right|_{\\substack{ %s }}' % (latex_expr,"


@pytest.fixture(scope="module")
def gold(shared_data: Path) -> dict[str, dict[str, object]]:
    return read_lite(shared_data / "swebench_verified" / "swe_bench_verified.jsonl", ["sympy__sympy-18763"])


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sympy-files")
    for path in (LATEX, FACTOR):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(installed_path("sympy/sympy", path).read_bytes())
    return root


def _context(repo: Path, locs: dict[str, list[str]], *, compat: bool = False) -> InstanceContext:
    loc = LocRecord(instance_id="sympy__sympy-18763", found_files=[LATEX, FACTOR], found_edit_locs=locs)
    options = ContextOptions(top_n=None, context_window=5, loc_interval=True, compat=compat)
    return build_context(loc, DirSnapshot(repo), options)


@pytest.fixture(scope="module")
def subs_context(repo: Path) -> InstanceContext:
    return _context(repo, {LATEX: ["function: LatexPrinter._print_Subs"], FACTOR: ["function: dmp_ext_factor"]})


def _answer(content: str | None, *, reasoning: str = "", failure: str = "") -> SampleAnswer:
    reasoning_only = not failure and not (content or "").strip() and bool(reasoning)
    return SampleAnswer(1, content or "", reasoning, {}, failure, reasoning_only=reasoning_only)


def _edit(path: str, search: str, replace: str) -> str:
    return f"```python\n### {path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n```\n"


def test_gold_edit_gives_a_patch_that_applies(
    gold: dict[str, dict[str, object]], subs_context: InstanceContext
) -> None:
    result = patch_sample(_answer(oracle_answer(gold["sympy__sympy-18763"])), subs_context)
    assert result.status == SampleStatus.OK
    assert result.model_patch == result.raw_model_patch
    assert result.model_patch.startswith(f"diff --git a/{LATEX} b/{LATEX}\n--- a/{LATEX}\n+++ b/{LATEX}\n@@ ")
    segment = subs_context.segment(LATEX)
    assert segment is not None
    patched = apply_unified_diff({LATEX: segment.content}, result.model_patch)
    assert patched[LATEX] == result.files.new_contents[0]
    assert "\\left. \\left(%s\\right) \\right|" in str(patched[LATEX])
    assert "No newline" not in result.model_patch


def test_edits_to_every_file_are_applied_and_compat_keeps_the_first_only(
    repo: Path, subs_context: InstanceContext
) -> None:
    both = _edit(LATEX, SUBS_RETURN, SUBS_RETURN.replace("%s \\right", "(%s) \\right")) + _edit(
        FACTOR, "    s, g, r = dmp_sqf_norm(f, u, K)", "    s, g, r = dmp_sqf_norm(F, u, K)"
    )
    result = patch_sample(_answer(both), subs_context)
    assert result.status == SampleStatus.OK and result.files.paths == [LATEX, FACTOR]
    assert result.model_patch.count("diff --git") == 2
    compat_context = _context(
        repo, {LATEX: ["function: LatexPrinter._print_Subs"], FACTOR: ["function: dmp_ext_factor"]}, compat=True
    )
    compat = patch_sample(_answer(both), compat_context, compat=True)
    assert compat.files.paths == [LATEX] and compat.dropped_edits == 1


def test_whole_file_compat_reproduces_the_blank_line_artefact(gold: dict[str, dict[str, object]], repo: Path) -> None:
    clean = patch_sample(_answer(oracle_answer(gold["sympy__sympy-18763"])), _context(repo, {}))
    assert clean.status == SampleStatus.OK and clean.model_patch.count("@@ ") == 1
    compat = patch_sample(
        _answer(oracle_answer(gold["sympy__sympy-18763"])), _context(repo, {}, compat=True), compat=True
    )
    assert compat.status == SampleStatus.OK
    assert compat.raw_model_patch.startswith(f"diff --git a/{LATEX} b/{LATEX}\nindex ")
    assert "@@ -1,3 +1,4 @@\n+\n" in compat.raw_model_patch  # the spurious blank first line
    assert "@@ -842,7 +843,7 @@ class LatexPrinter(Printer):" in compat.raw_model_patch  # git's section heading
    assert compat.files.new_contents[0].startswith("\n") and not compat.files.originals[0].endswith("\n")


@pytest.mark.parametrize(
    ("content", "status", "dropped"),
    [
        (_edit("sympy/core/basic.py", "x", "y"), SampleStatus.NO_EDITS, 1),  # file not in the prompt
        (_edit("../../etc/passwd", "x", "y"), SampleStatus.NO_EDITS, 1),  # leaves the repository
        (_edit("/etc/passwd", "x", "y"), SampleStatus.NO_EDITS, 1),
        ("```python\n### sympy/printing/latex.py\n<<<<<<< SEARCH\nfoo\n", SampleStatus.NO_EDITS, 0),  # unclosed
        ("no code at all", SampleStatus.NO_EDITS, 0),
        ("", SampleStatus.NO_EDITS, 0),
        (_edit(LATEX, "def not_in_this_file():", "pass"), SampleStatus.NOT_APPLIED, 0),
        # the first lines of latex.py exist but are outside the shown ranges
        (
            _edit(LATEX, '"""\nA Printer which converts an expression into its LaTeX equivalent.', "x"),
            SampleStatus.NOT_APPLIED,
            0,
        ),
        (_edit(LATEX, SUBS_RETURN, SUBS_RETURN + " ((("), SampleStatus.SYNTAX_ERROR, 0),
        (_edit(LATEX, SUBS_RETURN, "\n" + SUBS_RETURN), SampleStatus.BLANK_LINES_ONLY, 0),
    ],
)
def test_hostile_answers_are_statuses_not_crashes(
    subs_context: InstanceContext, content: str, status: str, dropped: int
) -> None:
    result = patch_sample(_answer(content), subs_context)
    assert result.status == status
    assert result.model_patch == ""
    assert result.dropped_edits == dropped
    if status in (SampleStatus.SYNTAX_ERROR, SampleStatus.BLANK_LINES_ONLY):
        assert result.raw_model_patch.startswith("diff --git")  # kept for inspection


def test_marker_inside_a_string_and_search_twice(subs_context: InstanceContext) -> None:
    quoted = "```python\nprint('<<<<<<< SEARCH')\n```\n"
    assert patch_sample(_answer(quoted), subs_context).status == SampleStatus.NO_EDITS
    twice = _edit(LATEX, SUBS_RETURN, SUBS_RETURN.replace("%s \\right", "(%s) \\right")) * 2
    result = patch_sample(_answer(twice), subs_context)
    assert result.status == SampleStatus.OK and result.edits_found == 1  # exact repeats are dropped


def test_crlf_and_reasoning(subs_context: InstanceContext) -> None:
    edit = _edit(LATEX, SUBS_RETURN, SUBS_RETURN.replace("%s \\right", "(%s) \\right"))
    assert patch_sample(_answer(edit.replace("\n", "\r\n")), subs_context).status == SampleStatus.OK
    thought = f"<think>maybe\n{edit}</think>\nNo change needed."
    assert patch_sample(_answer(thought), subs_context).status == SampleStatus.NO_EDITS
    unfinished = f"<think>still thinking\n{edit}"
    assert patch_sample(_answer(unfinished), subs_context).status == SampleStatus.NO_EDITS
    assert patch_sample(_answer(f"<think>ok</think>\n{edit}"), subs_context).status == SampleStatus.OK


def test_failures_and_reasoning_only_are_data(subs_context: InstanceContext) -> None:
    failed = patch_sample(_answer(None, failure="500 server_error: boom"), subs_context)
    assert failed.status == SampleStatus.REQUEST_FAILED and failed.notes == ["500 server_error: boom"]
    only = patch_sample(_answer(None, reasoning="long thoughts"), subs_context)
    assert only.status == SampleStatus.REASONING_ONLY
    null = patch_sample(_answer(None), subs_context)
    assert null.status == SampleStatus.NO_EDITS


def test_ten_megabyte_answer_is_handled(subs_context: InstanceContext) -> None:
    edit = _edit(LATEX, SUBS_RETURN, SUBS_RETURN.replace("%s \\right", "(%s) \\right"))
    filler = ("lorem ipsum <<<<<<< not a marker ``` " * 30 + "\n") * 9200
    content = filler + edit
    assert len(content) > 10_000_000
    result = patch_sample(_answer(content), subs_context)
    assert result.status in (SampleStatus.OK, SampleStatus.NO_EDITS)
