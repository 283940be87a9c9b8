"""``make chart``: helm lint, helm template (default and full values), and schema validation of what renders.

Built-in kinds are validated with kubernetes-validate (offline schemas, Kubernetes 1.33, strict: unknown fields
are errors); patchline's custom resources (the example manifests) against the CRDs' own OpenAPI schemas with
jsonschema. Kinds from other projects' CRDs (Prometheus Operator's ServiceMonitor, Kopf's peering objects) have
no schema here and are listed as not validated.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from patchline.devtools import tool_parser
from patchline.devtools.helm import ensure_helm, helm_env
from patchline.devtools.structural import strict_copy

__all__ = ["KUBERNETES_VERSION", "ChartReport", "check_chart", "main", "validate_custom_resources"]

KUBERNETES_VERSION = "1.33.0"
CHART = Path("charts") / "patchline"
FULL_VALUES = CHART / "ci" / "full-values.yaml"
FOREIGN_GROUPS = ("monitoring.coreos.com/", "kopf.dev/", "cert-manager.io/")


@dataclass
class ChartReport:
    """What was checked and what failed."""

    helm_seconds: float = 0.0
    helm_cached: bool = True
    rendered: dict[str, int] = field(default_factory=dict)
    validated: int = 0
    custom_resources: int = 0
    not_validated: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.errors


def _helm(helm: Path, args: Sequence[str], env: dict[str, str]) -> str:
    done = subprocess.run([str(helm), *args], capture_output=True, text=True, env=env, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"helm {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def _crd_validators(root: Path) -> dict[str, jsonschema.Draft4Validator]:
    validators: dict[str, jsonschema.Draft4Validator] = {}
    for path in sorted((root / CHART / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text(encoding="utf-8"))
        schema = strict_copy(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
        jsonschema.Draft4Validator.check_schema(schema)
        validators[f"{crd['spec']['group']}/{crd['spec']['names']['kind']}"] = jsonschema.Draft4Validator(schema)
    return validators


def _validate_builtin(doc: dict[str, Any], where: str, report: ChartReport) -> None:
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        report.errors.append(f"{where}: {exc.message} at {'.'.join(str(p) for p in exc.path)}")
    except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
        report.errors.append(f"{where}: no Kubernetes schema: {exc}")
    else:
        report.validated += 1


def validate_custom_resources(
    docs: Iterable[tuple[str, dict[str, Any]]], validators: dict[str, jsonschema.Draft4Validator], report: ChartReport
) -> None:
    """Validate patchline custom resources against their CRD schemas (strict about unknown fields)."""
    for where, doc in docs:
        group = str(doc.get("apiVersion", "")).split("/")[0]
        validator = validators.get(f"{group}/{doc.get('kind')}")
        if validator is None:
            report.errors.append(f"{where}: no CRD for {doc.get('apiVersion')} {doc.get('kind')}")
            continue
        messages = [f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
        report.errors.extend(f"{where}: {m}" for m in messages)
        report.custom_resources += 0 if messages else 1


def _check_rendered(
    text: str, label: str, validators: dict[str, jsonschema.Draft4Validator], report: ChartReport
) -> None:
    docs = [d for d in yaml.safe_load_all(text) if d]
    report.rendered[label] = len(docs)
    for doc in docs:
        where = f"{label}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        api_version = str(doc.get("apiVersion", ""))
        if api_version.startswith("patchline.dev/"):
            validate_custom_resources([(where, doc)], validators, report)
        elif api_version.startswith(FOREIGN_GROUPS):
            report.not_validated.append(where)
        else:
            _validate_builtin(doc, where, report)


def check_chart(root: Path, *, cache_dir: Path | None = None) -> ChartReport:
    """Lint, render (default and full values) and validate the chart below ``root``; never raises on findings."""
    report = ChartReport()
    fetched = ensure_helm(cache_dir or root / ".cache" / "helm")
    report.helm_seconds, report.helm_cached = fetched.seconds, fetched.cached
    validators = _crd_validators(root)
    with tempfile.TemporaryDirectory(prefix="patchline-helm-") as home:
        env = helm_env(Path(home))
        chart = str(root / CHART)
        for label, extra in (("default", []), ("full", ["-f", str(root / FULL_VALUES)])):
            try:
                _helm(fetched.path, ["lint", "--strict", chart, *extra], env)
                rendered = _helm(
                    fetched.path,
                    ["template", "patchline", chart, "--namespace", "patchline", "--include-crds",
                     "--kube-version", KUBERNETES_VERSION, *extra],
                    env,
                )  # fmt: skip
            except RuntimeError as exc:
                report.errors.append(f"{label}: {exc}")
                continue
            _check_rendered(rendered, label, validators, report)
    examples = sorted((root / "k8s" / "examples").glob("*.yaml"))
    validate_custom_resources(
        ((f"example {p.name}", yaml.safe_load(p.read_text(encoding="utf-8"))) for p in examples), validators, report
    )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Run every check and print a summary; exit 1 if anything failed."""
    parser = tool_parser("check_chart", __doc__)
    args = parser.parse_args(argv)
    started = time.monotonic()
    report = check_chart(args.root)
    fetch = "cached" if report.helm_cached else f"fetched in {report.helm_seconds:.1f} s"
    print(f"helm: {fetch}")
    for label, count in report.rendered.items():
        print(f"helm lint + template ({label} values): {count} manifests")
    print(f"kubernetes-validate {KUBERNETES_VERSION} --strict: {report.validated} manifests valid")
    print(f"custom resources valid against the CRD schemas: {report.custom_resources}")
    for where in report.not_validated:
        print(f"not validated (third-party CRD kind, no schema offline): {where}")
    for error in report.errors:
        print(f"ERROR {error}", file=sys.stderr)
    print(f"{'chart OK' if report.ok else f'{len(report.errors)} error(s)'} in {time.monotonic() - started:.1f} s")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
