"""``python -m patchline.demo`` (``make demo``, ``make demo-real``): run the demo and say where everything is."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from patchline.cli.logs import configure_logging
from patchline.cli.progress import cli_progress
from patchline.demo.real import run_real_demo
from patchline.demo.run import run_demo


def main(argv: list[str] | None = None) -> int:
    """Run the demo; exit non-zero unless every predicted patch applies (with --real-model: unless it ran)."""
    parser = argparse.ArgumentParser(prog="python -m patchline.demo", description=__doc__)
    parser.add_argument("--workdir", default=None, help="where the demo writes (default results/demo[-real])")
    parser.add_argument("--cache", default=".cache/releases", help="where downloaded releases are kept")
    parser.add_argument(
        "--real-model", action="store_true", help="Agentless with SmolLM2-135M on llama.cpp instead of the oracle"
    )
    args = parser.parse_args(argv)
    configure_logging(verbosity=1)
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
