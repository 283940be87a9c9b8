"""``patchline llamacpp serve``: one llama.cpp server process (what the launcher and the operator's pods run)."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from patchline.core.llamacpp_args import SERVER_FLAGS, default_model_path, engine_from_flags
from patchline.gateway.llamacpp import serve_until

__all__ = ["register"]


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``serve`` subcommand."""
    commands = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    serve = commands.add_parser("serve", help="serve a GGUF model with llama.cpp until SIGTERM")
    for flag, field in SERVER_FLAGS.items():
        serve.add_argument(flag, dest=field, default=None, help=f"engine.{field} (default: the spec's)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, required=True, help="port to listen on")
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or SIGINT; exit 0 after a clean stop."""
    engine = engine_from_flags({field: getattr(args, field) for field in SERVER_FLAGS.values()})
    if engine.model is None:
        engine = engine.model_copy(update={"model": default_model_path()})
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    serve_until(engine, host=args.host, port=args.port, stop=stop)
    return 0
