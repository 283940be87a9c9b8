"""Benchmark of rollout stage 1: step-1 prompts for all 300 SWE-bench Lite instances from structure JSON files.

Setup: one realistic Agentless structure JSON per Lite instance, generated with
:func:`patchline.core.repos.build_structure` from a package installed here that stands in for the
instance's repository (sympy for sympy, pandas for django, scipy for matplotlib and scikit-learn, ...;
sizes from 0.3 MB to 70 MB). The structure of each stand-in is generated once and linked under every
instance of that repository (``{instance_id}.json``): every instance still has its own file to open,
read and parse, as with real per-commit structures (neither side below shares parsed data across
instances, so identical bytes give neither an advantage).

Measured in the same run, writing the same request file:

* baseline - what the original ``gen_step1`` does: per instance, ``json.load`` of its structure file
  behind an ``lru_cache(maxsize=50)`` keyed by instance id (which never hits: one file per instance),
  render the tree from the parsed dict, fill the template, write the request line;
* patchline - ``patchline rollout bugfixer gen_step1`` (:func:`run_step1`): lazy msgspec decoding of
  the folder nesting only, in the bounded process pool with 1 and with 2 workers.

The prompts of both sides are checked to be identical; the ratio of wall times is printed (goal >= 5x).

    .venv/bin/python bench/rollout.py            # all 300 Lite instances
    .venv/bin/python bench/rollout.py --quick    # smoke test: 24 instances, small stand-ins
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from patchline.core.repos import DirSnapshot, build_structure
from patchline.core.spec import RolloutStage
from patchline.workflows.rollout import run_stage
from patchline.workflows.rollout.config import build_request
from patchline.workflows.rollout.step1 import step1_prompt
from patchline.workflows.rollout.tree import render_structure_tree
from patchline.workflows.templates import load_template

LITE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "swebench_lite" / "swe_bench_lite_test.jsonl"

STAND_INS = {
    "django/django": "pandas",
    "sympy/sympy": "sympy",
    "matplotlib/matplotlib": "scipy",
    "scikit-learn/scikit-learn": "scipy",
    "pytest-dev/pytest": "_pytest",
    "sphinx-doc/sphinx": "moto",
    "astropy/astropy": "numpy",
    "pylint-dev/pylint": "pydantic",
    "psf/requests": "requests",
    "pydata/xarray": "datasets",
    "mwaskom/seaborn": "rich",
    "pallets/flask": "flask",
}
QUICK_STAND_INS = ("requests", "flask", "rich", "_pytest")


def _structure_bytes(package: str) -> bytes:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"bench needs the installed package {package!r}")
    folder = Path(next(iter(spec.submodule_search_locations)))
    document = build_structure(DirSnapshot(folder), repo=package)
    document["structure"] = {package: document["structure"]}  # the package folder at the top, as in a repository
    return json.dumps(document).encode()


def _generate(instances: list[dict[str, Any]], stand_ins: dict[str, str], folder: Path, workers: int) -> None:
    packages = sorted(set(stand_ins.values()))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        data = dict(zip(packages, pool.map(_structure_bytes, packages), strict=True))
    for package, payload in data.items():
        (folder / f"_{package}.json").write_bytes(payload)
        print(f"  structure of {package}: {len(payload) / 1e6:.1f} MB")
    for instance in instances:
        os.link(folder / f"_{stand_ins[instance['repo']]}.json", folder / f"{instance['instance_id']}.json")


def _baseline(dataset: Path, structures: Path, out: Path, config: RolloutStage, cache_size: int) -> None:
    """The original's loop: json.load per instance behind lru_cache(cache_size), render, write."""

    @functools.lru_cache(maxsize=cache_size)
    def get_repo_structure(instance_id: str, repostructure_dir: str) -> dict[str, Any] | None:
        path = os.path.join(repostructure_dir, f"{instance_id}.json")
        if not os.path.exists(path):
            return None
        with open(path) as handle:
            return json.load(handle)["structure"]  # type: ignore[no-any-return]

    template = load_template("patchline.workflows.rollout", "bugfixer_step1.txt")
    with open(dataset) as lines, open(out, "w") as handle:
        for line in lines:
            instance = json.loads(line)
            structure = get_repo_structure(instance["instance_id"], str(structures))
            if structure is None:
                continue
            tree = render_structure_tree(structure, show_tests=False)
            prompt = step1_prompt(template, instance["problem_statement"], tree)
            request = build_request(
                instance["instance_id"], prompt, temperature=config.sampling.temperature, settings=config
            )
            handle.write(request.model_dump_json() + "\n")


def _timed(label: str, fn: Any, *args: Any) -> float:
    start = time.perf_counter()
    fn(*args)
    seconds = time.perf_counter() - start
    print(f"  {label}: {seconds:.2f} s")
    return seconds


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="24 instances with small stand-in packages")
    parser.add_argument("--lite", type=Path, default=LITE, help="SWE-bench Lite test split (JSONL)")
    parser.add_argument(
        "--baseline-cache",
        type=int,
        default=4,
        help="the baseline's lru_cache size (the original uses 50, which keeps up to 50 parsed structures: over "
        "8 GB with the large stand-ins; it never hits, one file per instance, so the size changes memory, not "
        "speed; default 4)",
    )
    args = parser.parse_args(argv)
    instances = [json.loads(line) for line in args.lite.read_text().splitlines() if line.strip()]
    stand_ins = dict(STAND_INS)
    if args.quick:
        stand_ins = {repo: QUICK_STAND_INS[i % len(QUICK_STAND_INS)] for i, repo in enumerate(sorted(STAND_INS))}
        instances = instances[::12][:24]
    with tempfile.TemporaryDirectory(prefix="bench-rollout-") as tmp:
        root = Path(tmp)
        structures = root / "structures"
        structures.mkdir()
        dataset = root / "lite.jsonl"
        dataset.write_text("".join(json.dumps(i) + "\n" for i in instances))
        print(f"generating structure JSON for {len(instances)} instances ...")
        _generate(instances, stand_ins, structures, workers=2)
        base = RolloutStage.model_validate(
            {
                "workflow": {"type": "bugfixer"},
                "dataset": {"source": str(dataset)},
                "repositories": {"structure_dir": str(structures)},
                "model": "m",
            }
        )
        print("stage 1 (step-1 prompts and request file):")
        baseline = _timed(
            f"baseline (json.load per instance, lru_cache {args.baseline_cache})",
            _baseline,
            dataset,
            structures,
            root / "base.jsonl",
            base,
            args.baseline_cache,
        )
        ours: dict[int, float] = {}
        for workers in (1, 2):
            workflow = base.workflow.model_copy(update={"num_workers": workers})
            config = base.model_copy(update={"workflow": workflow, "output_file": str(root / f"ours{workers}.jsonl")})
            ours[workers] = _timed(f"patchline, {workers} worker(s)", run_stage, config, "gen_step1")
        expected = (root / "base.jsonl").read_text().splitlines()
        for workers in ours:
            got = (root / f"ours{workers}.jsonl").read_text().splitlines()
            if got != expected:
                print(f"MISMATCH: patchline ({workers} workers) wrote different requests than the baseline")
                return 1
        print(f"identical request files: {len(expected)} requests")
        for workers, seconds in ours.items():
            print(f"ratio baseline/patchline ({workers} worker(s)): {baseline / seconds:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
