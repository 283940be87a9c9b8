"""llama.cpp's HTTP server (the ``xllamacpp`` wheel) in this process, from a :class:`LlamaCppEngine`.

xllamacpp has no command line of its own: ``xllamacpp.Server`` runs llama.cpp's server on a thread of the
process that builds it. ``patchline llamacpp serve`` is that process (one per replica, so each has a PID
to stop); :func:`serve_until` holds the server until its stop event is set, then drops it, which stops it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from patchline.core.errors import InputError
from patchline.core.spec import LlamaCppEngine

__all__ = ["build_params", "serve_until"]

log = logging.getLogger(__name__)


def build_params(engine: LlamaCppEngine, *, host: str, port: int) -> Any:
    """The ``xllamacpp.CommonParams`` of one replica (imported here: only the server process needs the wheel)."""
    import xllamacpp

    if engine.model is None:
        raise InputError("the llama.cpp server needs a resolved model path")
    params = xllamacpp.CommonParams()
    params.model.path = engine.model
    params.model_alias = {engine.model_name}
    params.hostnames = [host]
    params.port = port
    params.n_parallel = engine.slots
    params.n_ctx = engine.slots * engine.ctx_per_slot  # the total KV size, split evenly over the slots
    params.cont_batching = True
    params.cache_prompt = True
    params.cache_ram_mib = engine.cache_ram_mib
    threads = engine.threads or -1  # -1: every core llama.cpp sees
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.endpoint_metrics = True
    params.endpoint_slots = True
    # No fixed sampling seed: requests without their own seed would all draw the same sequence.
    return params


def serve_until(engine: LlamaCppEngine, *, host: str, port: int, stop: threading.Event) -> None:
    """Load the model, serve on ``host:port`` until ``stop`` is set, then stop the server."""
    import xllamacpp

    server = xllamacpp.Server(build_params(engine, host=host, port=port))
    log.info("llama.cpp serves %s as %r on %s", engine.model, engine.model_name, server.listening_address)
    stop.wait()
    del server  # stops llama.cpp's HTTP thread and frees the model
    log.info("llama.cpp stopped")
