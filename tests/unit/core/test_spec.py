"""Run specs: YAML -> model -> camelCase round trips, typos name their field path, defaults are explicit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from patchline.core.errors import InputError
from patchline.core.spec import (
    DEFAULT_SGLANG_IMAGE,
    AgentlessWorkflow,
    EditBenchWorkflow,
    EndpointEngine,
    InferenceRun,
    InferenceRunStatus,
    OracleEngine,
    Phase,
    ProgressCounts,
    PvcVolume,
    Rollout,
    RolloutStatus,
    SGLangEngine,
    StageStatus,
    load_manifest,
    parse_manifest,
)

pytestmark = pytest.mark.unit

ROLLOUT_YAML = """\
apiVersion: patchline.dev/v1alpha1
kind: Rollout
metadata:
  name: lite-bugfixer
  labels: {team: research}
spec:
  engine:
    type: sglang
    modelPath: /models/Qwen3-8B
    servedModelName: qwen3-8b
    tpSize: 2
    dpSize: 4
    replicas: 2
    reasoningParser: qwen3
    extraArgs: ["--mem-fraction-static", "0.85"]
    modelVolume: {type: pvc, claimName: model-weights}
    tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
    nodeSelector: {nvidia.com/gpu.product: H100}
  dataset:
    source: princeton-nlp/SWE-bench_Lite
    instances: [django__django-11099, astropy__astropy-12907]
  repositories: {structureDir: s3://patchline/structures}
  workflow: {type: bugfixer, numWorkers: 16, convertCrlf: true}
  sampling: {temperature: 0.6, samples: 4, enableThinking: true, thinkingBudget: 16384}
  executor: {concurrency: 128, timeoutSeconds: 3600}
  output: s3://patchline/runs/lite-bugfixer
"""

INFERENCE_RUN_YAML = """\
apiVersion: patchline.dev/v1alpha1
kind: InferenceRun
metadata: {name: one-shot, namespace: research}
spec:
  engine:
    type: endpoint
    urls: ["http://127.0.0.1:30000"]
    model: gpt-x
    apiKeySecretRef: {name: openai-key}
  input: s3://patchline/req.jsonl
  output: responses.jsonl
"""


def _load(text: str) -> Any:
    return yaml.safe_load(text)


def test_rollout_round_trips_yaml_to_model_to_camel_case_dict() -> None:
    run = load_manifest(ROLLOUT_YAML)
    assert isinstance(run, Rollout)
    engine = run.spec.engine
    assert isinstance(engine, SGLangEngine)
    assert (engine.tp_size, engine.dp_size, engine.gpus_per_pod, engine.model_name) == (2, 4, 8, "qwen3-8b")
    assert isinstance(engine.model_volume, PvcVolume) and engine.model_volume.claim_name == "model-weights"
    assert engine.tolerations[0].operator == "Exists"
    dumped = run.to_manifest()
    # every key the user wrote comes back unchanged, in camelCase
    written = _load(ROLLOUT_YAML)
    for section in ("engine", "dataset", "workflow", "sampling", "executor"):
        for key, value in written["spec"][section].items():
            got = dumped["spec"][section][key]
            if isinstance(value, dict):  # nested objects gain their defaults
                got = {k: v for k, v in got.items() if k in value}
            assert got == value, (section, key)
    assert dumped["spec"]["engine"]["modelVolume"]["claimName"] == "model-weights"
    assert "model_path" not in yaml.safe_dump(dumped)
    # and the dump is itself a valid manifest that gives the same model
    assert parse_manifest(dumped) == run
    assert load_manifest(yaml.safe_dump(dumped)) == run


def test_inference_run_round_trip_and_output_resolution() -> None:
    run = load_manifest(INFERENCE_RUN_YAML)
    assert isinstance(run, InferenceRun)
    assert isinstance(run.spec.engine, EndpointEngine)
    assert run.spec.engine.api_key_secret_ref is not None and run.spec.engine.api_key_secret_ref.key == "api-key"
    assert run.metadata.namespace == "research"
    assert run.output_uri("s3://bucket/root") == "s3://bucket/root/responses.jsonl"
    assert parse_manifest(run.to_manifest()) == run


def test_snake_case_names_are_accepted_too() -> None:
    engine = SGLangEngine.model_validate({"type": "sglang", "model_path": "/m", "tp_size": 4})
    assert engine.tp_size == 4
    assert engine.to_manifest()["tpSize"] == 4


def test_defaults_are_explicit() -> None:
    run = load_manifest(
        "apiVersion: patchline.dev/v1alpha1\nkind: Rollout\nmetadata: {name: d}\nspec:\n"
        "  engine: {type: sglang, modelPath: /m}\n  dataset: {source: x.jsonl}\n"
        "  workflow: {type: agentless, locFile: loc.jsonl}\n"
    )
    assert isinstance(run, Rollout)
    spec = run.to_manifest()["spec"]
    assert spec["engine"] == {
        "type": "sglang",
        "modelPath": "/m",
        "image": DEFAULT_SGLANG_IMAGE,
        "tpSize": 1,
        "dpSize": 1,
        "replicas": 1,
        "extraArgs": [],
        "resources": {"requests": {}, "limits": {}},
        "shmSize": "32Gi",
        "nodeSelector": {},
        "tolerations": [],
        "startupTimeoutSeconds": 1800,
        "keepServer": False,
    }
    assert DEFAULT_SGLANG_IMAGE == "lmsysorg/sglang:v0.5.23"
    assert spec["workflow"] == {
        "type": "agentless",
        "locFile": "loc.jsonl",
        "topN": 1,
        "contextWindow": 10,
        "locInterval": False,
        "skipGreedy": False,
        "cot": False,
        "compatNewlines": False,
        "numThreads": 1,
        "maxAnswerBytes": 4194304,
        "itemTimeoutSeconds": 300.0,
        "selection": {"plausible": False, "resampleInvalid": 0, "resampleSamples": 1},
    }
    assert "sampling" not in spec  # unset: the workflow's own defaults (Sampling's, or EditBench's table)
    assert spec["executor"] == {
        "concurrency": 64,
        "timeoutSeconds": 600.0,
        "connectTimeoutSeconds": 10.0,
        "maxAttempts": 6,
        "backoffBaseSeconds": 1.0,
        "backoffCapSeconds": 60.0,
        "retryAfterCapSeconds": 300.0,
        "affinity": False,
        "compact": False,
        "prices": {},
        "cooldownAfterFailures": 5,
        "cooldownBaseSeconds": 1.0,
        "cooldownCapSeconds": 60.0,
        "partLines": 256,
        "partSeconds": 2.0,
        "readChunkLines": 512,
        "forceHttpx": False,
        "promptGrouping": True,
        "affinityLoadFactor": 1.25,
        "stallWarningSeconds": 60.0,
    }
    assert spec["dataset"] == {"source": "x.jsonl", "split": "test", "instances": []}
    assert run.output_uri("/srv/store") == "/srv/store/runs/d"


def test_every_field_has_a_description() -> None:
    missing: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name, prop in node.get("properties", {}).items():
                if "description" not in prop:
                    missing.append(f"{where}.{name}")
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    for model in (InferenceRun, Rollout):
        walk(model.model_json_schema(by_alias=True), model.__name__)
    assert missing == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("tpSize: 2", "tpSzie: 2", "spec.engine.tpSzie: Extra inputs are not permitted"),
        ("claimName: model-weights", "claimNme: model-weights", "spec.engine.modelVolume.claimNme"),
        ("numWorkers: 16", "numWorkers: 0", "spec.workflow.numWorkers: Input should be greater than or equal to 1"),
        ("operator: Exists", "operator: Maybe", "spec.engine.tolerations[0].operator"),
        ("temperature: 0.6", "temprature: 0.6", "spec.sampling.temprature: Extra inputs are not permitted"),
        ("type: bugfixer", "type: bugfix", "spec.workflow: Input tag 'bugfix' found using 'type' does not match"),
        ("name: lite-bugfixer", "name: Lite_Bugfixer", "metadata.name: String should match pattern"),
    ],
)
def test_a_bad_field_is_named_by_its_path(old: str, new: str, expected: str, tmp_path: Path) -> None:
    assert old in ROLLOUT_YAML
    path = tmp_path / "rollout.yaml"
    path.write_text(ROLLOUT_YAML.replace(old, new), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_manifest(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_errors_for_kind_version_yaml_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"kind: expected one of InferenceRun, Rollout, got 'Job'"):
        load_manifest(ROLLOUT_YAML.replace("kind: Rollout", "kind: Job"))
    with pytest.raises(InputError, match=r"apiVersion: expected 'patchline.dev/v1alpha1'"):
        load_manifest(ROLLOUT_YAML.replace("v1alpha1", "v1"))
    with pytest.raises(InputError, match=r"<manifest>:4: not valid YAML"):
        load_manifest("apiVersion: x\nkind: [\nmetadata: {\n")
    with pytest.raises(InputError, match=r"missing\.yaml: cannot read the manifest"):
        load_manifest(str(tmp_path / "missing.yaml"))
    with pytest.raises(InputError, match="a manifest must be a mapping"):
        parse_manifest(["not", "a", "mapping"])


def test_engine_variants_validate_their_own_fields() -> None:
    oracle = OracleEngine.model_validate({"type": "oracle"})
    assert oracle.model_name == "oracle" and oracle.dataset is None
    with pytest.raises(ValueError, match="must start with http"):
        EndpointEngine.model_validate({"type": "endpoint", "urls": ["127.0.0.1:30000"], "model": "m"})
    with pytest.raises(ValueError, match="Extra inputs"):
        # a field of another variant is a typo here
        EndpointEngine.model_validate({"type": "endpoint", "urls": ["http://h"], "model": "m", "tpSize": 2})
    with pytest.raises(ValueError, match="operator Exists must not have a value"):
        SGLangEngine.model_validate(
            {"type": "sglang", "modelPath": "/m", "tolerations": [{"operator": "Exists", "value": "x"}]}
        )


def test_public_surface() -> None:
    import patchline.core.spec as spec

    assert sorted(spec.__all__) == sorted(set(spec.__all__))
    assert all(hasattr(spec, name) for name in spec.__all__)
    assert {"InferenceRun", "Rollout", "load_manifest", "parse_manifest", "RolloutStage", "Phase"} <= set(spec.__all__)


def test_workflow_parameters() -> None:
    agentless = AgentlessWorkflow.model_validate({"type": "agentless", "locFile": "l.jsonl", "topN": 3})
    assert agentless.top_n == 3
    editbench = EditBenchWorkflow.model_validate({"type": "editbench", "useBm25": True, "topn": 5})
    assert editbench.effective_run_id == "0.2_bm25_5"
    assert EditBenchWorkflow.model_validate({"type": "editbench", "runId": "r1"}).effective_run_id == "r1"
    with pytest.raises(InputError, match=r"^x\.yaml: spec\.workflow: Value error, startFile 'b' sorts after endFile"):
        parse_manifest(_load(ROLLOUT_YAML.replace("numWorkers: 16", "startFile: b, endFile: a")), source="x.yaml")


def test_status_models_are_camel_case_and_tolerate_kopf_records() -> None:
    status = RolloutStatus.model_validate(
        {
            "phase": "Running",
            "progress": {"total": 10, "succeeded": 4, "failed": 1, "inFlight": 3, "tokensPerSecond": 12.5},
            "stages": [{"name": "gen_step1", "phase": "Succeeded", "artifacts": {"requests": "s3://b/r.jsonl"}}],
            "observedGeneration": 2,
            "kopf": {"progress": {"handler": {"retries": 1}}},
        }
    )
    assert status.phase is Phase.RUNNING and not status.phase.is_final
    assert status.progress.render() == "5/10 (1 failed)"
    assert ProgressCounts(succeeded=3).render() == "3"
    dumped = status.to_manifest()
    assert dumped["progress"]["inFlight"] == 3 and dumped["observedGeneration"] == 2
    assert dumped["stages"][0]["phase"] == "Succeeded"
    assert "kopf" not in dumped
    assert StageStatus(name="infer").phase is Phase.PENDING
    assert InferenceRunStatus().phase is Phase.PENDING and Phase.FAILED.is_final


def test_the_old_key_variable_field_says_what_replaced_it() -> None:
    engine = {"type": "endpoint", "urls": ["http://127.0.0.1:1"], "model": "m", "apiKeyEnv": "AWS_SECRET_ACCESS_KEY"}
    manifest = {"apiVersion": "patchline.dev/v1alpha1", "kind": "InferenceRun", "metadata": {"name": "x"}}
    with pytest.raises(InputError, match="apiKeyEnv was replaced by apiKeySet"):
        parse_manifest({**manifest, "spec": {"engine": engine, "input": "i", "output": "o"}})
