"""Log output of the command line: every record once, whichever library logged it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

_PROBE = """
import logging
from patchline.cli.logs import configure_logging
from patchline.core.datasets import iter_swebench
configure_logging()
try:
    list(iter_swebench("owner/no-such-dataset"))
except Exception as exc:
    print(type(exc).__name__)
logging.getLogger("huggingface_hub.utils._http").warning("Retrying in 1s [Retry 1/5].")
logging.getLogger("datasets.load").warning("a datasets warning")
"""


def test_hub_and_datasets_warnings_are_printed_once() -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() in {"InputError", "UnavailableError"}
    assert done.stderr.count("Retrying in 1s [Retry 1/5].") == 1, done.stderr
    assert done.stderr.count("a datasets warning") == 1, done.stderr
    assert "WARNING huggingface_hub.utils._http: Retrying" in done.stderr  # the root handler's format
