"""Benchmark of Agentless response processing: pure-Python diffs vs the original's git subprocess per sample.

Part 1 (throughput): N answers with SEARCH/REPLACE edits are generated from real files (the sympy,
_pytest, flask and requests sources installed in this environment). Each answer is processed twice in
the same run: by patchline (:func:`patch_sample`: parse, apply in ranges, render, checks), and by a
baseline that does the same parsing, applying and checks but renders the diff as the original
Agentless does - a scratch folder, ``git init``, write, ``git add``, ``git commit``, write the new
content, ``git diff .``, remove the folder - for every sample. Both renderings are compared (the
original's ``git diff`` output against patchline's compat rendering, byte for byte, and their hunks),
and the ratio of throughputs is printed, for the diff step alone and for the whole per-sample step.

Part 2 (memory): a response file of M lines (default 100,000) for generated instances is processed by
``patchline agentless repair --process_batch`` in a child process; its peak RSS (``ru_maxrss``) is
printed.

    .venv/bin/python bench/patches.py            # N=2000, M=100000
    .venv/bin/python bench/patches.py --quick    # smoke test: N=40, M=2000
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from patchline.core.batch import ResponseLine
from patchline.core.repos import file_entry, python_definitions
from patchline.edits import apply_in_ranges, is_meaningful_change, parse_search_replace, parses_ok, render_file_diff
from patchline.workflows.agentless.context import FileSegment, InstanceContext
from patchline.workflows.agentless.responses import SampleAnswer
from patchline.workflows.agentless.sample import patch_sample

PACKAGES = ("sympy", "_pytest", "flask", "requests")
_FULL_INDEX = re.compile(r"^index ([0-9a-f]{40})\.\.([0-9a-f]{40})", re.MULTILINE)


@dataclass(frozen=True)
class Case:
    """One generated answer for one real file."""

    path: str
    content: str
    answer: str


def _package_files(max_lines: int) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        root = Path(spec.origin).parent
        for path in sorted(root.rglob("*.py")):
            text = path.read_text(encoding="utf-8", errors="replace")
            if 20 < text.count("\n") <= max_lines and "\r" not in text:
                found.append((f"{package}/{path.relative_to(root).as_posix()}", text))
    return found


def _edit_for(path: str, text: str, rng: random.Random, number: int) -> str | None:
    """A SEARCH/REPLACE answer that adds a comment line inside a random definition of the file."""
    try:
        definitions = [d for d in python_definitions(text) if d.end_line - d.start_line >= 2]
    except Exception:  # an unparsable file is not a benchmark case
        return None
    if not definitions:
        return None
    definition = rng.choice(definitions)
    lines = text.split("\n")
    search = lines[definition.start_line - 1 : definition.start_line + 2]
    if text.count("\n".join(search)) != 1:
        return None
    body_line = lines[definition.start_line]
    indent = body_line[: len(body_line) - len(body_line.lstrip())] or "    "
    replace = [search[0], f"{indent}# edited by benchmark case {number}", *search[1:]]
    block = "\n".join([f"### {path}", "<<<<<<< SEARCH", *search, "=======", *replace, ">>>>>>> REPLACE"])
    return f"Here is the fix.\n\n```python\n{block}\n```\n"


def make_cases(count: int, *, seed: int = 7, max_lines: int = 1500) -> list[Case]:
    """``count`` answers spread over the installed real files."""
    rng = random.Random(seed)
    files = _package_files(max_lines)
    rng.shuffle(files)
    cases: list[Case] = []
    for number in range(count * 3):
        if len(cases) == count:
            break
        path, text = files[number % len(files)]
        answer = _edit_for(path, text, rng, number)
        if answer is not None:
            cases.append(Case(path, text, answer))
    return cases


def _context(case: Case) -> InstanceContext:
    return InstanceContext(files=[FileSegment(case.path, case.content, ((1, case.content.count("\n")),))])


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@patchline.invalid",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@patchline.invalid",
    )
    return env


def git_subprocess_diff(playground: Path, path: str, old: str, new: str, env: dict[str, str]) -> str:
    """The original's ``fake_git_repo``: a fresh repository per sample, committed, edited, diffed, removed."""
    repo = Path(tempfile.mkdtemp(dir=playground))
    try:
        subprocess.run(["git", "init", "-q"], cwd=repo, env=env, check=True, capture_output=True)
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(old, encoding="utf-8")
        subprocess.run(["git", "add", path], cwd=repo, env=env, check=True, capture_output=True)
        subprocess.run(
            ["git", "commit", "-q", "-m", "initial commit"], cwd=repo, env=env, check=True, capture_output=True
        )
        target.write_text(new, encoding="utf-8")
        done = subprocess.run(["git", "diff", "."], cwd=repo, env=env, check=True, capture_output=True)
        return done.stdout.decode("utf-8").replace("\\ No newline at end of file\n", "")
    finally:
        shutil.rmtree(repo, ignore_errors=True)


def _baseline_sample(case: Case, playground: Path, env: dict[str, str]) -> tuple[str, str, str, float]:
    """Same parse/apply/checks as patchline, diff rendered by git; returns (old, new, git diff, git seconds)."""
    parsed = parse_search_replace(case.answer, known_paths=[case.path])
    result = apply_in_ranges(case.content, parsed.edits, [(1, case.content.count("\n"))])
    started = time.perf_counter()
    diff = git_subprocess_diff(playground, case.path, case.content, result.new_content, env)
    git_seconds = time.perf_counter() - started
    parses_ok(case.path, result.new_content)
    is_meaningful_change(case.content, result.new_content)
    return case.content, result.new_content, diff, git_seconds


def _hunks(diff: str) -> str:
    return diff[diff.find("\n@@") + 1 :] if "\n@@" in diff else ""


def throughput(count: int) -> dict[str, float]:
    """Part 1: process ``count`` answers both ways; check identical output; return the figures."""
    cases = make_cases(count)
    started = time.perf_counter()
    ours = [patch_sample(SampleAnswer(1, case.answer, "", {}, ""), _context(case)) for case in cases]
    ours_seconds = time.perf_counter() - started
    env = _git_env()
    with tempfile.TemporaryDirectory(prefix="bench-playground-") as folder:
        started = time.perf_counter()
        baseline = [_baseline_sample(case, Path(folder), env) for case in cases]
        base_seconds = time.perf_counter() - started
    started = time.perf_counter()
    rendered = [render_file_diff(case.path, old, new) for case, (old, new, _, _) in zip(cases, baseline, strict=True)]
    render_seconds = time.perf_counter() - started
    git_render_seconds = sum(item[3] for item in baseline)
    identical_bytes = sum(
        _FULL_INDEX.sub(
            lambda m: f"index {m.group(1)[:7]}..{m.group(2)[:7]}",
            render_file_diff(case.path, old, new, with_index=True, section_headings=True),
        )
        == diff
        for case, (old, new, diff, _) in zip(cases, baseline, strict=True)
    )
    identical_hunks = sum(
        _hunks(mine.model_patch) == _hunks(render_file_diff(case.path, old, new, section_headings=False))
        and _hunks(render_file_diff(case.path, old, new, section_headings=True)) == _hunks(diff)
        for case, mine, (old, new, diff, _) in zip(cases, ours, baseline, strict=True)
    )
    assert all(r.status == "ok" for r in ours), "every generated answer must give a patch"
    assert rendered == [r.model_patch for r in ours]
    return {
        "samples": len(cases),
        "patchline_seconds": ours_seconds,
        "baseline_seconds": base_seconds,
        "ratio_processing": base_seconds / ours_seconds,
        "render_python_seconds": render_seconds,
        "render_git_seconds": git_render_seconds,
        "ratio_render": git_render_seconds / render_seconds,
        "identical_git_output": identical_bytes,
        "identical_hunks": identical_hunks,
    }


def _write_memory_inputs(root: Path, lines: int, samples: int) -> tuple[Path, Path, Path, Path]:
    """Instances over real files, with structure JSONs, a loc file, a dataset and ``lines`` responses."""
    cases = make_cases(64, seed=11, max_lines=200)
    documents = [json.dumps({"structure": _nested(case.path, file_entry(case.path, case.content))}) for case in cases]
    instances = lines // samples
    structures, dataset, loc, responses = (
        root / "structures",
        root / "dataset.jsonl",
        root / "loc.jsonl",
        root / "r.jsonl",
    )
    structures.mkdir()
    with dataset.open("w") as data, loc.open("w") as locs:
        for number in range(instances):
            case = cases[number % len(cases)]
            iid = f"bench__case-{number}"
            one = {"repo": "bench/case", "base_commit": "0" * 40, "instance_id": iid}
            (structures / f"{iid}.json").write_text(documents[number % len(cases)])
            row = {**one, "problem_statement": f"benchmark issue {number}", "patch": "", "test_patch": ""}
            data.write(json.dumps(row) + "\n")
            locs.write(json.dumps({"instance_id": iid, "found_files": [case.path], "found_edit_locs": {}}) + "\n")
    with responses.open("w") as out:
        for sample in range(samples):  # completion order: all instances' sample k, then k+1
            for number in range(instances):
                case = cases[number % len(cases)]
                answer = case.answer.replace("# edited by benchmark case", f"# sample {sample} of case")  # all differ
                body = {"choices": [{"message": {"role": "assistant", "content": answer}}]}
                out.write(ResponseLine.success(f"bench__case-{number}|{sample}", body).model_dump_json() + "\n")
    return structures, dataset, loc, responses


def _nested(path: str, entry: dict[str, object]) -> dict[str, object]:
    node: dict[str, object] = entry
    for part in reversed(path.split("/")):
        node = {part: node}
    return node


def _tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and its children (from /proc), in KiB; 0 when it is gone."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for each in pids:
        status = Path(f"/proc/{each}/status")
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def peak_memory(lines: int, samples: int, workers: int) -> dict[str, float]:
    """Part 2: peak RSS of ``--process_batch`` on a ``lines``-line response file, in a child process."""
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        root = Path(folder)
        structures, dataset, loc, responses = _write_memory_inputs(root, lines, samples)
        command = [
            sys.executable, "-m", "patchline", "agentless", "repair", "--loc_file", str(loc),
            "--output_folder", str(root / "out"), "--top_n=none", "--max_samples", str(samples), "--cot",
            "--diff_format", "--dataset", str(dataset), "--num_threads", str(workers),
            "--selection", "first-nonempty",  # the answers differ by a comment only: no normal form to vote on
            "--process_batch", "--batch_output", str(responses),
        ]  # fmt: skip
        env = {**os.environ, "PROJECT_FILE_LOC": str(structures)}
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tree_peak_kib = 0
        while process.poll() is None:
            tree_peak_kib = max(tree_peak_kib, _tree_rss_kib(process.pid))
            time.sleep(0.2)
        if process.returncode != 0:
            raise RuntimeError(f"--process_batch failed with exit code {process.returncode}")
        seconds = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        patches = sum(1 for line in (root / "out" / "predictions.jsonl").open() if '"model_patch":"diff' in line)
        return {
            "response_lines": lines,
            "response_file_mb": responses.stat().st_size / 1e6 if responses.exists() else 0.0,
            "seconds": seconds,
            "peak_rss_mb": peak_kib / 1024,
            "peak_tree_rss_mb": tree_peak_kib / 1024,
            "instances_with_patch": patches,
        }


def main() -> int:
    """Run both parts and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--samples", type=int, default=None, help="answers for the throughput part (2000)")
    parser.add_argument("--lines", type=int, default=None, help="response lines for the memory part (100000)")
    parser.add_argument("--workers", type=int, default=2, help="--num_threads of the memory part (default 2)")
    args = parser.parse_args()
    count = args.samples or (40 if args.quick else 2000)
    lines = args.lines or (2000 if args.quick else 100_000)
    figures = throughput(count)
    print(f"throughput: {figures['samples']} samples from real files")
    for label, key in (("patchline", "patchline_seconds"), ("git baseline", "baseline_seconds")):
        print(f"  {label:<13}{figures[key]:.2f} s  ({figures['samples'] / figures[key]:.1f} samples/s)")
    print(f"  ratio (whole per-sample processing): {figures['ratio_processing']:.1f}x")
    print(f"  ratio (diff rendering alone): {figures['ratio_render']:.1f}x "
          f"({figures['render_python_seconds']:.3f} s vs {figures['render_git_seconds']:.2f} s)")  # fmt: skip
    print(f"  identical to git diff output: {figures['identical_git_output']}/{figures['samples']}; "
          f"identical hunks: {figures['identical_hunks']}/{figures['samples']}")  # fmt: skip
    memory = peak_memory(lines, samples=50 if not args.quick else 10, workers=args.workers)
    print(f"memory: --process_batch on {memory['response_lines']} response lines ({memory['response_file_mb']:.0f} MB)")
    print(f"  peak RSS {memory['peak_rss_mb']:.0f} MB (largest process), {memory['peak_tree_rss_mb']:.0f} MB "
          f"(main + {args.workers} workers, sampled) in {memory['seconds']:.1f} s; "
          f"instances with a patch: {memory['instances_with_patch']}")  # fmt: skip
    ok = figures["identical_hunks"] == figures["samples"] == figures["identical_git_output"]
    ok = ok and memory["instances_with_patch"] == memory["response_lines"] // (10 if args.quick else 50)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
