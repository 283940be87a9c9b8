"""``patchline serve``: host the gRPC services (all four by default, or one each in a cluster).

What a caller may reach is configured here and nowhere else: the store (read-write), ``--allow-read`` roots,
``--allow-bucket`` buckets, ``--allow-endpoint`` model endpoints and ``--key-set`` key sets; who may call is
``--tls-*`` and ``--token-file``. docs/security.md describes the model.
"""

from __future__ import annotations

import argparse
import asyncio

from patchline.client import SERVICE_NAMES
from patchline.core.batch import DEFAULT_REQUEST_PATHS
from patchline.core.settings import KeySets
from patchline.retrieval import IndexLimits
from patchline.servers import ServerAuth, ServerSettings, serve

__all__ = ["register"]

_LIMITS = IndexLimits()


def register(parser: argparse.ArgumentParser) -> None:
    """Add the serve options."""
    parser.add_argument(
        "--services",
        default=",".join(SERVICE_NAMES),
        help=f"comma-separated services to host (default: all of {','.join(SERVICE_NAMES)})",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (beyond loopback: TLS or a token)")
    parser.add_argument("--port", type=int, default=50051, help="gRPC port (0 picks a free one)")
    parser.add_argument("--store", default="./results", help="the read-write root of requests (runs, caches)")
    parser.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds to finish RPCs on SIGTERM")
    parser.add_argument(
        "--retrieval-address",
        default=None,
        metavar="HOST:PORT",
        help="Retrieval service for EditBench BM25 prompt builds (default: BM25 in this process)",
    )
    _add_boundary(parser)
    _add_auth(parser)
    parser.set_defaults(handler=run)


def _add_boundary(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("what requests may reach (docs/security.md)")
    group.add_argument(
        "--allow-read", action="append", default=[], metavar="ROOT", help="read-only root (datasets, repositories)"
    )
    group.add_argument(
        "--allow-bucket", action="append", default=[], metavar="NAME", help="read-only S3 bucket (needs an endpoint)"
    )
    group.add_argument(
        "--allow-endpoint",
        action="append",
        default=[],
        metavar="PREFIX",
        help="model endpoint requests may send to: host:port or a URL prefix (http://*.ns.svc:30000)",
    )
    group.add_argument(
        "--allow-request-path",
        action="append",
        default=None,
        metavar="PATH",
        help=f"a request line's url the gateway sends (repeat; default {', '.join(DEFAULT_REQUEST_PATHS)})",
    )
    group.add_argument(
        "--key-set",
        action="append",
        default=[],
        metavar="NAME=ENV",
        help="a key set requests may name (apiKeySet), read from variable ENV; `default` is OPENAI_KEYS",
    )
    group.add_argument("--index-max-files", type=int, default=_LIMITS.max_files, help="files one index may hold")
    group.add_argument("--index-max-bytes", type=int, default=_LIMITS.max_bytes, help="bytes one index may read")
    group.add_argument("--index-timeout", type=float, default=_LIMITS.seconds, help="seconds one index build may take")


def _add_auth(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("who may call")
    group.add_argument("--tls-cert", default=None, metavar="PEM", help="server certificate (chain): serve TLS")
    group.add_argument("--tls-key", default=None, metavar="PEM", help="the certificate's private key")
    group.add_argument("--tls-client-ca", default=None, metavar="PEM", help="require client certificates of this CA")
    group.add_argument("--token-file", default=None, metavar="FILE", help="bearer token(s) callers must send")
    group.add_argument(
        "--insecure", action="store_true", help="allow a non-loopback --host without TLS or token (not recommended)"
    )
    group.add_argument(
        "--health-port", type=int, default=None, help="also answer health checks on this plain port (for probes)"
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM / SIGINT."""
    settings = ServerSettings(
        services=tuple(s.strip() for s in args.services.split(",") if s.strip()),
        host=args.host,
        port=args.port,
        store_uri=args.store,
        allow_read=tuple(args.allow_read),
        allow_buckets=tuple(args.allow_bucket),
        allow_endpoints=tuple(args.allow_endpoint),
        allow_request_paths=tuple(args.allow_request_path or DEFAULT_REQUEST_PATHS),
        key_sets=KeySets.parse(args.key_set),
        auth=ServerAuth(
            tls_cert=args.tls_cert, tls_key=args.tls_key, tls_client_ca=args.tls_client_ca, token_file=args.token_file
        ),
        insecure=args.insecure,
        health_port=args.health_port,
        index_limits=IndexLimits(
            max_files=args.index_max_files, max_bytes=args.index_max_bytes, seconds=args.index_timeout
        ),
        metrics_port=args.metrics_port,
        grace_seconds=args.grace,
        retrieval_address=args.retrieval_address,
    )
    asyncio.run(serve(settings))
    return 0
