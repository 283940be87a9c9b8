"""The argument list patchline builds for SGLang, parsed by SGLang's own ``prepare_server_args``.

Runs in a separate environment with sglang 0.5.23 and CPU torch (tests/fixtures/sglang_env.py builds and caches
it under ``.cache/sglang-venv``; about 1-2 minutes on a fresh machine), in one subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from patchline.core.sglang_args import engine_server_args, sglang_launch_args
from patchline.core.spec import SGLangEngine
from patchline.gateway.launcher import SGLangServer
from tests.fixtures.sglang_env import sglang_python  # noqa: F401 - fixture

pytestmark = pytest.mark.integration

PARSE = """
import json, sys
from sglang.srt.server_args import prepare_server_args
results = []
for argv in json.loads(sys.argv[1]):
    try:
        a = prepare_server_args(argv)
    except SystemExit as exc:
        results.append({"exit": exc.code})
        continue
    results.append({k: getattr(a, k) for k in (
        "model_path", "tp_size", "dp_size", "reasoning_parser", "served_model_name", "host", "port",
        "mem_fraction_static",
    )})
print(json.dumps(results))
"""
LAUNCHER_ARGS = [
    "--model-path",
    "/models/Qwen3-8B",
    "--tp-size",
    "2",
    "--dp-size",
    "4",
    "--reasoning-parser",
    "deepseek-r1",
    "--served-model-name",
    "qwen3",
    "--mem-fraction-static",
    "0.8",
]


@pytest.fixture(scope="module")
def parsed(sglang_python: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], str]:  # noqa: F811
    """SGLang's parse of: the launcher's command, the operator's command, a command with an unknown flag.

    One subprocess for all three (importing sglang and torch takes seconds); HOME and caches point to a temp dir.
    """
    home = tmp_path_factory.mktemp("sglang-home")
    server = SGLangServer(LAUNCHER_ARGS, python=str(sglang_python), port=31234)
    assert server.command[:3] == [str(sglang_python), "-m", "sglang.launch_server"]
    operator = sglang_launch_args(
        engine_server_args(SGLangEngine(type="sglang", model_path="org/model", tp_size=8, reasoning_parser="qwen3")),
        host="0.0.0.0",
        port=30000,
    )
    invalid = sglang_launch_args(["--model-path", "m", "--no-such-flag", "1"], host="127.0.0.1", port=30000)
    argvs = [server.command[3:], operator[3:], invalid[3:]]
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"), "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [str(sglang_python), "-c", PARSE, json.dumps(argvs)], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_the_launcher_command_parses_with_sglangs_parser(parsed: tuple[list[dict[str, Any]], str]) -> None:
    assert parsed[0][0] == {
        "model_path": "/models/Qwen3-8B",
        "tp_size": 2,
        "dp_size": 4,
        "reasoning_parser": "deepseek-r1",
        "served_model_name": "qwen3",
        "host": "127.0.0.1",
        "port": 31234,
        "mem_fraction_static": 0.8,
    }


def test_the_operator_form_parses_too(parsed: tuple[list[dict[str, Any]], str]) -> None:
    operator = parsed[0][1]
    assert (operator["tp_size"], operator["dp_size"], operator["host"], operator["port"]) == (8, 1, "0.0.0.0", 30000)
    assert operator["reasoning_parser"] == "qwen3" and operator["model_path"] == "org/model"


def test_an_invalid_flag_exits_2(parsed: tuple[list[dict[str, Any]], str]) -> None:
    assert parsed[0][2] == {"exit": 2}
    assert "--no-such-flag" in parsed[1]
