"""``patchline serve``: host the gRPC services (all four by default, or one each in a cluster)."""

from __future__ import annotations

import argparse
import asyncio

from patchline.client import SERVICE_NAMES
from patchline.core.redact import Redactor
from patchline.core.settings import configured_secrets
from patchline.servers import ServerSettings, serve

__all__ = ["register"]


def register(parser: argparse.ArgumentParser) -> None:
    """Add the serve options."""
    parser.add_argument(
        "--services",
        default=",".join(SERVICE_NAMES),
        help=f"comma-separated services to host (default: all of {','.join(SERVICE_NAMES)})",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 in a container)")
    parser.add_argument("--port", type=int, default=50051, help="gRPC port (0 picks a free one)")
    parser.add_argument("--store", default="./results", help="root URI for caches such as BM25 indexes")
    parser.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds to finish RPCs on SIGTERM")
    parser.add_argument(
        "--retrieval-address",
        default=None,
        metavar="HOST:PORT",
        help="Retrieval service for EditBench BM25 prompt builds (default: this server's, when it hosts one)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM / SIGINT."""
    settings = ServerSettings(
        services=tuple(s.strip() for s in args.services.split(",") if s.strip()),
        host=args.host,
        port=args.port,
        store_uri=args.store,
        metrics_port=args.metrics_port,
        grace_seconds=args.grace,
        retrieval_address=args.retrieval_address,
        redactor=Redactor(configured_secrets()),
    )
    asyncio.run(serve(settings))
    return 0
