"""The SGLang argument builder (patchline.core.sglang_args) and the launcher's command line."""

from __future__ import annotations

import pytest

from patchline.core.errors import InputError
from patchline.core.sglang_args import (
    api_key,
    check_passthrough,
    engine_server_args,
    require_model,
    secret_values,
    sglang_launch_args,
)
from patchline.core.spec import SGLangEngine
from patchline.gateway.launcher import SGLangServer

pytestmark = pytest.mark.unit

SEED = ["--tp-size", "1", "--dp-size", "8", "--model-path", "/m/Qwen", "--reasoning-parser", "deepseek-r1"]


def test_launch_args_forward_passthrough_verbatim_then_host_and_port() -> None:
    assert sglang_launch_args(SEED, host="127.0.0.1", port=31000, python="py") == [
        "py",
        "-m",
        "sglang.launch_server",
        *SEED,
        "--host",
        "127.0.0.1",
        "--port",
        "31000",
    ]


@pytest.mark.parametrize("flag", [["--host", "0.0.0.0"], ["--port", "1"], ["--host=0.0.0.0"], ["--port=8000"]])
def test_a_user_host_or_port_is_refused(flag: list[str]) -> None:
    with pytest.raises(InputError, match="patchline chooses the address"):
        sglang_launch_args([*SEED, *flag], host="127.0.0.1", port=30000)


def test_similar_flags_are_not_mistaken_for_host_or_port() -> None:
    args = ["--model-path", "m", "--hostname-override", "x", "--port-offset", "3"]
    assert check_passthrough(args) == args


def test_a_model_is_required() -> None:
    with pytest.raises(InputError, match="--model-path"):
        require_model(["--tp-size", "2"])
    assert require_model(["--model=org/m"]) == ["--model=org/m"]


@pytest.mark.parametrize("port", [0, 65536, -1])
def test_bad_ports_are_refused(port: int) -> None:
    with pytest.raises(InputError, match="not a TCP port"):
        sglang_launch_args(SEED, host="127.0.0.1", port=port)


def test_typed_builder_for_the_operator() -> None:
    engine = SGLangEngine(
        type="sglang", model_path="org/m", tp_size=2, dp_size=4, reasoning_parser="qwen3", served_model_name="m"
    )
    args = engine_server_args(engine.model_copy(update={"extra_args": ["--x"]}))
    assert args == [
        "--model-path",
        "org/m",
        "--tp-size",
        "2",
        "--dp-size",
        "4",
        "--reasoning-parser",
        "qwen3",
        "--served-model-name",
        "m",
        "--x",
    ]
    assert sglang_launch_args(args, host="0.0.0.0", port=30000)[-4:] == ["--host", "0.0.0.0", "--port", "30000"]
    with pytest.raises(InputError):
        engine_server_args(engine.model_copy(update={"extra_args": ["--port", "1"]}))


def test_the_launcher_binds_loopback_on_a_free_port() -> None:
    server = SGLangServer(SEED, python="py")
    assert server.command[-4:-1] == ["--host", "127.0.0.1", "--port"]
    assert int(server.command[-1]) == server.port > 0
    assert server.base_url == f"http://127.0.0.1:{server.port}"
    with pytest.raises(InputError):
        SGLangServer(["--tp-size", "1"])


def test_secret_arguments_are_found_in_both_spellings() -> None:
    args = ["--model-path", "m", "--api-key", "k1", "--admin-api-key=k2", "--api-keys-file", "f"]
    assert secret_values(args) == ("k1", "k2")
    assert api_key(args) == "k1"
    assert api_key(["--api-key=k3"]) == "k3"
    assert api_key(["--admin-api-key", "k4"]) is None
    assert secret_values(["--api-key"]) == ()  # a flag without its value holds nothing to hide
