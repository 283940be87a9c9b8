"""``python -m patchline.demo`` (``make demo``, ``make demo-real``): run the demo and say where everything is.

``python -m patchline.demo prepare`` writes the local data of the demo and of the examples (``results/demo``);
``python -m patchline.demo example NAME`` (``make example NAME=...``) prepares it and runs ``k8s/examples/NAME.yaml``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from patchline.cli.logs import configure_logging
from patchline.cli.progress import cli_progress
from patchline.core.errors import InputError
from patchline.demo.examples import EXAMPLES_DIR, example_command, example_names, example_summary
from patchline.demo.prepare import DEMO_DATA, RELEASE_CACHE, DemoData, prepare_data
from patchline.demo.real import run_real_demo
from patchline.demo.run import run_demo


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m patchline.demo", description=__doc__)
    parser.add_argument("--workdir", default=None, help="where the demo writes (default results/demo[-real])")
    parser.add_argument("--cache", default=RELEASE_CACHE, help=f"where downloaded releases are kept ({RELEASE_CACHE})")
    parser.add_argument(
        "--real-model", action="store_true", help="Agentless with SmolLM2-135M on llama.cpp instead of the oracle"
    )
    commands = parser.add_subparsers(dest="command", metavar="{prepare,example}")
    commands.add_parser("prepare", help=f"write the local data of the demo and the examples ({DEMO_DATA})")
    example = commands.add_parser("example", help=f"prepare the data, then run {EXAMPLES_DIR}/NAME.yaml")
    example.add_argument("name", nargs="?", metavar="NAME", help="the example (none: list them)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the demo; exit non-zero unless every predicted patch applies (with --real-model: unless it ran)."""
    args = _parser().parse_args(argv)
    configure_logging(verbosity=1)
    if args.command == "prepare":
        _prepare(Path(args.cache))
        return 0
    if args.command == "example":
        return _example(args.name, Path(args.cache))
    if args.real_model:
        return _real(Path(args.workdir or "results/demo-real").resolve(), Path(args.cache).resolve())
    args.workdir = args.workdir or "results/demo"
    with cli_progress() as progress:
        result = run_demo(Path(args.workdir).resolve(), cache=Path(args.cache).resolve(), progress=progress)
    print(f"\nRollout run root:  {result.run_uri}")
    print(f"predictions:       {result.predictions}")
    print(f"patches per pass:  {result.run_uri}/output_0_processed.jsonl, samples in {result.run_uri}/samples/")
    print("\ninstance                   patch lines  check")
    for check in result.checks:
        print(f"{check.instance_id:<26} {check.patch_lines:>11}  {check.detail}")
    applied = sum(c.applies for c in result.checks)
    same = sum(c.same_as_gold for c in result.checks)
    print(
        f"\n{applied}/{len(result.checks)} predicted patches apply to the released code bases;"
        f" {same} give the same files as the gold patch"
    )
    return 0 if result.checks and applied == len(result.checks) else 1


def _prepare(cache: Path) -> DemoData:
    with cli_progress() as progress:
        prepared = prepare_data(Path(DEMO_DATA), cache=cache, progress=progress)
    print(f"demo and example data: {prepared.paths.root}/", flush=True)
    return prepared.paths


def _example(name: str | None, cache: Path) -> int:
    from patchline.cli.app import main as patchline  # the `patchline` command: the documented one runs

    if name is None:
        for known in example_names():
            print(f"make example NAME={known:<28} {example_summary(Path(EXAMPLES_DIR) / f'{known}.yaml')}")
        return 0
    try:
        command = example_command(name, DemoData(Path(DEMO_DATA)))  # an unknown name fails before any work
    except InputError as exc:
        print(f"patchline: error: {exc}", file=sys.stderr)
        return 2
    _prepare(cache)
    print("$ " + " ".join(command), flush=True)
    return patchline(command[1:])


def _real(workdir: Path, cache: Path) -> int:
    with cli_progress() as progress:
        result = run_real_demo(workdir, cache=cache, progress=progress)
    print(f"\nRollout run root:  {result.run_uri}")
    print(f"predictions:       {result.predictions}")
    print("\ninstance                   sample  status        patch lines  why / check")
    for row in result.rows:
        print(f"{row.instance_id:<26} {row.sample:>6}  {row.status:<13} {row.patch_lines:>11}  {row.detail}")
    patched = sum(1 for row in result.rows if row.patch_lines)
    print(f"\n{patched}/{len(result.rows)} samples have a patch (SmolLM2-135M is a 135 M model: few are expected)")
    return 0 if result.rows else 1


if __name__ == "__main__":
    sys.exit(main())
