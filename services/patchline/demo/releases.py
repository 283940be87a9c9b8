"""Code bases from released distributions on PyPI: the demo's stand-in for a repository checkout.

``pip download`` fetches the sdist of ``package==version`` (or, when the sdist cannot even produce its
metadata with today's tools, the pure-Python wheel, which holds the same package sources); the files are
unpacked into a folder laid out like the repository (``src/`` layouts kept), committed to a fresh git
repository, and gold patches are checked against them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from unidiff.patch import PatchSet

from patchline.core.datasets import SWEbenchInstance, iter_swebench
from patchline.edits import PatchApplyError, apply_unified_diff

__all__ = ["Release", "fetch_release", "find_applicable", "git_commit_tree", "main"]

GIT = ("git", "-c", "user.name=patchline", "-c", "user.email=patchline@localhost", "-c", "commit.gpgsign=false")


@dataclass(frozen=True)
class Release:
    """A package version unpacked into ``root`` (laid out as the repository), and how it was obtained."""

    package: str
    version: str
    root: Path
    kind: str  # "sdist" or "wheel"

    def read(self, path: str) -> str | None:
        """A file of the release, or None when the release does not ship it."""
        candidate = self.root / path
        return candidate.read_text(encoding="utf-8") if candidate.is_file() else None


def _pip_download(spec: str, dest: Path, *, binary: bool) -> Path | None:
    flags = ["--only-binary", ":all:"] if binary else ["--no-binary", ":all:"]
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", *flags, spec, "-d", str(dest)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    files = sorted(dest.iterdir())
    return files[0] if done.returncode == 0 and files else None


def _unpack(archive: Path, root: Path) -> None:
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            for member in wheel.namelist():
                if ".dist-info/" not in member and not member.endswith("/"):
                    wheel.extract(member, root)
        return
    with tarfile.open(archive) as sdist:
        sdist.extractall(root, filter="data")
    (top,) = list(root.iterdir())  # sdists hold one top folder, e.g. Flask-2.0.3/
    for child in top.iterdir():
        child.rename(root / child.name)
    top.rmdir()


def fetch_release(package: str, version: str, into: Path) -> Release | None:
    """Download and unpack ``package==version`` below ``into``; None if PyPI has neither form."""
    root = into / f"{package}-{version}"
    marker = into / f"{package}-{version}.kind"  # beside the tree, so the tree is exactly the release
    if root.is_dir() and marker.is_file():
        return Release(package, version, root, marker.read_text().strip())
    shutil.rmtree(root, ignore_errors=True)  # a download interrupted before its marker was written
    with tempfile.TemporaryDirectory() as tmp:
        for kind, binary in (("sdist", False), ("wheel", True)):
            dest = Path(tmp) / kind
            dest.mkdir()
            archive = _pip_download(f"{package}=={version}", dest, binary=binary)
            if archive is not None:
                root.mkdir(parents=True)
                _unpack(archive, root)
                marker.write_text(kind + "\n")
                return Release(package, version, root, kind)
    return None


def patch_applies(instance: SWEbenchInstance, release: Release) -> bool:
    """True when the gold patch applies to the release's files."""
    paths = [f.path for f in PatchSet(instance.patch) if not f.is_added_file]
    files = {p: text for p in paths if (text := release.read(p)) is not None}
    if len(files) != len(paths):
        return False
    try:
        apply_unified_diff(files, instance.patch)
    except PatchApplyError:
        return False
    return True


def find_applicable(
    instances: Iterable[SWEbenchInstance], candidates: dict[str, list[tuple[str, str]]], into: Path
) -> Iterator[tuple[SWEbenchInstance, Release]]:
    """Instances whose gold patch applies to one of the candidate releases of their repository's version.

    ``candidates`` maps ``"repo@version"`` (e.g. ``"pallets/flask@2.0"``) to (package, release) pairs.
    """
    for instance in instances:
        for package, version in candidates.get(f"{instance.repo}@{instance.version}", []):
            release = fetch_release(package, version, into)
            if release is not None and patch_applies(instance, release):
                yield instance, release
                break


def git_commit_tree(source: Path, repo: Path) -> str:
    """Copy ``source`` into a new git repository at ``repo``, commit it, and return the commit id."""
    shutil.copytree(source, repo, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run([*GIT, "init", "-q", str(repo)], check=True)
    subprocess.run([*GIT, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(repo), "commit", "-q", "-m", f"release {source.name}"], check=True)
    done = subprocess.run([*GIT, "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    """Print the instances of a dataset whose gold patch applies to released files."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--candidates", required=True, help='JSON: {"repo@version": [["package", "x.y.z"], ...]}')
    parser.add_argument("--cache", default=".cache/releases")
    args = parser.parse_args(argv)
    candidates = json.loads(Path(args.candidates).read_text())
    for instance, release in find_applicable(iter_swebench(args.dataset), candidates, Path(args.cache)):
        print(
            json.dumps(
                {
                    "instance_id": instance.instance_id,
                    "package": release.package,
                    "version": release.version,
                    "kind": release.kind,
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
