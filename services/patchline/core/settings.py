"""Settings read from the environment: the one module of patchline that looks at ``os.environ``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pydantic import SecretStr

__all__ = [
    "ApiKeys",
    "StorageConfig",
    "api_keys_from_env",
    "configured_secrets",
    "project_file_loc_from_env",
    "storage_config_from_env",
]


@dataclass(frozen=True)
class StorageConfig:
    """How to reach S3-compatible object storage. Secrets are SecretStr: they never print."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: SecretStr | None = field(default=None, repr=False)
    secret_access_key: SecretStr | None = field(default=None, repr=False)
    session_token: SecretStr | None = field(default=None, repr=False)
    anonymous: bool = False

    @classmethod
    def from_plain(
        cls,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        key: str | None = None,
        secret: str | None = None,
    ) -> StorageConfig:
        """Settings from plain values (a config file or a test), wrapping the secrets."""
        return cls(
            endpoint_url=endpoint_url,
            region=region,
            access_key_id=SecretStr(key) if key else None,
            secret_access_key=SecretStr(secret) if secret else None,
        )

    def s3_options(self) -> dict[str, Any]:
        """Keyword arguments for ``s3fs.S3FileSystem`` (explicit values, nothing read from disk)."""
        options: dict[str, Any] = {}
        client_kwargs: dict[str, Any] = {}
        if self.endpoint_url:
            client_kwargs["endpoint_url"] = self.endpoint_url
        if self.region:
            client_kwargs["region_name"] = self.region
        if client_kwargs:
            options["client_kwargs"] = client_kwargs
        if self.anonymous:
            options["anon"] = True
        if self.access_key_id and self.secret_access_key:
            options["key"] = self.access_key_id.get_secret_value()
            options["secret"] = self.secret_access_key.get_secret_value()
        if self.session_token:
            options["token"] = self.session_token.get_secret_value()
        return options


# StorageConfig field -> the variables it is read from, the first one set wins.
_STORAGE_SECRETS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "access_key_id": ("PATCHLINE_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
        "secret_access_key": ("PATCHLINE_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"),
        "session_token": ("AWS_SESSION_TOKEN",),
    }
)
# The variables API keys are read from by default, the first one set wins (comma-separated keys).
_KEY_VARIABLES = ("OPENAI_KEYS", "OPENAI_API_KEY", "OPENAI_KEY")


def _first_secret(environ: Mapping[str, str], names: tuple[str, ...]) -> SecretStr | None:
    value = next((environ[name] for name in names if environ.get(name)), None)
    return SecretStr(value) if value else None


def storage_config_from_env(environ: Mapping[str, str] | None = None) -> StorageConfig:
    """Object-storage settings from ``PATCHLINE_S3_*`` or the standard ``AWS_*`` variables."""
    env = os.environ if environ is None else environ
    endpoint = env.get("PATCHLINE_S3_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    return StorageConfig(
        endpoint_url=endpoint or None,
        region=env.get("PATCHLINE_S3_REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
        anonymous=env.get("PATCHLINE_S3_ANONYMOUS", "") in ("1", "true", "yes"),
        **{name: _first_secret(env, variables) for name, variables in _STORAGE_SECRETS.items()},
    )


@dataclass(frozen=True)
class ApiKeys:
    """API keys for model endpoints, used round robin. ``repr`` never shows them."""

    keys: tuple[SecretStr, ...] = field(default=(), repr=False)

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        return f"ApiKeys(<{len(self.keys)} keys>)"


def api_keys_from_env(environ: Mapping[str, str] | None = None, *, variable: str | None = None) -> ApiKeys:
    """Keys from ``variable`` if given, else ``OPENAI_KEYS`` (comma-separated), ``OPENAI_API_KEY`` or
    ``OPENAI_KEY``; no key at all is fine (a local server needs none)."""
    env = os.environ if environ is None else environ
    names = (variable,) if variable is not None else _KEY_VARIABLES
    raw = next((env[name] for name in names if env.get(name)), "")
    return ApiKeys(tuple(SecretStr(k.strip()) for k in raw.split(",") if k.strip()))


def configured_secrets(environ: Mapping[str, str] | None = None) -> tuple[SecretStr, ...]:
    """Every API key and storage credential this process may use (each variable read, set or shadowed).

    The entry points redact these from everything the process emits: log lines, errors, statuses.
    """
    env = os.environ if environ is None else environ
    keys = {part.strip() for name in _KEY_VARIABLES for part in env.get(name, "").split(",")}
    credentials = {env.get(name, "").strip() for names in _STORAGE_SECRETS.values() for name in names}
    return tuple(SecretStr(value) for value in sorted((keys | credentials) - {""}))


def project_file_loc_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """The Agentless structure folder, ``PROJECT_FILE_LOC``, if set."""
    env = os.environ if environ is None else environ
    return env.get("PROJECT_FILE_LOC") or None


def env_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """One environment variable, for entry points that document it (e.g. ``BASE_URL``)."""
    env = os.environ if environ is None else environ
    return env.get(name) or None
