"""Who may call the services: TLS server credentials (optionally mutual) and a bearer token (grpc's auth guide).

The token is checked by a server interceptor before any servicer sees the request; health checks and reflection
stay open so probes and tools can find the server. A missing or wrong token is UNAUTHENTICATED, and the
request is never parsed. Without TLS and token the server may listen on loopback only (``check_bind``).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health
from grpc_reflection.v1alpha import reflection

from patchline.client.auth import read_credential
from patchline.core.errors import InputError

__all__ = ["OPEN_SERVICES", "ServerAuth", "TokenInterceptor", "check_bind", "is_loopback"]

log = logging.getLogger(__name__)

# Reachable without a token: probes (kubelet, load balancers) and service discovery.
OPEN_SERVICES = (health.SERVICE_NAME, reflection.SERVICE_NAME, "grpc.reflection.v1.ServerReflection")
_DENIED = "missing or wrong bearer token (send `authorization: Bearer <token>`)"


@dataclass(frozen=True)
class ServerAuth:
    """The server's credentials: PEM files for TLS (a client CA makes it mutual) and a token file."""

    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None  # clients must present a certificate signed by this CA (mTLS)
    token_file: str | None = None  # one accepted token per non-empty line (several: rotation)

    @property
    def tls(self) -> bool:
        """True when the server speaks TLS."""
        return self.tls_cert is not None

    @property
    def enabled(self) -> bool:
        """True when callers must prove something (a TLS client certificate or a token)."""
        return self.tls or self.token_file is not None

    def server_credentials(self) -> grpc.ServerCredentials | None:
        """TLS credentials from the PEM files (None without TLS)."""
        if (self.tls_cert is None) != (self.tls_key is None):
            raise InputError("--tls-cert and --tls-key go together")
        if self.tls_cert is None or self.tls_key is None:
            if self.tls_client_ca is not None:
                raise InputError("--tls-client-ca needs --tls-cert and --tls-key")
            return None
        client_ca = read_credential(self.tls_client_ca, "--tls-client-ca") if self.tls_client_ca else None
        return grpc.ssl_server_credentials(
            [(read_credential(self.tls_key, "--tls-key"), read_credential(self.tls_cert, "--tls-cert"))],
            root_certificates=client_ca,
            require_client_auth=client_ca is not None,
        )

    def tokens(self) -> tuple[bytes, ...]:
        """The accepted tokens (empty without a token file); a token file without one is an error."""
        if self.token_file is None:
            return ()
        lines = read_credential(self.token_file, "--token-file").splitlines()
        tokens = tuple(line.strip() for line in lines if line.strip())
        if not tokens:
            raise InputError(f"--token-file {self.token_file}: holds no token")
        return tokens


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, auth: ServerAuth, *, insecure: bool) -> None:
    """Refuse to listen beyond loopback with neither TLS nor a token, unless ``insecure`` says so on purpose."""
    if auth.enabled or is_loopback(host):
        if not auth.enabled:
            log.warning("no TLS and no token: listening on %s only (loopback); anyone on this host may call", host)
        return
    if not insecure:
        raise InputError(
            f"refusing to listen on {host} without TLS or a token: anyone who reaches the port could read and "
            "write files as this server; give --token-file and/or --tls-cert/--tls-key, or --insecure"
        )
    log.warning("--insecure: listening on %s without TLS or a token", host)


class TokenInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Lets a call through when it carries one of the tokens as ``authorization: Bearer``; health and
    reflection always pass."""

    def __init__(self, tokens: Sequence[bytes]) -> None:
        self._tokens = tuple(tokens)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method: str = handler_call_details.method or ""
        if method.lstrip("/").split("/", 1)[0] in OPEN_SERVICES or self._carries_token(handler_call_details):
            return await continuation(handler_call_details)
        handler = await continuation(handler_call_details)
        return _refusal(handler) if handler is not None else None

    def _carries_token(self, details: grpc.HandlerCallDetails) -> bool:
        for key, value in details.invocation_metadata or ():
            if key.lower() != "authorization":
                continue
            raw = value.encode() if isinstance(value, str) else bytes(value)
            scheme, _, token = raw.partition(b" ")
            if scheme.lower() == b"bearer" and any(hmac.compare_digest(token.strip(), t) for t in self._tokens):
                return True
        return False


def _refusal(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """A handler of the same kind that aborts with UNAUTHENTICATED before reading the request."""

    async def deny(request: Any, context: grpc.aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, _DENIED)

    async def deny_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, _DENIED)
        yield  # an async generator, as a streaming handler must be; never reached

    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(deny_stream)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(deny)
    if handler.stream_stream is not None:
        return grpc.stream_stream_rpc_method_handler(deny_stream)
    return grpc.unary_unary_rpc_method_handler(deny)
