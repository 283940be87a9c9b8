"""A corpus of messy model diffs built from real ones: EditBench history steps, damaged the ways models damage them.

Each case is a real step diff of a real history (``editbench_realistic/sample_with_file_snapshots.jsonl``)
with the files as they were before the step and the file the step produces, and one or more damages
as they appear in real model answers: wrappers (```` ```diff ````, ``<DIFF>`` tags, ``<<<``/``>>>``, prose
around an untagged fence), repository-folder or absolute path prefixes (``/django__django/...``,
``/testbed/...``), wrong hunk line counts, wrong or missing start lines, context lines that lost their
space marker, a ``\\ No newline at end of file`` the file does not have, a diff cut off without its
final newline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from patchline.edits import PatchApplyError, apply_unified_diff

__all__ = ["DAMAGES", "MessyCase", "messy_cases"]

_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)


@dataclass(frozen=True)
class MessyCase:
    """One damaged diff: the files it is meant for, the answer text, and the file content it should give."""

    name: str
    files: dict[str, str]
    answer: str
    path: str
    expected: str


def _paths(diff: str, render: Callable[[str, str], str]) -> str:
    def line(match: re.Match[str]) -> str:
        return f"{match.group(1)} {render(match.group(2), match.group(3))}"

    return re.sub(r"^(---|\+\+\+) ([ab])/(\S+)", line, diff, flags=re.MULTILINE)


def _shift_counts(diff: str) -> str:
    return _HEADER.sub(
        lambda m: f"@@ -{m.group(1)},{int(m.group(2) or 1) + 2} +{m.group(3)},{max(int(m.group(4) or 1) - 1, 0)} @@",
        diff,
    )


def _shift_starts(diff: str, by: int) -> str:
    return _HEADER.sub(
        lambda m: f"@@ -{int(m.group(1)) + by},{m.group(2) or 1} +{int(m.group(3)) + by},{m.group(4) or 1} @@", diff
    )


def _drop_context_markers(diff: str) -> str:
    """Every third context line loses its leading space (the model lost the marker, not the indentation)."""
    out, seen = [], 0
    for line in diff.split("\n"):
        if line.startswith(" ") and line.strip():
            seen += 1
            if seen % 3 == 0:
                line = line[1:]
        out.append(line)
    return "\n".join(out)


def _bogus_no_newline(diff: str) -> str:
    return diff.rstrip("\n") + "\n\\ No newline at end of file\n"


def _prefix(repo_dir: str) -> Callable[[str], str]:
    return lambda diff: _paths(diff, lambda side, path: f"/{repo_dir}/{path}")


DAMAGES: dict[str, Callable[[str, str], str]] = {
    "fenced_diff_after_prose": lambda d, _r: f"The fix:\n\n```diff\n{d}```\n",
    "diff_tags": lambda d, _r: f"<DIFF>\n{d}</DIFF>\n",
    "angle_wrapper": lambda d, _r: f"<<<\n{d}>>>\n",
    "untagged_fence": lambda d, _r: f"Here is my change.\n```\n{d}```\nIt keeps the API.\n",
    "repo_folder_prefix": lambda d, r: _prefix(r)(d),
    "testbed_prefix": lambda d, _r: _paths(d, lambda side, path: f"{side}//testbed/{path}"),
    "wrong_counts": lambda d, _r: _shift_counts(d),
    "wrong_start_lines": lambda d, _r: _shift_starts(d, 17),
    "start_lines_far_off": lambda d, _r: _shift_starts(d, -_first_start(d) + 1 if _first_start(d) > 1 else 500),
    "lost_context_markers": lambda d, _r: _drop_context_markers(d),
    "bogus_no_newline": lambda d, _r: _bogus_no_newline(d),
    "cut_off_final_newline": lambda d, _r: d.rstrip("\n"),
    "wrapped_prefixed_miscounted": lambda d, r: f"<DIFF>\n{_shift_counts(_shift_starts(_prefix(r)(d), 9))}</DIFF>\n",
}


def _first_start(diff: str) -> int:
    match = _HEADER.search(diff)
    return int(match.group(1)) if match else 1


def _steps(data: Path) -> list[tuple[str, str, dict[str, str], str, str]]:
    """(instance id, repo dir, files before, clean single-file diff, path) of real steps that apply cleanly."""
    found = []
    for line in (data / "editbench_realistic" / "sample_with_file_snapshots.jsonl").read_text().splitlines():
        record = json.loads(line)
        files = {snap["path"]: snap["original"] for snap in record["file_snapshots"]}
        repo_dir = record["repo"].replace("/", "__")
        for step in record["work_patch_list"]:
            for diff in step:
                diff = diff.rstrip("\n") + "\n"
                try:
                    after = apply_unified_diff(files, diff)
                except PatchApplyError:
                    continue
                changed = [p for p in files if after.get(p) != files[p]]
                if len(changed) == 1 and diff.count("diff --git") == 1:
                    found.append((record["instance_id"], repo_dir, dict(files), diff, changed[0]))
                files = {p: t for p, t in after.items() if t is not None}
    return found


def messy_cases(data: Path, per_damage: int = 3) -> list[MessyCase]:
    """``per_damage`` cases of each damage, on steps of different histories."""
    steps = _steps(data)
    cases = []
    for number, (damage, apply_damage) in enumerate(DAMAGES.items()):
        for k in range(per_damage):
            instance_id, repo_dir, files, diff, path = steps[(number * per_damage + k * 7) % len(steps)]
            expected = apply_unified_diff(files, diff)[path] or ""
            cases.append(MessyCase(f"{damage}:{instance_id}", files, apply_damage(diff, repo_dir), path, expected))
    return cases
