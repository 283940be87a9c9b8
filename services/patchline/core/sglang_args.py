"""SGLang server command lines: the one place the ``python -m sglang.launch_server`` argument list is built.

Pure functions, no processes: the local launcher (``patchline.gateway.launcher``, ``--host 127.0.0.1`` and a free
port) and the Kubernetes operator (a Deployment's container args, ``--host 0.0.0.0``) build the same list here.
Pass-through arguments are forwarded verbatim, in order; only ``--host`` and ``--port`` are patchline's to set.
"""

from __future__ import annotations

from collections.abc import Sequence

from patchline.core.errors import InputError
from patchline.core.spec import SGLangEngine

__all__ = [
    "MODEL_FLAGS",
    "RESERVED_FLAGS",
    "SECRET_FLAGS",
    "SGLANG_MODULE",
    "api_key",
    "check_passthrough",
    "engine_server_args",
    "require_model",
    "secret_values",
    "sglang_launch_args",
]

SGLANG_MODULE = "sglang.launch_server"
# Flags patchline sets itself; a pass-through value for them would be silently overridden or duplicated.
RESERVED_FLAGS = ("--host", "--port")
# Any of these tells SGLang which model to load (``--model`` is its alias of ``--model-path``).
MODEL_FLAGS = ("--model-path", "--model", "--config")
# Flags whose value is a secret: passed to SGLang as written, never recorded (manifest.json) or logged.
SECRET_FLAGS = ("--api-key", "--admin-api-key")


def _secret_positions(args: Sequence[str]) -> list[tuple[int, str]]:
    """(index, value) of every secret value: ``--api-key K`` (the next argument) or ``--api-key=K``."""
    found: list[tuple[int, str]] = []
    for index, arg in enumerate(args):
        flag, sep, value = arg.partition("=")
        if flag not in SECRET_FLAGS:
            continue
        if sep:
            found.append((index, value))
        elif index + 1 < len(args):
            found.append((index + 1, args[index + 1]))
    return found


def secret_values(args: Sequence[str]) -> tuple[str, ...]:
    """The secrets among SGLang arguments (for the redactor of whatever logs or records them)."""
    return tuple(value for _, value in _secret_positions(args) if value)


def api_key(args: Sequence[str]) -> str | None:
    """The ``--api-key`` SGLang is started with (the key its clients must send), if any."""
    for index, value in _secret_positions(args):
        if args[index].startswith("--api-key=") or args[index - 1] == "--api-key":
            return value or None
    return None


def check_passthrough(args: Sequence[str]) -> list[str]:
    """Return ``args`` as a list; raise InputError if one of them sets ``--host`` or ``--port``."""
    for arg in args:
        flag = arg.split("=", 1)[0]
        if flag in RESERVED_FLAGS:
            raise InputError(
                f"the SGLang arguments set {flag}: patchline chooses the address itself "
                "(127.0.0.1 and a free port for --serve); remove it, or start SGLang yourself and pass --url"
            )
    return list(args)


def require_model(args: Sequence[str]) -> list[str]:
    """Return ``args`` as a list; raise InputError unless they name a model (SGLang would only print usage)."""
    if not any(arg.split("=", 1)[0] in MODEL_FLAGS for arg in args):
        raise InputError("SGLang needs a model: pass --model-path PATH_OR_HF_NAME among the SGLang arguments")
    return list(args)


def engine_server_args(engine: SGLangEngine) -> list[str]:
    """The pass-through arguments of a run spec's SGLang engine (local launcher and operator alike).

    The spec has validated the model path and the sizes; the engine's extra arguments go last, verbatim.
    """
    args = ["--model-path", engine.model_path, "--tp-size", str(engine.tp_size), "--dp-size", str(engine.dp_size)]
    if engine.reasoning_parser:
        args += ["--reasoning-parser", engine.reasoning_parser]
    if engine.served_model_name:
        args += ["--served-model-name", engine.served_model_name]
    if engine.thinking_processor is not None and "--enable-custom-logit-processor" not in engine.extra_args:
        args.append("--enable-custom-logit-processor")
    return args + check_passthrough(engine.extra_args)


def sglang_launch_args(passthrough: Sequence[str], *, host: str, port: int, python: str = "python3") -> list[str]:
    """``python -m sglang.launch_server <passthrough...> --host HOST --port PORT`` as an argument list."""
    if not 0 < port < 65536:
        raise InputError(f"port {port} is not a TCP port")
    return [python, "-m", SGLANG_MODULE, *check_passthrough(passthrough), "--host", host, "--port", str(port)]
