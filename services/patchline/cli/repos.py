"""``patchline repos``: list a repository snapshot's files and write Agentless structure JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from patchline.cli.progress import cli_progress
from patchline.core.datasets import iter_swebench
from patchline.core.errors import InputError
from patchline.core.repos import open_snapshot
from patchline.core.settings import project_file_loc_from_env
from patchline.core.structure import top_folder_name
from patchline.core.structure_batch import write_instance_structures, write_structure

__all__ = ["register"]


def _ls(args: argparse.Namespace) -> int:
    """Print every file of the snapshot, one per line."""
    snapshot = open_snapshot(args.repo, args.commit)
    try:
        sys.stdout.write("".join(f"{path}\n" for path in snapshot.list_files()))
    finally:
        snapshot.close()
    return 0


def _structure_one(args: argparse.Namespace) -> int:
    """Write the structure JSON of one repository state."""
    if not args.out:
        raise InputError("give --out FILE.json (or --instances DATASET for a whole dataset)")
    snapshot = open_snapshot(args.repo, args.commit)
    top = args.top_folder or top_folder_name(None, fallback=Path(args.repo).resolve().name.removesuffix(".git"))
    try:
        with cli_progress() as progress:
            count = write_structure(
                snapshot, args.out, instance_id=args.instance_id, root_folder=top, progress=progress
            )
    finally:
        snapshot.close()
    print(f"wrote {args.out}: {count} files")
    return 0


def _structure_dataset(args: argparse.Namespace) -> int:
    """Write ``{PROJECT_FILE_LOC}/{instance_id}.json`` for every instance of a dataset."""
    project_file_loc = args.project_file_loc or project_file_loc_from_env()
    if not project_file_loc or not args.repo_root:
        raise InputError("--instances needs --repo-root and --project-file-loc (or PROJECT_FILE_LOC)")
    instances = iter_swebench(args.instances, split=args.split)
    with cli_progress() as progress:
        summary = write_instance_structures(
            instances, repo_root=args.repo_root, project_file_loc=project_file_loc, progress=progress
        )
    print(f"structures: {summary.written} written, {summary.skipped} already there, {len(summary.failed)} failed")
    for instance_id, reason in summary.failed:
        print(f"  failed {instance_id}: {reason}", file=sys.stderr)
    return 1 if summary.failed else 0


def _structure(args: argparse.Namespace) -> int:
    if args.instances:
        return _structure_dataset(args)
    if not args.repo:
        raise InputError("give --repo PATH (or --instances DATASET with --repo-root)")
    return _structure_one(args)


def register(parser: argparse.ArgumentParser) -> None:
    """Add ``structure`` and ``ls`` below ``patchline repos``."""
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    structure = commands.add_parser("structure", help="write Agentless structure JSON (one repo or a dataset)")
    structure.add_argument("--repo", help="git repository (work tree or mirror) or plain folder")
    structure.add_argument("--commit", default=None, help="commit to read (without it: the folder as it is)")
    structure.add_argument("--out", help="output .json path or URI (single repository)")
    structure.add_argument("--instance-id", default=None, help="instance_id to record in the single output")
    structure.add_argument(
        "--top-folder",
        default=None,
        help="folder name the root files are nested under, as Agentless does (default: the repository folder's name)",
    )
    structure.add_argument("--instances", help="SWE-bench dataset (.json/.jsonl/.parquet or hub name)")
    structure.add_argument("--split", default="test", help="dataset split (default test)")
    structure.add_argument("--repo-root", help="folder of checkouts named owner__repo (with --instances)")
    structure.add_argument(
        "--project-file-loc", default=None, help="output folder for {instance_id}.json (default: PROJECT_FILE_LOC)"
    )
    structure.set_defaults(handler=_structure)

    ls = commands.add_parser("ls", help="list the files of a repository snapshot")
    ls.add_argument("--repo", required=True, help="git repository, plain folder, or structure .json file")
    ls.add_argument("--commit", default=None, help="commit to read (without it: the folder as it is)")
    ls.set_defaults(handler=_ls)
