"""The operator loads only what it needs: planning, the driver and the gRPC client, never a servicer or the domain."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

FORBIDDEN = (
    "patchline.servers",
    "patchline.pipeline.adapters",
    "patchline.pipeline.registry",
    "patchline.workflows",
    "patchline.retrieval",
    "patchline.gateway",
    "numpy",
    "scipy",
)


def test_the_operator_imports_no_servicer_numpy_or_scipy() -> None:
    probe = (
        "import sys\n"
        "import patchline_operator.handlers\n"
        f"print([m for m in sys.modules if m.split('.')[0] in ('numpy', 'scipy') or m.startswith({FORBIDDEN!r})])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout
