"""The model a run talks to, for as long as the run needs it: an oracle, a local SGLang or llama.cpp, or an endpoint."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from patchline.core import layout
from patchline.core.errors import InputError
from patchline.core.llamacpp_args import llamacpp_server_args
from patchline.core.settings import KeySets, secret_key_set
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


def _own_sglang_key(engine: SGLangEngine, key_sets: KeySets) -> tuple[list[str], str | None]:
    """The ``--api-key`` arguments and the key set of a local SGLang whose key a Secret holds on a cluster:
    locally the key set of the same name (``--key-set <secret>/<key>=VAR``) gives it."""
    ref = engine.api_key_secret_ref
    if ref is None:
        return [], None
    key_set = secret_key_set(ref.name, ref.key)
    if key_set not in key_sets:
        raise InputError(
            f"spec.engine.apiKeySecretRef: a local run reads the server's key from key set {key_set!r}; "
            f"pass --key-set {key_set}=VARIABLE with the key in that variable"
        )
    keys = key_sets.keys(key_set).keys
    if not keys:
        raise InputError(f"spec.engine.apiKeySecretRef: key set {key_set!r} holds no key (its variable is unset)")
    return ["--api-key", keys[0].get_secret_value()], key_set


@contextlib.asynccontextmanager
async def serve_engine(
    run: Rollout | InferenceRun, engine: Engine, *, run_uri: str, key_sets: KeySets | None = None
) -> AsyncIterator[ServedModel]:
    """Start what the engine needs (and stop it afterwards); yield where its requests go (``key_sets``: where a
    local SGLang's ``apiKeySecretRef`` key comes from)."""
    if isinstance(engine, EndpointEngine):
        yield ServedModel(engine.model_endpoints())
    elif isinstance(engine, OracleEngine):
        async with OracleServer(_oracle_dataset(engine, run, run_uri), model=engine.model) as oracle:
            yield ServedModel(engine.model_endpoints([oracle.base_url]))
    elif isinstance(engine, SGLangEngine):
        key_args, key_set = _own_sglang_key(engine, key_sets or KeySets())
        args = engine_server_args(engine) + key_args
        async with SGLangServer(args, startup_timeout_s=engine.startup_timeout_seconds) as url:
            endpoints = engine.model_endpoints([url]).model_copy(update={"api_key_set": key_set})
            yield ServedModel(endpoints, server_args=tuple(args))
    elif isinstance(engine, LlamaCppEngine):
        async with llamacpp_servers(engine) as urls:
            yield ServedModel(engine.model_endpoints(urls), server_args=tuple(llamacpp_server_args(engine)))
    else:
        raise InputError(f"unsupported engine {type(engine).__name__}")
