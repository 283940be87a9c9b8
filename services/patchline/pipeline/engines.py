"""The model a run talks to, for as long as the run needs it: an oracle, a local SGLang or llama.cpp, or an endpoint."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from patchline.core import layout
from patchline.core.errors import InputError
from patchline.core.llamacpp_args import llamacpp_server_args
from patchline.core.sglang_args import engine_server_args
from patchline.core.spec import (
    EditBenchWorkflow,
    EndpointEngine,
    Engine,
    EngineFlavor,
    InferenceRun,
    LlamaCppEngine,
    ModelEndpoints,
    OracleEngine,
    Rollout,
    SGLangEngine,
)
from patchline.gateway.launcher import SGLangServer, llamacpp_servers
from patchline.oracle import OracleServer

__all__ = ["ServedModel", "engine_for", "serve_engine"]


@dataclass(frozen=True)
class ServedModel:
    """Where to send requests (and as what), and the server's arguments when patchline started one."""

    endpoints: ModelEndpoints
    server_args: tuple[str, ...] = ()


def engine_for(run: Rollout | InferenceRun, *, endpoint_override: str | None) -> Engine:
    """The run's engine, or an endpoint at ``endpoint_override`` keeping the run's model name (and SGLang's
    flavour when the run's engine is SGLang: the URL is then most likely an SGLang the user started)."""
    engine = run.spec.engine
    if endpoint_override is None:
        return engine
    flavor = EngineFlavor.SGLANG if isinstance(engine, SGLangEngine) else EngineFlavor.OPENAI
    thinking = engine.thinking_processor if isinstance(engine, SGLangEngine | EndpointEngine) else None
    return EndpointEngine(
        type="endpoint", urls=[endpoint_override], model=engine.model_name, flavor=flavor, thinking_processor=thinking
    )


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
async def serve_engine(run: Rollout | InferenceRun, engine: Engine, *, run_uri: str) -> AsyncIterator[ServedModel]:
    """Start what the engine needs (and stop it afterwards); yield where its requests go."""
    if isinstance(engine, EndpointEngine):
        yield ServedModel(engine.model_endpoints())
    elif isinstance(engine, OracleEngine):
        async with OracleServer(_oracle_dataset(engine, run, run_uri), model=engine.model) as oracle:
            yield ServedModel(engine.model_endpoints([oracle.base_url]))
    elif isinstance(engine, SGLangEngine):
        args = engine_server_args(engine)
        async with SGLangServer(args, startup_timeout_s=engine.startup_timeout_seconds) as url:
            yield ServedModel(engine.model_endpoints([url]), server_args=tuple(args))
    elif isinstance(engine, LlamaCppEngine):
        async with llamacpp_servers(engine) as urls:
            yield ServedModel(engine.model_endpoints(urls), server_args=tuple(llamacpp_server_args(engine)))
    else:
        raise InputError(f"unsupported engine {type(engine).__name__}")
