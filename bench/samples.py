"""Benchmark of the sample dimension: what the table, the validity checks and selection add to ``--process_batch``.

A generated set of 300 instances x 11 samples is built from real files (the sympy, _pytest, flask and requests
sources installed here, 50 to 3,000 lines each, one file per instance, shown whole): each instance's answers
are SEARCH/REPLACE edits of its file drawn the way real samples come, a fix (some written with an extra
comment, which normalises to the same form), another change, a change with a syntax error, and answers
without edits. The same response file is processed twice in the same run, in this process (one worker):

- baseline: ``--process_batch`` with the sample steps left out (rows without verdicts or normal form, no
  sample table, selection records or per-sample files; ``predictions.jsonl`` from the first non-empty sample;
  each sample's edited files parsed on their own), which is what it did before samples were a dimension;
- patchline: ``--process_batch`` as it is (every sample checked with git's verdict and the syntax check,
  normalised as SPEC §6b says, the table, ``selection.jsonl`` by ``agentless-majority``, per-sample files).

Each is timed twice, alternating; the best of each is compared. The majority's choice is checked against the
plan (the fix wins for every instance that has one).

    .venv/bin/python bench/samples.py            # 300 instances x 11 samples
    .venv/bin/python bench/samples.py --quick    # smoke test: 20 x 11
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import runpy
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from patchline.core.batch import ResponseLine
from patchline.core.custom_id import encode_sample_id
from patchline.core.layout import PREDICTIONS
from patchline.core.predictions import Prediction
from patchline.core.repos import DirSnapshot, build_structure
from patchline.core.samples import SampleRecord
from patchline.core.spec import AgentlessStage
from patchline.core.store import ArtifactStore
from patchline.edits import parses_ok, render_patch, search_replace_from_diff
from patchline.samples.outputs import SelectionCounts
from patchline.workflows.agentless import instance as instance_module
from patchline.workflows.agentless import process as process_module
from patchline.workflows.agentless import process_responses

_PATCHES = runpy.run_path(str(Path(__file__).with_name("patches.py")))  # its real-file finder, shared
SAMPLES = 11
# How the 11 samples of an instance answer (shuffled per instance): the fix wins with 4 or 5 votes.
PLAN = ("fix", "fix", "fix_commented", "fix", "other", "other", "broken", "broken", "none", "none", "fix_commented")


def _real_files(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """``count`` real Python files of 50 to 3,000 lines with a place to edit, as (repository path, text)."""
    found = [(p, t) for p, t in _PATCHES["_package_files"](3000) if t.count("\n") >= 50 and len(_edit_points(t)) >= 2]
    rng.shuffle(found)
    return found[:count]


def _edit_points(text: str) -> list[int]:
    """Lines of one-line ``def`` signatures followed by an indented line: where a statement can go."""
    lines = text.split("\n")
    points = []
    for i, line in enumerate(lines[:-1]):
        stripped = line.lstrip()
        if stripped.startswith("def ") and line.rstrip().endswith(":") and lines[i + 1].startswith(" "):
            points.append(i)
    return points


def _insert(text: str, at: int, statement: str) -> str:
    lines = text.split("\n")
    indent = lines[at + 1][: len(lines[at + 1]) - len(lines[at + 1].lstrip())]
    return "\n".join([*lines[: at + 1], indent + statement, *lines[at + 1 :]])


def _answers(path: str, text: str, rng: random.Random) -> dict[str, str]:
    first, second = rng.sample(_edit_points(text), 2)
    versions = {
        "fix": _insert(text, first, "_patchline_checked = True"),
        "fix_commented": _insert(text, first, "_patchline_checked = True  # the fix"),
        "other": _insert(text, second, "_patchline_other = None"),
        "broken": _insert(text, first, "_patchline_checked = (True"),
    }
    answers = {
        kind: "The fix:\n\n" + search_replace_from_diff(render_patch({path: (text, new)}))
        for kind, new in versions.items()
    }
    return {**answers, "none": "I could not find the cause."}


def _write_instance(number: int, path: str, text: str, rng: random.Random, out: dict[str, IO[str]]) -> list[str]:
    """One instance's dataset row, loc record and 11 answers; returns its plan (what each sample answers)."""
    iid = f"bench__samples-{number}"
    row = {"repo": "bench/samples", "base_commit": "0" * 40, "instance_id": iid, "patch": "", "test_patch": ""}
    out["dataset"].write(json.dumps({**row, "problem_statement": f"issue {number} in {path}"}) + "\n")
    out["loc"].write(json.dumps({"instance_id": iid, "found_files": [path], "found_edit_locs": {}}) + "\n")
    answers, plan = _answers(path, text, rng), list(PLAN)
    rng.shuffle(plan)
    usage = {"prompt_tokens": len(text) // 4, "completion_tokens": 60}
    for sample, kind in enumerate(plan):
        body = {"choices": [{"message": {"role": "assistant", "content": answers[kind]}}], "usage": usage}
        out["responses"].write(ResponseLine.success(encode_sample_id(iid, sample), body).model_dump_json() + "\n")
    return plan


def build_set(root: Path, instances: int, *, seed: int = 17) -> tuple[AgentlessStage, Path, dict[str, list[str]]]:
    """Files, structure, dataset, loc file and responses of the generated set; the plan of each instance."""
    rng = random.Random(seed)
    files = _real_files(rng, instances)
    repo = root / "repo"
    for path, text in files:
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text, encoding="utf-8")
    document = json.dumps(build_structure(DirSnapshot(repo)))
    structures = root / "structures"
    structures.mkdir()
    plans: dict[str, list[str]] = {}
    with contextlib.ExitStack() as stack:
        out = {
            name: stack.enter_context((root / f"{name}.jsonl").open("w")) for name in ("dataset", "loc", "responses")
        }
        for number, (path, text) in enumerate(files):
            (structures / f"bench__samples-{number}.json").write_text(document)
            plans[f"bench__samples-{number}"] = _write_instance(number, path, text, rng, out)
    settings = AgentlessStage.model_validate(
        {
            "workflow": {"loc_file": str(root / "loc.jsonl"), "top_n": 0, "cot": True},
            "dataset": {"source": str(root / "dataset.jsonl")},
            "repositories": {"structure_dir": str(structures)},
            "sampling": {"samples": SAMPLES},
            "model": "bench",
        }
    )
    return settings, root / "responses.jsonl", plans


def _bare_row(**fields: Any) -> SampleRecord:
    """A row without verdicts or normal form (the baseline's)."""
    keep = ("instance_id", "sample", "custom_id", "status", "model_patch")
    return SampleRecord(**{key: fields[key] for key in keep})


class _PredictionsOnly:
    """The baseline's outputs: ``predictions.jsonl`` from the first non-empty sample, nothing else."""

    def __init__(self, store: ArtifactStore, *_: Any, **__: Any) -> None:
        self._store = store
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> _PredictionsOnly:
        self._out = self._stack.enter_context(self._store.atomic_writer(PREDICTIONS))
        return self

    def write(self, instance_id: str, samples: Sequence[SampleRecord]) -> None:
        patch = next((s.model_patch for s in sorted(samples, key=lambda s: s.sample) if s.model_patch), "")
        self._out.write(
            (
                Prediction(instance_id=instance_id, model_name_or_path="agentless", model_patch=patch).model_dump_json()
                + "\n"
            ).encode()
        )

    def finish(self, *, carry_over: bool) -> SelectionCounts:
        return SelectionCounts()

    def __exit__(self, *exc: object) -> None:
        self._stack.__exit__(*exc)  # type: ignore[arg-type]


class _OwnParses:
    """The baseline's syntax check: every sample parses its edited files itself (``parses_ok``), nothing shared."""

    parses = staticmethod(parses_ok)


@contextlib.contextmanager
def baseline() -> Iterator[None]:
    """``--process_batch`` with the sample steps replaced by what it did before them."""
    saved = instance_module.sample_record, instance_module.Normalizer, process_module.SampleOutputs
    instance_module.sample_record = _bare_row  # type: ignore[assignment]
    instance_module.Normalizer = _OwnParses  # type: ignore[assignment,misc]
    process_module.SampleOutputs = _PredictionsOnly  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        instance_module.sample_record, instance_module.Normalizer, process_module.SampleOutputs = saved


def _time(settings: AgentlessStage, out: Path, responses: Path) -> float:
    started = time.perf_counter()
    process_responses(settings, str(out), str(responses))
    return time.perf_counter() - started


def _majority_followed_the_plan(out: Path, plans: dict[str, list[str]]) -> int:
    """Instances whose prediction is the first sample of the winning fix (a 'fix' or 'fix_commented' answer)."""
    chosen = {
        json.loads(line)["instance_id"]: json.loads(line)["chosen_sample"] for line in (out / "selection.jsonl").open()
    }
    return sum(
        1 for iid, plan in plans.items() if chosen.get(iid) == min(i for i, k in enumerate(plan) if k.startswith("fix"))
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Build the set, time both ways, print the figures; exit 1 when the checks fail."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20 instances, for a smoke test")
    parser.add_argument("--instances", type=int, default=None, help="instances (default 300)")
    args = parser.parse_args(argv)
    instances = args.instances or (20 if args.quick else 300)
    with tempfile.TemporaryDirectory(prefix="bench-samples-") as folder:
        root = Path(folder)
        settings, responses, plans = build_set(root, instances)
        base_times, full_times = [], []
        for _ in range(2):
            with baseline():
                base_times.append(_time(settings, root / "base", responses))
            full_times.append(_time(settings, root / "full", responses))
        rows = sum(1 for _ in (root / "full" / "samples.jsonl").open())
        followed = _majority_followed_the_plan(root / "full", plans)
        valid = sum(1 for line in (root / "full" / "samples.jsonl").open() if '"valid":true' in line)
    base, full = min(base_times), min(full_times)
    runs = {name: ", ".join(f"{t:.2f}" for t in times) for name, times in (("base", base_times), ("full", full_times))}
    print(f"samples: {len(plans)} instances x {SAMPLES} samples from real files ({rows} table rows, {valid} valid)")
    print(f"  baseline --process_batch (no sample steps): {base:.2f} s  (runs: {runs['base']})")
    print(
        f"  patchline --process_batch (table, validity, normal forms, selection): {full:.2f} s  (runs: {runs['full']})"
    )
    print(f"  overhead: {100 * (full / base - 1):+.1f}% (ratio {full / base:.3f})")
    print(f"  majority chose the fix's first sample for {followed}/{len(plans)} instances")
    return 0 if rows == len(plans) * SAMPLES and followed == len(plans) else 1


if __name__ == "__main__":
    sys.exit(main())
