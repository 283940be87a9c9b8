"""``make crds``: write the CRDs generated from the run-spec models into k8s/crds/ and the chart's crds/."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from patchline.devtools import tool_parser
from patchline.devtools.crds import CRD_KINDS, crd_file_name, render_crd

__all__ = ["CRD_DIRS", "main", "stale_files", "write_crds"]

# Both copies, relative to the repository root.
CRD_DIRS = ("k8s/crds", "charts/patchline/crds")


def write_crds(root: Path) -> list[Path]:
    """Write every CRD into each of :data:`CRD_DIRS` below ``root``; returns the files written."""
    written: list[Path] = []
    for folder in CRD_DIRS:
        target = root / folder
        target.mkdir(parents=True, exist_ok=True)
        for crd in CRD_KINDS:
            path = target / crd_file_name(crd)
            path.write_text(render_crd(crd), encoding="utf-8")
            written.append(path)
    return written


def stale_files(root: Path) -> list[Path]:
    """CRD files below ``root`` that are missing or differ from what the models generate now."""
    stale: list[Path] = []
    for folder in CRD_DIRS:
        for crd in CRD_KINDS:
            path = root / folder / crd_file_name(crd)
            if not path.is_file() or path.read_text(encoding="utf-8") != render_crd(crd):
                stale.append(path)
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate (default) or, with ``--check``, fail when the committed CRDs are stale."""
    parser = tool_parser("gen_crds", __doc__)
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if a CRD file is stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.root)
        for path in stale:
            print(f"stale: {path} (run make crds)", file=sys.stderr)
        return 1 if stale else 0
    for path in write_crds(args.root):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
