"""The four servicers. Each only translates messages to domain calls; jobs do the work."""

from __future__ import annotations

import asyncio

import grpc

from patchline.pipeline.adapters.retrieval import index_repository, search_repository
from patchline.pipeline.jobs import JobManager
from patchline.rpc.v1 import (
    common_pb2,
    gateway_pb2,
    gateway_pb2_grpc,
    patches_pb2_grpc,
    prompts_pb2_grpc,
    retrieval_pb2,
    retrieval_pb2_grpc,
)
from patchline.servers.convert import job_message
from patchline.servers.errors import translate_errors
from patchline.servers.jobs_servicer import JobRpcs

__all__ = [
    "InferenceGatewayServicer",
    "PatchProcessorServicer",
    "PromptBuilderServicer",
    "RetrievalServicer",
]

GATEWAY_OPERATION = "gateway.execute"


class PromptBuilderServicer(JobRpcs, prompts_pb2_grpc.PromptBuilderServicer):
    """Builds request files (prompts.* operations)."""

    service = "prompts"


class PatchProcessorServicer(JobRpcs, patches_pb2_grpc.PatchProcessorServicer):
    """Turns response files into patches, tests and results (patches.* operations)."""

    service = "patches"


class InferenceGatewayServicer(JobRpcs, gateway_pb2_grpc.InferenceGatewayServicer):
    """Runs request files against model endpoints."""

    service = "gateway"

    @translate_errors
    async def Start(
        self, request: gateway_pb2.StartInferenceRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Job:
        options = request.executor
        params = {
            "input": request.input_uri,
            "output": request.output_uri,
            "endpoints": list(request.endpoints),
            "model": request.model or None,
            "api_key_env": request.api_key_env or None,
            "concurrency": options.concurrency or None,
            "timeout": options.timeout_seconds or None,
            "max_attempts": options.max_attempts or None,
            "affinity": options.affinity,
            "compact": options.compact,
            "deadline": options.deadline_seconds or None,
        }
        run_uri = request.output_uri.rsplit("/", 1)[0] if "/" in request.output_uri else "."
        return job_message(self.manager.start(request.job_id, GATEWAY_OPERATION, run_uri, params))


class RetrievalServicer(JobRpcs, retrieval_pb2_grpc.RetrievalServicer):
    """BM25 indexes and searches over repository snapshots."""

    service = "retrieval"

    def __init__(self, manager: JobManager, *, cache_uri: str) -> None:
        super().__init__(manager)
        self.cache_uri = cache_uri

    @translate_errors
    async def Index(
        self, request: retrieval_pb2.IndexRequest, context: grpc.aio.ServicerContext
    ) -> retrieval_pb2.IndexResponse:
        result = await asyncio.to_thread(
            index_repository,
            request.repo,
            request.commit or None,
            extensions=list(request.extensions),
            cache_uri=self.cache_uri,
        )
        return retrieval_pb2.IndexResponse(index_key=result.key, documents=result.documents, cached=result.cached)

    @translate_errors
    async def Search(
        self, request: retrieval_pb2.SearchRequest, context: grpc.aio.ServicerContext
    ) -> retrieval_pb2.SearchResponse:
        hits = await asyncio.to_thread(
            search_repository,
            request.repo,
            request.commit or None,
            request.query,
            top_n=request.top_n or 10,
            extensions=list(request.extensions),
            cache_uri=self.cache_uri,
        )
        return retrieval_pb2.SearchResponse(hits=[retrieval_pb2.SearchHit(path=p, score=s) for p, s in hits])
