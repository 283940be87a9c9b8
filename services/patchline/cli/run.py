"""``patchline run MANIFEST``: execute a Rollout or InferenceRun manifest (the same file ``kubectl apply`` takes)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from patchline.cli.parser import add_mismatch_arguments
from patchline.cli.progress import cli_progress
from patchline.core.access import map_marked
from patchline.core.errors import InputError
from patchline.core.settings import ClientAuthFiles, KeySets
from patchline.core.spec import InferenceRun, Rollout, load_manifest
from patchline.core.spec.access import Access
from patchline.demo.prepare import missing_example_data
from patchline.pipeline.plan import plan_run, planned_stages
from patchline.pipeline.runner import RunnerSettings, run_manifest

__all__ = ["register"]


def register(parser: argparse.ArgumentParser) -> None:
    """Add the run options."""
    parser.add_argument("manifest", help="a Rollout or InferenceRun YAML file")
    parser.add_argument(
        "--base", default="./results", help="root that relative spec.output paths resolve below (default ./results)"
    )
    parser.add_argument("--via", default=None, metavar="HOST:PORT", help="run the stages on `patchline serve` there")
    model = parser.add_mutually_exclusive_group()
    model.add_argument(
        "--endpoint",
        default=None,
        metavar="URL",
        help="send inference to this OpenAI-compatible URL instead of the manifest's engine",
    )
    model.add_argument(
        "--oracle",
        action="store_true",
        help="answer with patchline's oracle server instead of the manifest's engine (no GPU, no key): the gold "
        "answers of the run's dataset, in the format each prompt asks for",
    )
    parser.add_argument(
        "--oracle-dataset",
        default=None,
        metavar="FILE",
        help="the oracle's gold data (SWE-bench instances or EditBench infbench lines); implies --oracle; "
        "default: the run's dataset (needed for an InferenceRun)",
    )
    parser.add_argument(
        "--key-set",
        action="append",
        default=[],
        metavar="NAME=ENV",
        help="in process: a key set the manifest's apiKeySet may name, read from variable ENV",
    )
    add_mismatch_arguments(parser, what="each stage's output", existing="lines")
    add_client_auth_arguments(parser)
    parser.set_defaults(handler=run)


def add_client_auth_arguments(parser: argparse.ArgumentParser) -> None:
    """The credentials a client presents to `patchline serve` (each also read from a PATCHLINE_* variable)."""
    group = parser.add_argument_group("credentials for --via (docs/security.md)")
    group.add_argument("--token-file", default=None, metavar="FILE", help="bearer token (PATCHLINE_TOKEN_FILE)")
    group.add_argument("--tls-ca", default=None, metavar="PEM", help="speak TLS trusting this CA (PATCHLINE_TLS_CA)")
    group.add_argument("--tls", action="store_true", help="speak TLS trusting the system CAs (PATCHLINE_TLS=1)")
    group.add_argument("--tls-client-cert", default=None, metavar="PEM", help="mTLS: client certificate")
    group.add_argument("--tls-client-key", default=None, metavar="PEM", help="mTLS: the client certificate's key")


def client_auth_files(args: argparse.Namespace) -> ClientAuthFiles:
    """The credential files given as flags (the environment fills in the rest when they are loaded)."""
    return ClientAuthFiles(
        token_file=args.token_file,
        tls_ca=args.tls_ca,
        tls=args.tls,
        client_cert=args.tls_client_cert,
        client_key=args.tls_client_key,
    )


def _read_paths(manifest: Rollout | InferenceRun, base: str, oracle_dataset: str | None) -> list[str]:
    """The files and folders the planned stages read, as their settings name them."""
    paths = [oracle_dataset] if oracle_dataset else []

    def collect(access: Access, _path: str, value: str) -> str:
        if access in (Access.READ, Access.DATASET):
            paths.append(value)
        return value

    for stage in planned_stages(plan_run(manifest, base=base)):
        map_marked(stage.settings, collect, where=stage.name)
    return paths


def run(args: argparse.Namespace) -> int:
    """Run the manifest; print each stage and where the artifacts are."""
    manifest = load_manifest(args.manifest)
    missing = missing_example_data(_read_paths(manifest, args.base, args.oracle_dataset))
    if missing is not None:
        raise InputError(
            f"{args.manifest}: {missing} does not exist yet: it is part of the examples' local data, which "
            f"`python -m patchline.demo prepare` writes (or run `make example NAME={Path(args.manifest).stem}`)"
        )
    if args.on_mismatch is not None:  # the flag overrides the manifest's spec.onMismatch
        manifest = manifest.model_copy(
            update={"spec": manifest.spec.model_copy(update={"on_mismatch": args.on_mismatch})}
        )
    settings = RunnerSettings(
        base=args.base,
        via=args.via,
        endpoint_override=args.endpoint,
        oracle=args.oracle or args.oracle_dataset is not None,
        oracle_dataset=args.oracle_dataset,
        key_sets=KeySets.parse(args.key_set),
        auth=client_auth_files(args),
    )
    with cli_progress() as progress:
        report = asyncio.run(run_manifest(manifest, settings, progress=progress))
    print(f"{manifest.kind} {manifest.metadata.name}: {report.run_uri}")
    for record in report.stages:
        took = (
            (record.finished_at - record.started_at).total_seconds() if record.finished_at and record.started_at else 0
        )
        state = "done earlier" if record.name in report.reused else f"{took:.1f} s"
        print(f"  {record.name:<22} {state:<14} {record.message}")
    for name, uri in sorted(report.artifacts().items()):
        print(f"  {name}: {uri}")
    return 0
