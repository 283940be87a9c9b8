"""Gold data of the oracle: load a dataset and find the instance a prompt is about.

Two kinds of datasets are understood, told apart per line by their fields:

* SWE-bench instances (``problem_statement``, ``patch``, ``test_patch``): a prompt belongs to the instance
  whose issue text it contains verbatim, after CRLF -> LF on both sides. Instances are indexed by the first
  non-blank line of the issue and confirmed by its first 300 characters; when several match (duplicated or
  prefix-sharing issues), the one whose whole issue is in the prompt wins, then the longest issue.
* EditBench infbench lines (``prompt``, ``ground_truth``): a prompt belongs to the line whose requirement and
  history text it repeats. File blocks (``[start of path]`` ... ``[end of path]``) are left out of the key,
  so a prompt from which files were dropped or halved (context overflow) still matches; lines shared by
  several instances (the template's wording) are left out too. A match needs 90% of the key lines.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patchline.core.datasets import InfbenchLine, SWEbenchInstance, iter_infbench, iter_swebench
from patchline.core.errors import InputError
from patchline.core.jsonl import iter_jsonl

__all__ = ["GoldIndex", "GoldInstance", "load_gold", "normalise_text"]

KEY_CHARS = 300
EDITBENCH_MIN_LINE = 12
EDITBENCH_MATCH_FRACTION = 0.9
_FILE_BLOCK = re.compile(r"^\[start of (?!step \d+\])([^\]\n]+)\]\n.*?^\[end of \1\]$", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class GoldInstance:
    """What the oracle needs of one instance: its identity, issue text and gold answers."""

    instance_id: str
    kind: str  # "swebench" or "editbench"
    repo: str = ""
    base_commit: str = ""
    problem_statement: str = ""
    patch: str = ""
    test_patch: str = ""
    prompt: str = ""
    ground_truth: str = ""


def normalise_text(text: str) -> str:
    """CRLF and lone CR to LF: prompts and datasets differ in line endings, never in wording."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _first_record(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        for numbered in iter_jsonl(handle, source=str(path)):
            return numbered.record
    return {}


def _is_infbench(source: str) -> bool:
    """True for a JSONL file whose first record is an infbench line (it has a prompt and a ground truth)."""
    path = Path(source)
    if path.suffix != ".jsonl" or not path.is_file():
        return False
    first = _first_record(path)
    return "prompt" in first and "ground_truth" in first


def _from_swebench(instance: SWEbenchInstance) -> GoldInstance:
    return GoldInstance(
        instance_id=instance.instance_id,
        kind="swebench",
        repo=instance.repo,
        base_commit=instance.base_commit,
        problem_statement=normalise_text(instance.problem_statement).strip(),
        patch=instance.patch,
        test_patch=instance.test_patch,
    )


def _from_infbench(line: InfbenchLine) -> GoldInstance:
    return GoldInstance(
        instance_id=line.instance_id,
        kind="editbench",
        repo=line.repo,
        prompt=normalise_text(line.prompt),
        ground_truth=line.ground_truth,
    )


def load_gold(source: str | Path) -> list[GoldInstance]:
    """The instances of a SWE-bench dataset (.json/.jsonl/.parquet or a hub name) or an EditBench infbench file."""
    name = str(source)
    instances: list[GoldInstance]
    if _is_infbench(name):
        instances = [_from_infbench(line) for line in iter_infbench(name)]
    else:
        instances = [_from_swebench(inst) for inst in iter_swebench(name) if inst.problem_statement.strip()]
    if not instances:
        raise InputError(f"oracle dataset {name} has no SWE-bench instance or infbench line")
    return instances


def _editbench_lines(prompt: str) -> set[str]:
    text = _FILE_BLOCK.sub("", normalise_text(prompt))
    return {s for s in (line.strip() for line in text.split("\n")) if len(s) >= EDITBENCH_MIN_LINE}


class GoldIndex:
    """Finds the gold instance a prompt is about; built once, read-only afterwards."""

    def __init__(self, instances: Iterable[GoldInstance]) -> None:
        self.instances = list(instances)
        self._by_first_line: dict[str, list[GoldInstance]] = defaultdict(list)
        self._swebench: list[GoldInstance] = []
        for inst in self.instances:
            if inst.kind == "swebench" and inst.problem_statement:
                self._swebench.append(inst)
                first = next(s for s in (x.strip() for x in inst.problem_statement.split("\n")) if s)
                self._by_first_line[first].append(inst)
        self._editbench_keys: dict[str, set[str]] = {}
        self._editbench_by_line: dict[str, list[GoldInstance]] = defaultdict(list)
        self._index_editbench([i for i in self.instances if i.kind == "editbench"])

    @classmethod
    def from_file(cls, path: str | Path) -> GoldIndex:
        """The index of one dataset file."""
        return cls(load_gold(path))

    def __len__(self) -> int:
        return len(self.instances)

    def _index_editbench(self, instances: list[GoldInstance]) -> None:
        lines_of = {inst.instance_id: _editbench_lines(inst.prompt) for inst in instances}
        frequency: dict[str, int] = defaultdict(int)
        for lines in lines_of.values():
            for line in lines:
                frequency[line] += 1
        for inst in instances:
            own = {line for line in lines_of[inst.instance_id] if frequency[line] == 1 or len(instances) == 1}
            if not own:
                continue
            self._editbench_keys[inst.instance_id] = own
            for line in own:
                self._editbench_by_line[line].append(inst)

    def find(self, prompt: str) -> GoldInstance | None:
        """The instance ``prompt`` is about, or None when it cannot be placed."""
        text = normalise_text(prompt)
        return self._find_swebench(text) or self._find_editbench(text)

    def _find_swebench(self, text: str) -> GoldInstance | None:
        seen: dict[str, GoldInstance] = {}
        for line in text.split("\n"):
            for inst in self._by_first_line.get(line.strip(), ()):
                seen[inst.instance_id] = inst
        candidates = list(seen.values()) or self._swebench
        matches = [inst for inst in candidates if inst.problem_statement[:KEY_CHARS] in text]
        if not matches:
            return None
        whole = [inst for inst in matches if inst.problem_statement in text] or matches
        return max(whole, key=lambda inst: len(inst.problem_statement))

    def _find_editbench(self, text: str) -> GoldInstance | None:
        if not self._editbench_keys:
            return None
        hits: dict[str, int] = defaultdict(int)
        by_id: dict[str, GoldInstance] = {}
        for line in _editbench_lines(text):
            for inst in self._editbench_by_line.get(line, ()):
                hits[inst.instance_id] += 1
                by_id[inst.instance_id] = inst
        scored = [(count / len(self._editbench_keys[iid]), iid) for iid, count in hits.items()]
        best = max(scored, default=(0.0, ""))
        return by_id[best[1]] if best[0] >= EDITBENCH_MATCH_FRACTION else None
