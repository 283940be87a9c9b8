"""What a request may reach: the roots, buckets, model endpoints and key sets a service was configured with.

A gRPC caller is untrusted. :class:`AccessPolicy` holds the server's allowlists and
:meth:`AccessPolicy.checked` walks a stage's settings, checking every field that carries an
:class:`~patchline.core.spec.access.Access` marker (the list of fields is derived from the models, never written
here). Paths are resolved the way the file system will see them (``..``, symlinks, ``file://``); a relative
path is resolved below the store, never against the server's working directory. What is refused is an
:class:`AccessDeniedError` naming the field (INVALID_ARGUMENT at the service edge); what is allowed comes back
resolved, so the stage works on exactly what was checked.

- local paths: reads inside the store or an ``--allow-read`` root, writes inside the store only;
- ``s3://`` (and ``s3a://``): the store's bucket and prefix (read-write), ``--allow-bucket`` buckets (read);
  only with an S3 endpoint configured, so nothing defaults to a public cloud endpoint;
- every other scheme (``http://``, ``memory://``, fsspec chains ``a::b``...) is refused;
- endpoint URLs must match an ``--allow-endpoint`` rule; key sets must be configured ones.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel

from patchline.core.errors import AccessDeniedError, InputError
from patchline.core.settings import KeySets, StorageConfig, storage_config_from_env
from patchline.core.spec.access import Access, field_access
from patchline.core.spec.manifest import is_dataset_file

__all__ = ["AccessPolicy", "EndpointRule", "absolute_local_paths", "map_marked"]

M = TypeVar("M", bound=BaseModel)
FieldCheck = Callable[[Access, str, str], str]

_S3_SCHEMES = ("s3", "s3a")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SHOWN = 200  # characters of a refused value quoted in an error


def _shown(value: str) -> str:
    return value if len(value) <= _SHOWN else f"{value[:_SHOWN]}..."


def _deny(field_name: str, value: str, why: str) -> AccessDeniedError:
    return AccessDeniedError(f"{field_name}: {_shown(value)} {why}")


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


@dataclass(frozen=True)
class _S3Place:
    scheme: str
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"{self.scheme}://{self.bucket}/{self.key}" if self.key else f"{self.scheme}://{self.bucket}"


def _s3_place(field_name: str, uri: str) -> _S3Place:
    """Bucket and key of an ``s3://`` URI whose key has no ``.``, ``..`` or empty segments (S3 would keep them
    literally, other tools would not: such a key is refused rather than interpreted)."""
    scheme, _, rest = uri.partition("://")
    bucket, _, key = rest.partition("/")
    key = key.rstrip("/")
    segments = key.split("/") if key else []
    if not bucket or any(s in ("", ".", "..") for s in segments) or "\\" in rest:
        raise _deny(field_name, uri, "is not a plain s3://bucket/key URI")
    return _S3Place(scheme.lower(), bucket, key)


@dataclass(frozen=True)
class EndpointRule:
    """One ``--allow-endpoint`` entry: ``host:port``, or a URL prefix ``http(s)://host[:port][/path]``.

    A host ``*.example.svc`` matches every name below ``example.svc``; a port ``*`` matches any port. A URL
    prefix without a port means its scheme's default port; its path matches on segment boundaries.
    """

    scheme: str | None
    host: str
    port: int | None  # None: any port
    path: str = ""

    @classmethod
    def parse(cls, text: str) -> EndpointRule:
        """The rule a flag value spells; InputError when it is neither form."""
        spec = text.strip()
        if "://" in spec:
            parts = urlsplit(spec)
            scheme = parts.scheme.lower()
            if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username or parts.query:
                raise InputError(f"--allow-endpoint {text!r}: expected http(s)://host[:port][/path] or host:port")
            port_text = _netloc_port(parts.netloc)
            port = None if port_text == "*" else _port(text, port_text) if port_text else _DEFAULT_PORTS[scheme]
            return cls(scheme, parts.hostname.lower(), port, parts.path.rstrip("/"))
        host, sep, port_text = spec.rpartition(":")
        if not sep or not host or "/" in spec:
            raise InputError(f"--allow-endpoint {text!r}: expected host:port or a URL prefix")
        return cls(None, host.lower().strip("[]"), None if port_text == "*" else _port(text, port_text))

    def matches(self, scheme: str, host: str, port: int, path: str) -> bool:
        """True when a parsed endpoint URL is covered by this rule."""
        if self.scheme is not None and scheme != self.scheme:
            return False
        if self.host.startswith("*."):
            if not host.endswith(self.host[1:]) or host == self.host[2:]:
                return False
        elif host != self.host:
            return False
        if self.port is not None and port != self.port:
            return False
        return not self.path or path == self.path or path.startswith(self.path + "/")

    def __str__(self) -> str:
        port = "*" if self.port is None else str(self.port)
        return f"{self.scheme}://{self.host}:{port}{self.path}" if self.scheme else f"{self.host}:{port}"


def _netloc_port(netloc: str) -> str:
    """The port part of ``host:port`` / ``[v6]:port`` ('' when there is none)."""
    host = netloc.rpartition("@")[2]
    head, sep, tail = host.rpartition(":")
    if not sep or (head.startswith("[") and not head.endswith("]")):
        return ""
    return tail


def _port(text: str, port_text: str) -> int:
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InputError(f"--allow-endpoint {text!r}: {port_text!r} is not a port (or *)")
    return int(port_text)


@dataclass(frozen=True)
class AccessPolicy:
    """The server's allowlists; build it with :meth:`configure` (which resolves and checks every root)."""

    store: str  # read-write: a resolved local folder, or s3://bucket[/prefix]
    read_roots: tuple[str, ...] = ()  # read-only resolved local folders or files
    buckets: tuple[str, ...] = ()  # read-only S3 buckets
    endpoints: tuple[EndpointRule, ...] = ()
    key_sets: KeySets = field(default_factory=KeySets)

    @classmethod
    def configure(
        cls,
        *,
        store: str,
        allow_read: Iterable[str] = (),
        allow_buckets: Iterable[str] = (),
        allow_endpoints: Iterable[str] = (),
        key_sets: KeySets | None = None,
        storage: StorageConfig | None = None,
    ) -> AccessPolicy:
        """The policy of a server started with these flags; InputError for a root or rule that cannot be."""
        buckets = tuple(dict.fromkeys(b.strip() for b in allow_buckets if b.strip()))
        store_uri = _configured_store(store)
        if buckets or store_uri.startswith(tuple(f"{s}://" for s in _S3_SCHEMES)):
            config = storage or storage_config_from_env()
            if not config.endpoint_url:
                raise InputError(
                    "S3 access needs an explicit endpoint (PATCHLINE_S3_ENDPOINT_URL or AWS_ENDPOINT_URL_S3): "
                    "no bucket defaults to a public cloud endpoint"
                )
        for bucket in buckets:
            if "/" in bucket or bucket in (".", ".."):
                raise InputError(f"--allow-bucket {bucket!r}: give a bucket name, not a path")
        roots = []
        for root in allow_read:
            resolved = os.path.realpath(os.path.abspath(root))
            if not os.path.exists(resolved):
                raise InputError(f"--allow-read {root}: no such file or folder")
            roots.append(resolved)
        return cls(
            store=store_uri,
            read_roots=tuple(dict.fromkeys(roots)),
            buckets=buckets,
            endpoints=tuple(EndpointRule.parse(rule) for rule in allow_endpoints),
            key_sets=key_sets or KeySets(),
        )

    # -- single values -------------------------------------------------------------------------
    def check_read(self, field_name: str, uri: str) -> str:
        """``uri`` resolved, if the store or a read-only root holds it."""
        place = self._place(field_name, uri)
        if isinstance(place, _S3Place):
            if self._in_store(place) or place.bucket in self.buckets:
                return place.uri
            raise _deny(field_name, uri, "is not in the store or an allowed bucket")
        if self._in_store(place) or any(_within(place, root) for root in self.read_roots):
            return place
        raise _deny(field_name, uri, "is outside the allowed roots (the store and the --allow-read roots)")

    def check_write(self, field_name: str, uri: str) -> str:
        """``uri`` resolved, if it is inside the store (the only place a request may write)."""
        place = self._place(field_name, uri)
        if self._in_store(place):
            return place.uri if isinstance(place, _S3Place) else place
        raise _deny(field_name, uri, f"is outside the store ({self.store}): requests write only there")

    def check_dataset(self, field_name: str, source: str) -> str:
        """A dataset file (or any path or URI) checked as a read; a Hugging Face name as it is."""
        if is_dataset_file(source) or "://" in source or source.startswith("/"):
            return self.check_read(field_name, source)
        return source

    def check_endpoint(self, field_name: str, url: str) -> str:
        """``url`` if an ``--allow-endpoint`` rule covers it."""
        if any(ord(c) < 33 or ord(c) > 126 for c in url):
            raise _deny(field_name, url, "is not a plain URL")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise _deny(field_name, url, "is not a valid URL") from None
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username is not None:
            raise _deny(field_name, url, "is not an http(s)://host[:port] URL without user info")
        if any(segment in (".", "..") for segment in unquote(parts.path).split("/")):
            raise _deny(field_name, url, "has . or .. in its path")
        host, path = parts.hostname.lower(), parts.path.rstrip("/")
        if any(rule.matches(scheme, host, port or _DEFAULT_PORTS[scheme], path) for rule in self.endpoints):
            return url
        raise _deny(field_name, url, "is not an allowed endpoint (--allow-endpoint)")

    def check_key_set(self, field_name: str, name: str) -> str:
        """``name`` if the server has a key set of that name."""
        if name in self.key_sets:
            return name
        raise _deny(
            field_name, repr(name), f"is not a configured key set (configured: {', '.join(self.key_sets.names)})"
        )

    # -- whole settings ------------------------------------------------------------------------
    def checked(self, settings: M, *, where: str) -> M:
        """``settings`` with every marked field checked and resolved (AccessDeniedError at the first refusal)."""
        return map_marked(settings, self._check, where=where)

    def _check(self, access: Access, field_name: str, value: str) -> str:
        checks: dict[Access, Callable[[str, str], str]] = {
            Access.READ: self.check_read,
            Access.WRITE: self.check_write,
            Access.DATASET: self.check_dataset,
            Access.ENDPOINT: self.check_endpoint,
            Access.KEY_SET: self.check_key_set,
        }
        check = checks.get(access)
        return value if check is None else check(field_name, value)

    # -- resolution ----------------------------------------------------------------------------
    def _place(self, field_name: str, uri: str) -> str | _S3Place:
        """A local path resolved (symlinks, ``..``), or an S3 place; refuses every other form."""
        if not uri or "\x00" in uri or "::" in uri:
            raise _deny(field_name, uri, "is not a path or URI the server reads")
        scheme, sep, rest = uri.partition("://")
        if sep:
            scheme = scheme.lower()
            if scheme in _S3_SCHEMES:
                return _s3_place(field_name, uri)
            if scheme != "file":
                raise _deny(field_name, uri, f"uses {scheme}://, which is not allowed (local paths and s3:// only)")
            host, _, path = rest.partition("/")
            if host not in ("", "localhost"):
                raise _deny(field_name, uri, "names another host")
            return os.path.realpath("/" + unquote(path))
        if os.path.isabs(uri):
            return os.path.realpath(uri)
        if not self._store_is_local:
            joined = posixpath.normpath(posixpath.join("/", uri)).lstrip("/")
            if joined != posixpath.normpath(uri):
                raise _deny(field_name, uri, "leaves the store")
            return _s3_place(field_name, f"{self.store}/{joined}")
        return os.path.realpath(os.path.join(self.store, uri))

    @property
    def _store_is_local(self) -> bool:
        return "://" not in self.store

    def _in_store(self, place: str | _S3Place) -> bool:
        if isinstance(place, str):
            return self._store_is_local and _within(place, self.store)
        if self._store_is_local:
            return False
        store = _s3_place("store", self.store)
        return place.bucket == store.bucket and (not store.key or _within(place.key, store.key))


def _configured_store(store: str) -> str:
    """The store as the policy compares it: a resolved absolute folder, or a plain s3:// URI."""
    scheme, sep, rest = store.partition("://")
    if not sep:
        return os.path.realpath(os.path.abspath(store))
    if scheme.lower() == "file":
        return os.path.realpath("/" + unquote(rest.partition("/")[2]))
    if scheme.lower() in _S3_SCHEMES:
        return _s3_place("--store", store).uri
    raise InputError(f"--store {store}: a local folder, file:// or s3:// URI")


# -- the walk over marked fields ---------------------------------------------------------------
def map_marked(model: M, check: FieldCheck, *, where: str) -> M:
    """``model`` with ``check(access, field path, value)`` applied to every string of every marked field,
    nested models included (a new model; the input is unchanged)."""
    updates: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        path = f"{where}.{name}" if where else name
        access = field_access(info)
        new = _map_strings(value, access, check, path) if access is not None else _map_nested(value, check, path)
        if new != value:
            updates[name] = new
    return model.model_copy(update=updates) if updates else model


def _map_strings(value: Any, access: Access, check: FieldCheck, path: str) -> Any:
    if isinstance(value, str):
        return check(access, path, value)
    if isinstance(value, list):
        return [_map_strings(item, access, check, f"{path}[{i}]") for i, item in enumerate(value)]
    return value


def _map_nested(value: Any, check: FieldCheck, path: str) -> Any:
    if isinstance(value, BaseModel):
        return map_marked(value, check, where=path)
    if isinstance(value, list):
        return [_map_nested(item, check, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {key: _map_nested(item, check, f"{path}.{key}") for key, item in value.items()}
    return value


def absolute_local_paths(settings: M, *, base: str) -> M:
    """``settings`` with every relative local path made absolute below ``base`` (the caller's folder).

    A client does this before sending settings to a service, which resolves relative paths below its store:
    what a user wrote relative to where they run the command keeps meaning that.
    """

    def absolute(access: Access, _path: str, value: str) -> str:
        local = access in (Access.READ, Access.WRITE) or (access is Access.DATASET and is_dataset_file(value))
        if local and "://" not in value and not os.path.isabs(value):
            return os.path.normpath(os.path.join(base, value))
        return value

    return map_marked(settings, absolute, where="")
