"""check_patch agrees with ``git apply --check`` on real EditBench step diffs and their common damages.

Each step of each history with file snapshots is checked at the state before it, as given (many end
without a final newline, which git calls corrupt when it cuts a hunk) and damaged: final newline added,
an extra blank line, miscounted, shifted, moved to line 1.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from patchline.edits import PatchApplyError, apply_unified_diff, check_patch

pytestmark = pytest.mark.integration

_HEADER = re.compile(r"^@@ -(\d+),(\d+) \+(\d+)", re.MULTILINE)


def _variants(diff: str) -> list[str]:
    return [
        diff,
        diff.rstrip("\n") + "\n",
        diff.rstrip("\n") + "\n\n",
        _HEADER.sub(lambda m: f"@@ -{m.group(1)},{int(m.group(2)) + 1} +{m.group(3)}", diff, count=1),
        _HEADER.sub(lambda m: f"@@ -{int(m.group(1)) + 7},{m.group(2)} +{int(m.group(3)) + 7}", diff, count=1),
        _HEADER.sub(lambda m: f"@@ -1,{m.group(2)} +1", diff, count=1),
    ]


def test_verdicts_agree_with_git(shared_data: Path, tmp_path: Path) -> None:
    agree = disagree = 0
    examples: list[str] = []
    source = shared_data / "editbench_realistic" / "sample_with_file_snapshots.jsonl"
    for number, line in enumerate(source.read_text().splitlines()):
        record = json.loads(line)
        files = {snap["path"]: snap["original"] for snap in record["file_snapshots"]}
        for step_number, step in enumerate(record["work_patch_list"]):
            repo = tmp_path / f"{number}-{step_number}"
            subprocess.run(["git", "init", "-q", str(repo)], check=True)
            for path, text in files.items():
                (repo / path).parent.mkdir(parents=True, exist_ok=True)
                (repo / path).write_bytes(text.encode("utf-8"))
            for diff in step:
                for k, variant in enumerate(_variants(diff)):
                    (repo / f"v{k}.diff").write_bytes(variant.encode("utf-8"))
                    git = subprocess.run(["git", "apply", "--check", f"v{k}.diff"], cwd=repo, capture_output=True)
                    if check_patch(files, variant).applies == (git.returncode == 0):
                        agree += 1
                    else:
                        disagree += 1
                        examples.append(f"{record['instance_id']} step {step_number} variant {k}")
            for diff in step:
                try:
                    files = {p: t for p, t in apply_unified_diff(files, diff).items() if t is not None}
                except PatchApplyError:
                    continue
    assert agree >= 300
    assert disagree == 0, examples[:5]
