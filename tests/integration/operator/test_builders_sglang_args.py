"""SGLang's own argument parser accepts the container arguments of every Deployment the operator builds.

Uses the cached SGLang parser environment of tests/fixtures/sglang_env.py (sglang 0.5.23 on CPU torch).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from patchline.core.spec import SGLangEngine, load_manifest
from patchline_operator.builders import sglang_deployment
from tests.fixtures.sglang_env import sglang_python  # noqa: F401 - fixture

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
# Parses every argument list given as JSON lines on stdin in one interpreter (the import costs seconds).
PARSE_ALL = """
import json, sys
from sglang.srt.server_args import prepare_server_args
for line in sys.stdin:
    a = prepare_server_args(json.loads(line))
    print(json.dumps({k: getattr(a, k) for k in (
        "model_path", "tp_size", "dp_size", "reasoning_parser", "served_model_name", "host", "port"
    )}))
"""


def test_deployment_args_of_every_example_parse_with_sglang(sglang_python: Path, tmp_path: Path) -> None:  # noqa: F811
    runs = [load_manifest(p) for p in sorted((REPO / "k8s" / "examples").glob("*.yaml"))]
    engines = [(run, run.spec.engine) for run in runs if isinstance(run.spec.engine, SGLangEngine)]
    assert len(engines) == 5
    argv = [sglang_deployment(run)["spec"]["template"]["spec"]["containers"][0]["args"] for run, _ in engines]
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / ".cache"), "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [str(sglang_python), "-c", PARSE_ALL],
        input="".join(json.dumps(a) + "\n" for a in argv),
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    parsed = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(parsed) == len(engines)
    for (_, engine), got in zip(engines, parsed, strict=True):
        assert got == {
            "model_path": engine.model_path,
            "tp_size": engine.tp_size,
            "dp_size": engine.dp_size,
            "reasoning_parser": engine.reasoning_parser,
            "served_model_name": engine.model_name,
            "host": "0.0.0.0",
            "port": 30000,
        }
