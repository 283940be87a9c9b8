"""The service boundary's checks, derived from the models: every marked field is checked, every path-like field
is marked, and each kind of value (paths, buckets, endpoints, key sets) is refused outside its allowlist."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel, Field

from patchline.core.access import AccessPolicy, EndpointRule, absolute_local_paths, map_marked
from patchline.core.errors import AccessDeniedError, InputError
from patchline.core.settings import KeySets, StorageConfig
from patchline.core.spec import STAGE_KINDS, SearchQuery, SpecModel
from patchline.core.spec.access import Access, field_access
from tests.fixtures.full_settings import FULL

pytestmark = pytest.mark.unit

REQUEST_MODELS: tuple[type[BaseModel], ...] = (*STAGE_KINDS, SearchQuery)
# Names of fields that may reach the file system, storage, the network or the environment.
PATH_LIKE = re.compile(r"uri|url|path|dir|file|folder|root|input|output|source|repo|cache|loc|template|save|key|env")
GOOD = {
    Access.READ: "data/in.jsonl",
    Access.WRITE: "runs/r1/out.jsonl",
    Access.DATASET: "data/lite.jsonl",
    Access.ENDPOINT: "http://127.0.0.1:9000",
    Access.KEY_SET: "openai",
}
BAD = {
    Access.READ: "/etc/passwd",
    Access.WRITE: "file:///etc",
    Access.DATASET: "/etc/shadow.jsonl",
    Access.ENDPOINT: "http://169.254.169.254:80",
    Access.KEY_SET: "AWS_SECRET_ACCESS_KEY",
}


def _models_below(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    yield model
    for info in model.model_fields.values():
        yield from (m for arg in _flatten(info.annotation) for m in _models_below(arg))


def _flatten(annotation: Any) -> Iterator[Any]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in get_args(annotation):
        yield from _flatten(arg)


def _holds_text(annotation: Any) -> bool:
    return annotation is str or any(_holds_text(arg) for arg in get_args(annotation))


def unmarked_path_fields(models: tuple[type[BaseModel], ...]) -> list[str]:
    """``Model.field`` of every string field named like a path, URL or key source that carries no marker."""
    found = {
        f"{model.__name__}.{name}"
        for root in models
        for model in _models_below(root)
        for name, info in model.model_fields.items()
        if PATH_LIKE.search(name) and _holds_text(info.annotation) and field_access(info) is None
    }
    return sorted(found)


def test_every_path_like_field_of_a_request_carries_an_access_marker() -> None:
    assert unmarked_path_fields(REQUEST_MODELS) == []


def test_a_new_path_field_without_a_marker_is_caught() -> None:
    class Probe(SpecModel):
        cache_dir: str | None = Field(default=None, description="a new folder")
        top_n: int = Field(default=1, description="not text")

    assert unmarked_path_fields((Probe,)) == ["Probe.cache_dir"]


def _marked(settings: BaseModel) -> list[tuple[Access, str]]:
    seen: list[tuple[Access, str]] = []

    def note(access: Access, path: str, value: str) -> str:
        seen.append((access, path))
        return value

    map_marked(settings, note, where="s")
    return seen


def test_the_derived_fields_include_every_place_the_issue_names() -> None:
    paths = {path for kind in STAGE_KINDS for _, path in _marked(kind.model_validate(FULL[kind]))}
    paths |= {path for _, path in _marked(SearchQuery(repo="r"))}
    expected = {
        "s.input", "s.output", "s.endpoints.urls[0]", "s.endpoints.api_key_set", "s.dataset.source",
        "s.repositories.structure_dir", "s.repositories.repo_root", "s.workflow.templates_dir",
        "s.workflow.loc_file", "s.snapshots[0].repo", "s.batch_output", "s.input_file", "s.output_file",
        "s.step1_file", "s.save_dir", "s.repo",
    }  # fmt: skip
    assert expected <= paths


@pytest.fixture
def policy(tmp_path: Path) -> AccessPolicy:
    (tmp_path / "store").mkdir()
    (tmp_path / "data").mkdir()
    return AccessPolicy.configure(
        store=str(tmp_path / "store"),
        allow_read=[str(tmp_path / "data")],
        allow_endpoints=["http://127.0.0.1:9000"],
        key_sets=KeySets.parse(["openai=OPENAI_TEST_KEYS"]),
    )


def _with(settings: BaseModel, target: str, bad: bool) -> BaseModel:
    """``settings`` with every marked value good, and ``target``'s bad when ``bad``."""
    return map_marked(
        settings,
        lambda a, p, v: v if a is Access.NOT_A_PATH else (BAD if bad and p == target else GOOD)[a],
        where="s",
    )


@pytest.mark.parametrize("kind", REQUEST_MODELS, ids=lambda k: k.__name__)
def test_each_marked_field_is_refused_alone_naming_itself(kind: type[BaseModel], policy: AccessPolicy) -> None:
    settings = kind.model_validate(FULL[kind]) if kind in FULL else SearchQuery(repo="r")
    fields = [(a, p) for a, p in _marked(settings) if a is not Access.NOT_A_PATH]
    assert fields
    policy.checked(_with(settings, "", bad=False), where="s")  # all good: accepted
    for _, path in fields:
        with pytest.raises(AccessDeniedError, match=rf"^{re.escape(path)}: "):
            policy.checked(_with(settings, path, bad=True), where="s")


def test_paths_resolve_below_the_store_and_through_symlinks(policy: AccessPolicy, tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    assert policy.check_write("f", "runs/x/out.jsonl") == f"{store}/runs/x/out.jsonl"
    assert policy.check_write("f", f"file://{store}/a") == f"{store}/a"
    assert policy.check_read("f", str(tmp_path / "data" / "lite.jsonl")) == str(tmp_path / "data" / "lite.jsonl")
    os.symlink("/etc", tmp_path / "store" / "etc")
    os.symlink(tmp_path / "data", tmp_path / "store" / "data-link")
    refused = {
        "etc/passwd": "outside the allowed roots",  # a symlink out of the store
        "../data/../../x": "outside the allowed roots",
        "/etc/passwd": "outside the allowed roots",
        "file:///etc/passwd": "outside the allowed roots",
        "file://otherhost/etc/passwd": "names another host",
        "http://example.com/x.jsonl": "uses http://",
        "memory://x": "uses memory://",
        "simplecache::file:///etc/passwd": "is not a path or URI",
        "s3://bucket/x": "not in the store or an allowed bucket",
        "": "is not a path",
        "a\x00b": "is not a path",
    }
    for value, why in refused.items():
        with pytest.raises(AccessDeniedError, match=re.escape(why)):
            policy.check_read("f", value)
    # a symlink to a read-only root may be read through, never written through
    assert policy.check_read("f", "data-link/x") == str(tmp_path / "data" / "x")
    with pytest.raises(AccessDeniedError, match="outside the store"):
        policy.check_write("f", "data-link/x")
    with pytest.raises(AccessDeniedError, match="outside the store"):
        policy.check_write("f", str(tmp_path / "data" / "x"))


def test_hub_dataset_names_stay_names_and_files_are_paths(policy: AccessPolicy, tmp_path: Path) -> None:
    assert policy.check_dataset("d", "princeton-nlp/SWE-bench_Lite") == "princeton-nlp/SWE-bench_Lite"
    assert policy.check_dataset("d", "lite.jsonl") == str(tmp_path / "store" / "lite.jsonl")
    for path in ("/etc/passwd", "/etc/x.parquet", "s3://other/x.json"):
        with pytest.raises(AccessDeniedError):
            policy.check_dataset("d", path)


def test_s3_needs_an_explicit_endpoint_and_a_configured_bucket(tmp_path: Path) -> None:
    nowhere = StorageConfig()
    with pytest.raises(InputError, match="explicit endpoint"):
        AccessPolicy.configure(store=str(tmp_path), allow_buckets=["datasets"], storage=nowhere)
    with pytest.raises(InputError, match="explicit endpoint"):
        AccessPolicy.configure(store="s3://runs/prefix", storage=nowhere)
    policy = AccessPolicy.configure(
        store="s3://runs/prefix",
        allow_buckets=["datasets"],
        storage=StorageConfig(endpoint_url="http://127.0.0.1:9"),
    )
    assert policy.check_write("f", "x/out.jsonl") == "s3://runs/prefix/x/out.jsonl"
    assert policy.check_write("f", "s3://runs/prefix/y") == "s3://runs/prefix/y"
    assert policy.check_read("f", "s3://datasets/lite.jsonl") == "s3://datasets/lite.jsonl"
    for uri, why in {
        "s3://datasets/lite.jsonl": "outside the store",  # read-only bucket
        "s3://runs/other/x": "outside the store",
        "s3://runs/prefix/../other/x": "not a plain",
        "../x": "leaves the store",
        "/tmp/x": "outside the store",
        "s3://elsewhere/x": "outside the store",
    }.items():
        with pytest.raises(AccessDeniedError, match=re.escape(why)):
            policy.check_write("f", uri)


def test_endpoint_rules() -> None:
    policy = AccessPolicy(
        store="/nowhere",
        endpoints=tuple(
            EndpointRule.parse(r)
            for r in ("127.0.0.1:8000", "https://api.example.com/v1", "http://*.research.svc:30000", "[::1]:*")
        ),
    )
    allowed = [
        "http://127.0.0.1:8000",
        "https://127.0.0.1:8000/v1",
        "https://api.example.com/v1",
        "https://API.example.com:443/v1/chat/completions",
        "http://10-0-0-5.run-sglang-pods.research.svc:30000",
        "http://[::1]:5",
    ]
    for url in allowed:
        assert policy.check_endpoint("u", url) == url
    refused = [
        "http://127.0.0.1:8001",
        "http://127.0.0.1.evil.example:8000",
        "https://api.example.com/v10",
        "https://api.example.com",
        "https://api.example.com:8443/v1",
        "http://api.example.com/v1",
        "http://research.svc:30000",
        "http://x.research.svc:30001",
        "http://127.0.0.1:8000@evil.example:8000",
        "http://user:pw@127.0.0.1:8000",
        "https://api.example.com/v1/../admin",
        "https://api.example.com/v1/%2e%2e/admin",
        "http://127.0.0.1:8000/\nx",
        "ftp://127.0.0.1:8000",
        "http://127.0.0.1:99999",
    ]
    for url in refused:
        with pytest.raises(AccessDeniedError):
            policy.check_endpoint("u", url)
    for rule in ("nohost", "http://", "ftp://x:1", "x:port", "http://a:99999"):
        with pytest.raises(InputError):
            EndpointRule.parse(rule)


def test_key_sets_are_names_of_configured_sets(policy: AccessPolicy) -> None:
    assert policy.check_key_set("k", "openai") == "openai"
    assert policy.check_key_set("k", "default") == "default"
    with pytest.raises(AccessDeniedError, match="not a configured key set"):
        policy.check_key_set("k", "AWS_SECRET_ACCESS_KEY")
    keys = KeySets.parse(["openai=OPENAI_TEST_KEYS"])
    assert [k.get_secret_value() for k in keys.keys("openai", {"OPENAI_TEST_KEYS": "a, b"}).keys] == ["a", "b"]
    assert len(keys.keys(None, {"OPENAI_API_KEY": "c"})) == 1
    with pytest.raises(InputError, match="unknown key set"):
        keys.keys("AWS_SECRET_ACCESS_KEY", {"AWS_SECRET_ACCESS_KEY": "secret"})
    for spec in ("openai", "=X", "a=b=c", "a=1X", "a b=X"):
        with pytest.raises(InputError, match="--key-set"):
            KeySets.parse([spec])


def test_a_client_sends_its_relative_paths_as_it_means_them(tmp_path: Path) -> None:
    settings = SearchQuery(repo="repos/a")
    assert absolute_local_paths(settings, base=str(tmp_path)).repo == str(tmp_path / "repos" / "a")
    assert absolute_local_paths(SearchQuery(repo="s3://b/r"), base=str(tmp_path)).repo == "s3://b/r"
