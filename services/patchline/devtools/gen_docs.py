"""``make docs``: the documented schemas of the sample files, rendered from their models into docs/samples.md.

The page holds each table between ``<!-- schema:NAME -->`` and ``<!-- /schema:NAME -->``; everything else on
the page is written by hand. ``--check`` fails when a table differs from what the models render now.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel

from patchline.core.samples import Exclusion, PatchVotes, SampleRecord, SelectionRecord, schema_table

__all__ = ["DOC_PATH", "SCHEMAS", "render_page"]

DOC_PATH = "docs/samples.md"

SCHEMAS: Mapping[str, type[BaseModel]] = {
    "SampleRecord": SampleRecord,
    "SelectionRecord": SelectionRecord,
    "PatchVotes": PatchVotes,
    "Exclusion": Exclusion,
}


def render_page(text: str) -> str:
    """``text`` with every schema region rendered anew (a region the page lacks is an error)."""
    for name, model in SCHEMAS.items():
        pattern = re.compile(rf"(<!-- schema:{name} -->\n).*?(<!-- /schema:{name} -->)", re.DOTALL)
        if not pattern.search(text):
            raise ValueError(f"{DOC_PATH} has no <!-- schema:{name} --> region")
        table = schema_table(model)
        text = pattern.sub(lambda m, table=table: m.group(1) + table + m.group(2), text)  # type: ignore[misc]
    return text


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[3]


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the schema regions of docs/samples.md (default) or, with ``--check``, fail when they are stale."""
    parser = argparse.ArgumentParser(prog="gen_docs", description=__doc__)
    parser.add_argument("--root", type=Path, default=_repo_root(), help="repository root (default: this checkout)")
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if a schema table is stale")
    args = parser.parse_args(argv)
    path = args.root / DOC_PATH
    text = path.read_text(encoding="utf-8")
    fresh = render_page(text)
    if args.check:
        if fresh != text:
            print(f"stale: {path} (run make docs)", file=sys.stderr)
            return 1
        return 0
    path.write_text(fresh, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
