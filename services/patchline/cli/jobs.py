"""``patchline jobs get|watch|cancel JOB_ID --via HOST:PORT --service S``: one job on ``patchline serve``.

The job ids are the ones ``patchline run --via`` and the operator derive (a refusal names them); a job's
finished work stays in its artifacts when it is cancelled, and starting it again resumes it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable

import grpc
from google.protobuf import json_format

from patchline.cli.run import add_client_auth_arguments, client_auth_files
from patchline.client import SERVICE_NAMES, ServiceClient
from patchline.client.auth import ClientAuth
from patchline.core.errors import InputError, PatchlineError, PreconditionError, UnavailableError
from patchline.core.settings import client_auth_files_from_env
from patchline.rpc.v1 import common_pb2

__all__ = ["describe_job", "register"]

_CALL_TIMEOUT = 30.0  # seconds for get and cancel; watch streams until the job ends
_ERRORS: dict[grpc.StatusCode, type[PatchlineError]] = {
    grpc.StatusCode.FAILED_PRECONDITION: PreconditionError,  # no such job on that server (any more)
    grpc.StatusCode.INVALID_ARGUMENT: InputError,
    grpc.StatusCode.UNAUTHENTICATED: InputError,
}


def describe_job(job: common_pb2.Job) -> str:
    """One line: id, operation, phase, counts and the last message (or error)."""
    phase = common_pb2.Phase.Name(job.phase).removeprefix("PHASE_").lower()
    p = job.progress
    done = f"{p.succeeded + p.skipped}/{p.total or '?'} done, {p.failed} failed"
    note = job.last_error or job.message
    return f"{job.job_id} {job.operation} {phase}: {done}" + (f"; {note}" if note else "")


def _print(job: common_pb2.Job, form: str) -> None:
    if form == "json":
        print(json.dumps(json_format.MessageToDict(job, preserving_proto_field_name=True), sort_keys=True))
    else:
        print(describe_job(job))


async def _call(args: argparse.Namespace, action: Callable[[ServiceClient], Awaitable[int]]) -> int:
    credentials = ClientAuth.load(client_auth_files_from_env().merged(client_auth_files(args)))
    try:
        async with ServiceClient(args.via, auth=credentials, deadline=_CALL_TIMEOUT) as client:
            return await action(client)
    except grpc.aio.AioRpcError as exc:
        kind: type[PatchlineError] = _ERRORS.get(exc.code(), UnavailableError)
        raise kind(f"{args.service} on {args.via}: {exc.code().name}: {exc.details()}") from None


def _once(call: Callable[[ServiceClient, str, str], Awaitable[common_pb2.Job]]) -> Callable[[argparse.Namespace], int]:
    """A command that makes one call (get, cancel) and prints the job it answers."""

    def handler(args: argparse.Namespace) -> int:
        async def action(client: ServiceClient) -> int:
            _print(await call(client, args.service, args.job_id), args.format)
            return 0

        return asyncio.run(_call(args, action))

    return handler


def _watch(args: argparse.Namespace) -> int:
    async def action(client: ServiceClient) -> int:
        last: common_pb2.Job | None = None
        async for job in client.watch(args.service, args.job_id):
            _print(job, args.format)
            last = job
        return 0 if last is not None and last.phase == common_pb2.PHASE_SUCCEEDED else 1

    return asyncio.run(_call(args, action))


def register(parser: argparse.ArgumentParser) -> None:
    """Add ``get``, ``watch`` and ``cancel`` below ``patchline jobs``."""
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, handler, text in (
        ("get", _once(ServiceClient.get), "the job's state now"),
        ("watch", _watch, "the job's state at every change until it ends (exit 0 when it succeeded)"),
        (
            "cancel",
            _once(ServiceClient.cancel),
            "stop the job; its finished work stays, and starting it again resumes it",
        ),
    ):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("job_id", metavar="JOB_ID", help="the job's id (a refusal or the server log names it)")
        command.add_argument("--via", required=True, metavar="HOST:PORT", help="the `patchline serve` to ask")
        command.add_argument("--service", required=True, choices=SERVICE_NAMES, help="the service that runs the job")
        command.add_argument("--format", choices=["text", "json"], default="text", help="output form (default: text)")
        add_client_auth_arguments(command)
        command.set_defaults(handler=handler)
