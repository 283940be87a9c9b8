"""The four servicers. Each only translates messages to domain calls; jobs do the work.

Every request is checked at the edge before any work: its settings against the server's allowlists
(``Edge.policy``: roots, buckets, endpoints, key sets), its Retrieval calls against the index limits.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from patchline.client.messages import from_message
from patchline.core.errors import DeadlineExceededError
from patchline.core.spec import InferenceStage, SearchQuery
from patchline.core.spec.loader import validated
from patchline.pipeline.adapters.retrieval import index_repository, search_repository
from patchline.pipeline.catalog import GATEWAY_EXECUTE
from patchline.rpc.v1 import (
    common_pb2,
    gateway_pb2,
    gateway_pb2_grpc,
    patches_pb2_grpc,
    prompts_pb2_grpc,
    retrieval_pb2,
    retrieval_pb2_grpc,
)
from patchline.servers.errors import translate_errors
from patchline.servers.jobs_servicer import JobRpcs

__all__ = [
    "SERVICERS",
    "InferenceGatewayServicer",
    "PatchProcessorServicer",
    "PromptBuilderServicer",
    "RetrievalServicer",
]

T = TypeVar("T")


class PromptBuilderServicer(JobRpcs):
    """Builds request files (prompts.* operations)."""

    service = "prompts"
    add_to_server = staticmethod(prompts_pb2_grpc.add_PromptBuilderServiceServicer_to_server)


class PatchProcessorServicer(JobRpcs):
    """Turns response files into patches, tests and results (patches.* operations)."""

    service = "patches"
    add_to_server = staticmethod(patches_pb2_grpc.add_PatchProcessorServiceServicer_to_server)


class InferenceGatewayServicer(JobRpcs):
    """Runs request files against model endpoints."""

    service = "gateway"
    add_to_server = staticmethod(gateway_pb2_grpc.add_InferenceGatewayServiceServicer_to_server)

    @translate_errors
    async def StartInference(
        self, request: gateway_pb2.StartInferenceRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Job:
        stage = self.edge.policy.checked(from_message(request.stage, InferenceStage, where="stage"), where="stage")
        run_uri = stage.output.rsplit("/", 1)[0] if "/" in stage.output else "."
        return self._answer(
            self.manager.start(request.job_id, GATEWAY_EXECUTE.name, run_uri, stage, run_again=request.run_again)
        )


class RetrievalServicer(JobRpcs):
    """BM25 indexes and searches over repository snapshots (bounded by the server's index limits)."""

    service = "retrieval"
    add_to_server = staticmethod(retrieval_pb2_grpc.add_RetrievalServiceServicer_to_server)

    @translate_errors
    async def Index(
        self, request: retrieval_pb2.IndexRequest, context: grpc.aio.ServicerContext
    ) -> retrieval_pb2.IndexResponse:
        result = await self._bounded(index_repository, self._query(request, {}, where="index"))
        return retrieval_pb2.IndexResponse(index_key=result.key, documents=result.documents, cached=result.cached)

    @translate_errors
    async def Search(
        self, request: retrieval_pb2.SearchRequest, context: grpc.aio.ServicerContext
    ) -> retrieval_pb2.SearchResponse:
        searched = {"query": request.query, "top_n": request.top_n or 10, "exclude": list(request.exclude)}
        query = self._query(request, searched, where="search")
        hits = await self._bounded(
            search_repository, query, query=query.query, top_n=query.top_n, exclude=query.exclude
        )
        return retrieval_pb2.SearchResponse(hits=[retrieval_pb2.SearchHit(path=p, score=s) for p, s in hits])

    def _query(self, request: Any, more: dict[str, Any], *, where: str) -> SearchQuery:
        data = {"repo": request.repo, "commit": request.commit or None, **more}
        if request.extensions:
            data["extensions"] = list(request.extensions)
        return self.edge.policy.checked(validated(SearchQuery, data, where=where), where=where)

    async def _bounded(self, work: Callable[..., T], snapshot: SearchQuery, **more: Any) -> T:
        """Run ``work`` on the snapshot's index in a thread, within the server's index limits and store; the call
        ends at the time limit (the build stops at its next file)."""
        limit = self.edge.index_limits.seconds
        call = functools.partial(
            work,
            snapshot.repo,
            snapshot.commit,
            extensions=snapshot.extensions,
            cache_uri=self.edge.policy.store,
            limits=self.edge.index_limits,
            **more,
        )
        try:
            return await asyncio.wait_for(asyncio.to_thread(call), timeout=limit + 1.0)
        except TimeoutError:
            raise DeadlineExceededError(f"the index build took longer than the limit of {limit:g} s") from None


SERVICERS: tuple[type[JobRpcs], ...] = (
    PromptBuilderServicer,
    PatchProcessorServicer,
    InferenceGatewayServicer,
    RetrievalServicer,
)
"""Every servicer, each naming its service key and adder: what ``create_server`` registers."""
