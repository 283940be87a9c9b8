"""``patchline oracle serve``: run the gold-answer OpenAI-compatible server until interrupted."""

from __future__ import annotations

import argparse
import asyncio

from patchline.oracle import OracleServer, serve_oracle

__all__ = ["register"]


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``serve`` subcommand."""
    commands = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    serve = commands.add_parser("serve", help="answer chat completions from a dataset's gold data")
    serve.add_argument("--dataset", required=True, help="SWE-bench .json/.jsonl or EditBench infbench .jsonl")
    serve.add_argument(
        "--repo-root", default=None, help="git checkouts named owner__repo: TestWriter file lists name existing files"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=30000, help="port to listen on (0 picks a free one)")
    serve.add_argument("--model", default="oracle", help="model name the server reports")
    serve.add_argument(
        "--reasoning", choices=("think", "field"), default=None, help="add a short reasoning part to every answer"
    )
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    server = OracleServer(
        args.dataset,
        repo_root=args.repo_root,
        host=args.host,
        port=args.port,
        reasoning=args.reasoning,
        model=args.model,
    )
    count = len(server.index)
    asyncio.run(
        serve_oracle(server, on_ready=lambda url: print(f"oracle: {count} instances, serving on {url}", flush=True))
    )
    return 0
