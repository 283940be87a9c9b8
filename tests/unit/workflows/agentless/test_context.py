"""Prompt context on real files: which files are shown, which ranges, and the ``...`` rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchline.core.repos import DirSnapshot, split_lines
from patchline.workflows.agentless.context import ContextOptions, build_context, render_context, render_segment
from patchline.workflows.agentless.records import EditLocsOrigin, LocRecord
from tests.unit.workflows.agentless.helpers import find_loc, installed_path

pytestmark = pytest.mark.unit

FILES = ("src/_pytest/nodes.py", "src/_pytest/skipping.py", "src/_pytest/outcomes.py")  # found_files order


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pytest-files")
    for path in FILES:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(installed_path("pytest-dev/pytest", path).read_bytes())
    return root


@pytest.fixture(scope="module")
def loc_7490(shared_data: Path) -> LocRecord:
    record = find_loc(
        shared_data / "locagent_swe_reflexion" / "loc_outputs_mrr_deepseekv3.jsonl", "pytest-dev__pytest-7490"
    )
    return LocRecord.model_validate(record)


def test_the_shipped_record_reads_its_locations_from_raw_output_loc(repo: Path, loc_7490: LocRecord) -> None:
    assert loc_7490.edit_locs_origin == EditLocsOrigin.RAW_OUTPUT_LOC
    assert set(FILES) <= set(loc_7490.found_edit_locs or {}) <= set(loc_7490.found_files)
    context = build_context(loc_7490, DirSnapshot(repo), ContextOptions(top_n=None, loc_interval=True))
    assert context.files and "\n...\n" in render_context(context)


def test_without_edit_locations_every_file_is_shown_whole(repo: Path, loc_7490: LocRecord) -> None:
    bare = LocRecord.model_validate(loc_7490.model_dump(exclude={"raw_output_loc", "found_edit_locs"}))
    assert bare.edit_locs_origin == EditLocsOrigin.NONE
    context = build_context(bare, DirSnapshot(repo), ContextOptions(top_n=None))
    assert [f.path for f in context.files] == list(FILES)  # the real found_files, all installed
    rendered = render_context(context)
    assert rendered.startswith(f"### {FILES[0]}\n")
    assert "\n...\n" not in rendered
    nodes = (repo / FILES[0]).read_text(encoding="utf-8")
    assert f"### {FILES[0]}\n{nodes.rstrip(chr(10))}\n\n\n### {FILES[1]}\n" in rendered


def test_top_n_and_missing_files(repo: Path, loc_7490: LocRecord) -> None:
    context = build_context(loc_7490, DirSnapshot(repo), ContextOptions(top_n=1))
    assert [f.path for f in context.files] == [FILES[0]]
    loc = loc_7490.model_copy(update={"found_files": ["src/_pytest/not_there.py", FILES[0]]})
    context = build_context(loc, DirSnapshot(repo), ContextOptions(top_n=None))
    assert context.missing_files == ["src/_pytest/not_there.py"]
    assert [f.path for f in context.files] == [FILES[0]]


def test_edit_locations_choose_ranges_and_files_without_any_are_left_out(repo: Path, loc_7490: LocRecord) -> None:
    locs = {FILES[1]: ["function: evaluate_xfail_marks\nline: 3"], FILES[0]: ["function: nothing_like_this"]}
    loc = loc_7490.model_copy(update={"found_edit_locs": locs})
    context = build_context(loc, DirSnapshot(repo), ContextOptions(top_n=None, context_window=2, loc_interval=True))
    assert [f.path for f in context.files] == [FILES[1]]
    assert context.files_without_locations == [FILES[0], FILES[2]]
    ranges = context.files[0].ranges
    assert ranges[0] == (1, 5)  # line 3 +- 2
    assert len(ranges) == 2


def test_rendering_marks_skipped_lines(repo: Path) -> None:
    content = (repo / FILES[2]).read_text(encoding="utf-8")
    lines = split_lines(content)
    rendered = render_segment(content, [(1, 2), (5, 6)]).split("\n")
    assert rendered == [lines[0], lines[1], "...", lines[4], lines[5], "..."]
    rendered = render_segment(content, [(3, len(lines))]).split("\n")
    assert rendered[0] == "..." and rendered[-1] == lines[-1]
    numbered = render_segment(content, [(3, 4)], line_numbers=True).split("\n")
    assert numbered == ["...", f"3|{lines[2]}", f"4|{lines[3]}", "..."]
    assert render_segment(content, [(0, len(lines))]) == "\n".join(lines)  # compat start 0 = from the top
