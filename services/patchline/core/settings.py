"""Settings read from the environment: the one module of patchline that looks at ``os.environ``."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pydantic import SecretStr

from patchline.core.errors import InputError

__all__ = [
    "DEFAULT_KEY_SET",
    "KEY_SET_NAME",
    "ApiKeys",
    "ClientAuthFiles",
    "KeySets",
    "StorageConfig",
    "api_keys_from_env",
    "client_auth_files_from_env",
    "configured_secrets",
    "project_file_loc_from_env",
    "secret_key_set",
    "secret_key_variable",
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


KEY_SET_NAME = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,252}$"
"""Key-set names: ``openai``, or ``<secret>/<key>`` for the sets the chart derives from Secrets."""

DEFAULT_KEY_SET = "default"
"""The key set a request without ``apiKeySet`` uses: ``OPENAI_KEYS`` / ``OPENAI_API_KEY`` / ``OPENAI_KEY``."""

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class KeySets:
    """Named sets of API keys, each read from environment variables the operator of the process chose.

    A request names a set (``apiKeySet``), never a variable: a caller can only make the process send keys
    it was configured to send. The default set is always there (``--key-set default=VAR`` replaces it).
    """

    variables: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({DEFAULT_KEY_SET: _KEY_VARIABLES})
    )

    @classmethod
    def parse(cls, specs: Iterable[str]) -> KeySets:
        """Key sets from ``NAME=ENV`` strings (``--key-set``), added to the default set."""
        variables: dict[str, tuple[str, ...]] = {DEFAULT_KEY_SET: _KEY_VARIABLES}
        for spec in specs:
            name, sep, variable = spec.partition("=")
            name, variable = name.strip(), variable.strip()
            if not sep or not re.fullmatch(KEY_SET_NAME, name) or not _ENV_NAME.fullmatch(variable):
                raise InputError(f"--key-set {spec!r}: expected NAME=ENV_VARIABLE (e.g. openai=OPENAI_KEYS)")
            variables[name] = (variable,)
        return cls(MappingProxyType(variables))

    @property
    def names(self) -> list[str]:
        """The configured set names, sorted."""
        return sorted(self.variables)

    def __contains__(self, name: object) -> bool:
        return name in self.variables

    def keys(self, name: str | None = None, environ: Mapping[str, str] | None = None) -> ApiKeys:
        """The keys of set ``name`` (None: the default set); InputError for a set that is not configured."""
        chosen = DEFAULT_KEY_SET if name is None else name
        variables = self.variables.get(chosen)
        if variables is None:
            raise InputError(f"unknown key set {chosen!r}; configured: {', '.join(self.names)}")
        env = os.environ if environ is None else environ
        raw = next((env[variable] for variable in variables if env.get(variable)), "")
        return ApiKeys(tuple(SecretStr(k.strip()) for k in raw.split(",") if k.strip()))

    def all_variables(self) -> tuple[str, ...]:
        """Every variable any set reads."""
        return tuple(dict.fromkeys(variable for names in self.variables.values() for variable in names))


def secret_key_variable(secret: str, key: str) -> str:
    """``PATCHLINE_KEY_<SECRET>_<KEY>``: the variable a cluster's gateway holds a Secret's key in (the chart's
    ``keySets`` list sets it from the Secret, upper-cased, non-alphanumerics as ``_``)."""
    return "PATCHLINE_KEY_" + re.sub(r"[^A-Za-z0-9]", "_", f"{secret}_{key}").upper()


def secret_key_set(secret: str, key: str) -> str:
    """``<secret>/<key>``: the key set a run with ``apiKeySecretRef`` names (the chart configures one per Secret
    key it mounts, reading :func:`secret_key_variable`)."""
    return f"{secret}/{key}"


def configured_secrets(
    environ: Mapping[str, str] | None = None, *, key_sets: KeySets | None = None
) -> tuple[SecretStr, ...]:
    """Every API key and storage credential this process may use (each variable read, set or shadowed).

    The entry points redact these from everything the process emits: log lines, errors, statuses.
    """
    env = os.environ if environ is None else environ
    variables = (*_KEY_VARIABLES, *(key_sets.all_variables() if key_sets else ()))
    keys = {part.strip() for name in variables for part in env.get(name, "").split(",")}
    credentials = {env.get(name, "").strip() for names in _STORAGE_SECRETS.values() for name in names}
    return tuple(SecretStr(value) for value in sorted((keys | credentials) - {""}))


@dataclass(frozen=True)
class ClientAuthFiles:
    """Where a client of the services finds its credentials (PEM files and a token file); all optional."""

    token_file: str | None = None  # a bearer token, sent as `authorization: Bearer` on every call
    tls_ca: str | None = None  # speak TLS, trusting this CA (or the server's certificate)
    tls: bool = False  # speak TLS with the system's trusted CAs (no --tls-ca)
    client_cert: str | None = None  # mTLS: this client's certificate and key
    client_key: str | None = None

    def merged(self, override: ClientAuthFiles) -> ClientAuthFiles:
        """These files with every value ``override`` sets taking precedence (flags over environment)."""
        return ClientAuthFiles(
            token_file=override.token_file or self.token_file,
            tls_ca=override.tls_ca or self.tls_ca,
            tls=override.tls or self.tls,
            client_cert=override.client_cert or self.client_cert,
            client_key=override.client_key or self.client_key,
        )


def client_auth_files_from_env(environ: Mapping[str, str] | None = None) -> ClientAuthFiles:
    """``PATCHLINE_TOKEN_FILE``, ``PATCHLINE_TLS_CA``, ``PATCHLINE_TLS`` (1: TLS with the system CAs),
    ``PATCHLINE_TLS_CLIENT_CERT`` and ``PATCHLINE_TLS_CLIENT_KEY``."""
    env = os.environ if environ is None else environ
    return ClientAuthFiles(
        token_file=env.get("PATCHLINE_TOKEN_FILE") or None,
        tls_ca=env.get("PATCHLINE_TLS_CA") or None,
        tls=env.get("PATCHLINE_TLS", "") in ("1", "true", "yes"),
        client_cert=env.get("PATCHLINE_TLS_CLIENT_CERT") or None,
        client_key=env.get("PATCHLINE_TLS_CLIENT_KEY") or None,
    )


def project_file_loc_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """The Agentless structure folder, ``PROJECT_FILE_LOC``, if set."""
    env = os.environ if environ is None else environ
    return env.get("PROJECT_FILE_LOC") or None


def env_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """One environment variable, for entry points that document it (e.g. ``BASE_URL``)."""
    env = os.environ if environ is None else environ
    return env.get(name) or None
