"""A client's credentials for the services: TLS (with a CA, and a client certificate for mTLS) and a bearer token.

The token rides on every call as ``authorization: Bearer <token>`` (a channel interceptor), with or without
TLS; a server that requires none ignores it. Files are read once, when the credentials are loaded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from pydantic import SecretStr

from patchline.core.errors import InputError
from patchline.core.settings import ClientAuthFiles, client_auth_files_from_env

__all__ = ["ClientAuth", "call_metadata", "open_blocking_channel", "open_channel", "read_credential"]


def read_credential(path: str, what: str) -> bytes:
    """The bytes of a PEM or token file; InputError naming the flag ``what`` and the path when it cannot be read."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{what} {path}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class ClientAuth:
    """What a client presents: a token, and TLS settings (``tls`` with ``ca`` None trusts the system CAs)."""

    token: SecretStr | None = field(default=None, repr=False)
    tls: bool = False
    ca: bytes | None = None
    client_cert: bytes | None = None
    client_key: bytes | None = field(default=None, repr=False)

    @classmethod
    def load(cls, files: ClientAuthFiles | None = None) -> ClientAuth:
        """Credentials from ``files`` (default: the ``PATCHLINE_TOKEN_FILE`` / ``PATCHLINE_TLS_*`` variables)."""
        files = files or client_auth_files_from_env()
        if (files.client_cert is None) != (files.client_key is None):
            raise InputError("--tls-client-cert and --tls-client-key go together")
        token = None
        if files.token_file:
            text = read_credential(files.token_file, "--token-file").decode("utf-8", "replace").strip().splitlines()
            if not text or not text[0].strip():
                raise InputError(f"--token-file {files.token_file}: holds no token")
            token = SecretStr(text[0].strip())
        return cls(
            token=token,
            tls=files.tls or files.tls_ca is not None or files.client_cert is not None,
            ca=read_credential(files.tls_ca, "--tls-ca") if files.tls_ca else None,
            client_cert=read_credential(files.client_cert, "--tls-client-cert") if files.client_cert else None,
            client_key=read_credential(files.client_key, "--tls-client-key") if files.client_key else None,
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """The TLS credentials of a secure channel (call only when ``tls``)."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca, private_key=self.client_key, certificate_chain=self.client_cert
        )


def open_channel(target: str, auth: ClientAuth, *, options: Sequence[tuple[str, Any]]) -> grpc.aio.Channel:
    """An aio channel to ``target`` with ``auth``'s TLS, whose calls carry ``auth``'s token."""
    interceptors = [_BearerUnary(auth.token), _BearerStream(auth.token)] if auth.token is not None else None
    if not auth.tls:
        return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)
    return grpc.aio.secure_channel(target, auth.channel_credentials(), options=options, interceptors=interceptors)


def open_blocking_channel(target: str, auth: ClientAuth, *, options: Sequence[tuple[str, Any]]) -> grpc.Channel:
    """A blocking channel with ``auth``'s TLS (its calls pass :func:`call_metadata` for the token)."""
    if not auth.tls:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, auth.channel_credentials(), options=options)


def call_metadata(auth: ClientAuth) -> tuple[tuple[str, str], ...]:
    """The metadata a blocking call sends: the bearer token, if there is one."""
    return (("authorization", f"Bearer {auth.token.get_secret_value()}"),) if auth.token is not None else ()


def _with_token(details: grpc.aio.ClientCallDetails, token: SecretStr) -> grpc.aio.ClientCallDetails:
    metadata = grpc.aio.Metadata(*(tuple(details.metadata) if details.metadata else ()))
    metadata.add("authorization", f"Bearer {token.get_secret_value()}")
    return details._replace(metadata=metadata)


class _Bearer:
    """Adds the bearer token to every call's metadata (the same for both kinds of call patchline makes)."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    async def _forward(
        self, continuation: Callable[..., Awaitable[Any]], client_call_details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(_with_token(client_call_details, self._token), request)


# grpc files an interceptor under the first call kind it is an instance of: one class per kind.
class _BearerUnary(_Bearer, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]  # grpc ships no type stubs
    intercept_unary_unary = _Bearer._forward


class _BearerStream(_Bearer, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    intercept_unary_stream = _Bearer._forward
