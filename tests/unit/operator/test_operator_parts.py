"""The operator's pure parts: settings from the environment, job ids, counts, URLs from EndpointSlices,
key variable names, child InferenceRuns of a Rollout, conditions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from patchline.client import progress_of
from patchline.core.errors import InputError
from patchline.core.settings import secret_key_variable
from patchline.core.spec import (
    ConditionType,
    EndpointEngine,
    InferenceRun,
    InferenceStage,
    Rollout,
    SecretKeyRef,
    SGLangEngine,
    load_manifest,
    parse_manifest,
)
from patchline.pipeline.plan import plan_rollout, planned_stages
from patchline.rpc.v1 import common_pb2
from patchline_operator.backend import child_name, child_run
from patchline_operator.config import DEFAULT_SERVICES_ADDRESS, config_from_env
from patchline_operator.jobs import job_id
from patchline_operator.server import key_set_of, slice_urls
from patchline_operator.status import with_condition

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]


def test_settings_default_to_one_address_and_take_per_service_overrides(tmp_path: Path) -> None:
    plain = config_from_env({})
    assert set(plain.service_targets.values()) == {DEFAULT_SERVICES_ADDRESS}
    assert Path(plain.store_uri).is_absolute() and plain.poll_seconds == 10.0
    config = config_from_env(
        {
            "PATCHLINE_SERVICES_ADDRESS": "svc:1",
            "PATCHLINE_GATEWAY_ADDRESS": "gw:2",
            "PATCHLINE_STORE_URI": "s3://bucket/patchline/",
            "PATCHLINE_OPERATOR_POLL_SECONDS": "2.5",
            "PATCHLINE_OPERATOR_NAMESPACES": "a, b",
        }
    )
    assert config.target("gateway") == "gw:2" and config.target("prompts") == "svc:1"
    assert config.store_uri == "s3://bucket/patchline" and config.poll_seconds == 2.5
    assert config.namespaces == ("a", "b")
    with pytest.raises(InputError, match="unknown service"):
        config.target("nope")
    for bad in ("soon", "0"):
        with pytest.raises(InputError, match="PATCHLINE_OPERATOR_POLL_SECONDS"):
            config_from_env({"PATCHLINE_OPERATOR_POLL_SECONDS": bad})


def test_job_ids_are_stable_per_resource_and_differ_for_a_recreated_one() -> None:
    first = job_id("ns", "run", "uid-1", "infer")
    assert first == job_id("ns", "run", "uid-1", "infer")
    assert first.startswith("run-infer-") and first != job_id("ns", "run", "uid-2", "infer")
    assert job_id("ns", "run", "uid-1", "gen_step1") != first


def test_progress_counts_skipped_as_succeeded_and_renders_the_summary() -> None:
    job = common_pb2.Job(
        progress=common_pb2.Progress(
            total=10, succeeded=5, skipped=2, failed=1, in_flight=2, prompt_tokens=70, completion_tokens=30
        )
    )
    counts = progress_of(job)
    assert (counts.total, counts.succeeded, counts.failed, counts.in_flight, counts.tokens) == (10, 7, 1, 2, 100)
    assert counts.summary == "8/10 (1 failed)"
    assert progress_of(common_pb2.Job()).total is None


def test_urls_from_ready_endpoints_with_each_slice_port() -> None:
    slices: list[dict[str, Any]] = [
        {
            "ports": [{"name": "metrics", "port": 9090}, {"name": "http", "port": 31000}],
            "endpoints": [
                {"addresses": ["10.0.0.2"], "conditions": {"ready": True}},
                {"addresses": ["10.0.0.3"], "conditions": {"ready": False}},
                {"addresses": ["fd00::4"]},
            ],
        },
        {"ports": [], "endpoints": [{"addresses": ["10.0.0.5"]}]},
    ]
    assert slice_urls(slices) == ["http://10.0.0.2:31000", "http://10.0.0.5:30000", "http://[fd00::4]:31000"]
    assert slice_urls([]) == []
    # named by their DNS records below the headless Service: what the chart's *.<namespace>.svc rule allows
    assert slice_urls(slices, domain="r-sglang-pods.research.svc") == [
        "http://10-0-0-2.r-sglang-pods.research.svc:31000",
        "http://10-0-0-5.r-sglang-pods.research.svc:30000",
        "http://fd00--4.r-sglang-pods.research.svc:31000",
    ]


def test_the_operator_reads_its_credentials_and_url_form_from_the_environment() -> None:
    config = config_from_env({"PATCHLINE_POD_DNS": "1", "PATCHLINE_TOKEN_FILE": "/t", "PATCHLINE_TLS_CA": "/ca"})
    assert config.pod_dns and config.auth.token_file == "/t" and config.auth.tls_ca == "/ca"
    assert not config_from_env({}).pod_dns


def test_key_sets_are_named_by_the_run_or_derived_from_its_secret_reference() -> None:
    ref = SecretKeyRef(name="openai-keys", key="api-key")
    engine = EndpointEngine(type="endpoint", urls=["http://m.research.svc:8000"], model="m", api_key_secret_ref=ref)
    assert key_set_of(engine) == "openai-keys/api-key"
    assert key_set_of(engine.model_copy(update={"api_key_set": "openai"})) == "openai"
    assert key_set_of(engine.model_copy(update={"api_key_secret_ref": None})) is None
    sglang = SGLangEngine(type="sglang", model_path="m", api_key_secret_ref=SecretKeyRef(name="sglang-key"))
    assert key_set_of(sglang) == "sglang-key/api-key"  # the key its own server requires
    # the chart holds that Secret's key in this variable of the gateway and configures the set to read it
    assert secret_key_variable(ref.name, ref.key) == "PATCHLINE_KEY_OPENAI_KEYS_API_KEY"


def test_child_inference_runs_point_at_the_rollout_server() -> None:
    rollout = load_manifest(REPO / "k8s" / "examples" / "bugfixer-rollout.yaml")
    assert isinstance(rollout, Rollout)
    plans = [p for p in planned_stages(plan_rollout(rollout, run_uri="s3://b/runs/bugfixer")) if p.is_inference]
    assert isinstance(rollout.spec.engine, SGLangEngine)
    urls = ["http://10.0.0.2:30000", "http://10.0.0.3:30000"]
    settings = plans[0].settings
    assert isinstance(settings, InferenceStage)
    target = rollout.spec.engine.model_endpoints(urls)
    child = child_run(rollout, plans[0], settings.model_copy(update={"endpoints": target}), "research")
    assert child["metadata"]["name"] == "bugfixer-infer-step1"
    assert child["metadata"]["labels"]["patchline.dev/stage"] == "infer_step1"
    parsed = parse_manifest(child)  # a valid InferenceRun
    assert isinstance(parsed, InferenceRun)
    assert parsed.spec.input == "s3://b/runs/bugfixer/batch_requests_step1.jsonl"
    assert parsed.spec.engine.model_dump(mode="json", exclude_none=True) == {
        "type": "endpoint",
        "urls": urls,
        "model": "deepseek-r1-distill-32b",
        "flavor": "sglang",
    }
    assert parsed.spec.executor == rollout.spec.executor  # carried whole
    long = child_name("r" * 70, "proc_step1_gen_step2")
    assert len(long) <= 63 and long != child_name("r" * 71, "proc_step1_gen_step2")


def test_condition_transition_time_moves_only_when_the_status_changes() -> None:
    first = with_condition([], ConditionType.PROGRESSING, True, "Running", "1/10")
    again = with_condition(first, ConditionType.PROGRESSING, True, "Running", "5/10")
    assert len(again) == 1 and again[0].message == "5/10"
    assert again[0].last_transition_time == first[0].last_transition_time
    done = with_condition(again, ConditionType.COMPLETE, True, "Succeeded")
    assert [c.type for c in done] == ["Progressing", "Complete"]
