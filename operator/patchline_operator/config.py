"""The operator's settings: one frozen object built from the environment at startup and kept in Kopf's memo.

Environment (every variable optional):

- ``PATCHLINE_SERVICES_ADDRESS``: ``host:port`` of the patchline services (all four), default ``127.0.0.1:50051``;
  ``PATCHLINE_{PROMPTS,RETRIEVAL,GATEWAY,PATCHES}_ADDRESS`` override it per service (the Helm chart sets these).
- ``PATCHLINE_STORE_URI``: where relative ``spec.output`` / ``spec.input`` paths resolve (``s3://bucket/patchline``).
- ``PATCHLINE_OPERATOR_POLL_SECONDS``: how often a run's state is re-derived (default 10).
- ``PATCHLINE_OPERATOR_NAMESPACE`` / ``PATCHLINE_OPERATOR_NAMESPACES``: the namespace(s) watched (comma-separated;
  informational: ``kopf run --namespace`` decides what Kopf watches).
- ``PATCHLINE_ORACLE_URL``: base URL of an oracle server, for runs whose engine is ``oracle``.
- ``PATCHLINE_LLAMACPP_IMAGE``: the image of llama.cpp servers whose spec names none (the chart sets its own).
- ``PATCHLINE_POD_DNS``: ``1`` to name model server pods by their DNS records (``10-0-0-5.<headless>.<ns>.svc``)
  instead of their addresses, so the gateway's ``--allow-endpoint http://*.<ns>.svc:30000`` covers them (the chart
  sets it).
- ``PATCHLINE_TOKEN_FILE``, ``PATCHLINE_TLS_CA``, ``PATCHLINE_TLS``, ``PATCHLINE_TLS_CLIENT_CERT`` /
  ``PATCHLINE_TLS_CLIENT_KEY``: the credentials sent to the services (``patchline.client.auth``).
- ``KUBECONFIG``: the kubeconfig file used outside a cluster (inside one, the service account is used).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from patchline.core.errors import InputError
from patchline.core.settings import ClientAuthFiles, client_auth_files_from_env, env_value

__all__ = ["DEFAULT_SERVICES_ADDRESS", "SERVICES", "OperatorConfig", "absolute_store", "config_from_env"]

SERVICES = ("prompts", "retrieval", "gateway", "patches")
DEFAULT_SERVICES_ADDRESS = "127.0.0.1:50051"
DEFAULT_POLL_SECONDS = 10.0


@dataclass(frozen=True)
class OperatorConfig:
    """Where the services are, where run artifacts live, and how often runs are looked at."""

    service_targets: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType(dict.fromkeys(SERVICES, DEFAULT_SERVICES_ADDRESS))
    )
    store_uri: str = "./results"  # relative spec paths resolve below this URI
    poll_seconds: float = DEFAULT_POLL_SECONDS  # seconds between two looks at a running run
    namespaces: tuple[str, ...] = ()  # empty: whatever Kopf was told to watch
    oracle_url: str | None = None  # the oracle server for engine type `oracle`
    llamacpp_image: str | None = None  # image of `llamacpp` servers without spec.engine.image (None: the spec's)
    kubeconfig: str | None = None  # outside a cluster: the kubeconfig path to use
    pod_dns: bool = False  # name model server pods by DNS (allowed as *.<namespace>.svc), not by address
    auth: ClientAuthFiles = field(default_factory=ClientAuthFiles)  # TLS and token sent to the services

    def target(self, service: str) -> str:
        """``host:port`` of one service (prompts, retrieval, gateway, patches)."""
        try:
            return self.service_targets[service]
        except KeyError:
            raise InputError(f"unknown service {service!r}; known: {', '.join(SERVICES)}") from None


def _positive_float(name: str, raw: str | None, default: float) -> float:
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{name}: expected a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise InputError(f"{name}: must be positive, got {raw!r}")
    return value


def absolute_store(uri: str) -> str:
    """A local store folder as an absolute path (relative run paths are joined below it); URIs unchanged."""
    if "://" in uri:
        return uri.rstrip("/") or uri
    return posixpath.normpath(Path(uri).absolute().as_posix())


def config_from_env(environ: Mapping[str, str] | None = None) -> OperatorConfig:
    """The operator's settings from ``PATCHLINE_*`` variables (see the module doc)."""
    default = env_value("PATCHLINE_SERVICES_ADDRESS", environ) or DEFAULT_SERVICES_ADDRESS
    targets = {name: env_value(f"PATCHLINE_{name.upper()}_ADDRESS", environ) or default for name in SERVICES}
    namespaces = env_value("PATCHLINE_OPERATOR_NAMESPACES", environ) or env_value(
        "PATCHLINE_OPERATOR_NAMESPACE", environ
    )
    poll = "PATCHLINE_OPERATOR_POLL_SECONDS"
    return OperatorConfig(
        service_targets=MappingProxyType(targets),
        store_uri=absolute_store(env_value("PATCHLINE_STORE_URI", environ) or "./results"),
        poll_seconds=_positive_float(poll, env_value(poll, environ), DEFAULT_POLL_SECONDS),
        namespaces=tuple(n.strip() for n in (namespaces or "").split(",") if n.strip()),
        oracle_url=env_value("PATCHLINE_ORACLE_URL", environ),
        llamacpp_image=env_value("PATCHLINE_LLAMACPP_IMAGE", environ),
        kubeconfig=env_value("KUBECONFIG", environ),
        pod_dns=env_value("PATCHLINE_POD_DNS", environ) in ("1", "true", "yes"),
        auth=client_auth_files_from_env(environ),
    )
