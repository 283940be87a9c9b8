"""The model a run talks to, for as long as the run needs it: an oracle, a local SGLang or llama.cpp, or an endpoint."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from patchline.core import layout
from patchline.core.errors import InputError
from patchline.core.llamacpp_args import llamacpp_server_args
from patchline.core.sglang_args import sglang_server_args
from patchline.core.spec import (
    EditBenchWorkflow,
    EndpointEngine,
    Engine,
    InferenceRun,
    LlamaCppEngine,
    OracleEngine,
    Rollout,
    SGLangEngine,
)
from patchline.gateway.launcher import SGLangServer, llamacpp_servers
from patchline.gateway.oracle import OracleServer

__all__ = ["EngineEndpoints", "engine_for", "serve_engine"]


@dataclass(frozen=True)
class EngineEndpoints:
    """Where to send requests, and the model name to send them with."""

    urls: tuple[str, ...]
    model: str
    api_key_env: str | None = None
    server_args: tuple[str, ...] = ()


def engine_for(run: Rollout | InferenceRun, *, endpoint_override: str | None) -> Engine:
    """The run's engine, or an endpoint engine at ``endpoint_override`` keeping the run's model name."""
    engine = run.spec.engine
    if endpoint_override is None:
        return engine
    return EndpointEngine(type="endpoint", urls=[endpoint_override], model=engine.model_name)


def _oracle_dataset(engine: OracleEngine, run: Rollout | InferenceRun, run_uri: str) -> str:
    if engine.dataset:
        return engine.dataset
    if isinstance(run, Rollout) and isinstance(run.spec.workflow, EditBenchWorkflow):
        # EditBench gold answers live in the infbench file the build_prompts stage wrote.
        workflow = run.spec.workflow
        return f"{run_uri}/{layout.editbench_infbench(workflow.dataset_name, workflow.effective_run_id)}"
    if isinstance(run, Rollout):
        return run.spec.dataset.source
    raise InputError("spec.engine.dataset: an InferenceRun with the oracle engine must name the gold dataset")


@contextlib.asynccontextmanager
async def serve_engine(run: Rollout | InferenceRun, engine: Engine, *, run_uri: str) -> AsyncIterator[EngineEndpoints]:
    """Start what the engine needs (and stop it afterwards); yield its endpoints."""
    if isinstance(engine, EndpointEngine):
        yield EngineEndpoints(tuple(engine.urls), engine.model, engine.api_key_env)
    elif isinstance(engine, OracleEngine):
        async with OracleServer(_oracle_dataset(engine, run, run_uri), model=engine.model) as oracle:
            yield EngineEndpoints((oracle.base_url,), engine.model)
    elif isinstance(engine, SGLangEngine):
        args = sglang_server_args(
            model_path=engine.model_path,
            tp_size=engine.tp_size,
            dp_size=engine.dp_size,
            reasoning_parser=engine.reasoning_parser,
            served_model_name=engine.served_model_name,
            extra=engine.extra_args,
        )
        async with SGLangServer(args, startup_timeout_s=engine.startup_timeout_seconds) as url:
            yield EngineEndpoints((url,), engine.model_name, server_args=tuple(args))
    elif isinstance(engine, LlamaCppEngine):
        async with llamacpp_servers(engine) as urls:
            yield EngineEndpoints(tuple(urls), engine.model_name, server_args=tuple(llamacpp_server_args(engine)))
    else:
        raise InputError(f"unsupported engine {type(engine).__name__}")
