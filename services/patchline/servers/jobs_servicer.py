"""StartJob / GetJob / WatchJob / CancelJob / ListOperations, the RPCs every job-running service shares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import grpc

from patchline.client.messages import job_settings
from patchline.pipeline.jobs import JobManager, JobStatus
from patchline.rpc.v1 import common_pb2
from patchline.servers.convert import job_message
from patchline.servers.edge import Edge
from patchline.servers.errors import abort_for, translate_errors

__all__ = ["JobRpcs"]


class JobRpcs:
    """Mixed into each servicer: ``service`` is its key (prompts, patches, gateway, retrieval), which names the
    operations it runs; ``add_to_server`` is its service's generated ``add_..._to_server``."""

    service: ClassVar[str]
    add_to_server: ClassVar[staticmethod[[Any, grpc.aio.Server], None]]

    def __init__(self, manager: JobManager, edge: Edge) -> None:
        self.manager = manager
        self.edge = edge

    @translate_errors
    async def StartJob(self, request: common_pb2.StartJobRequest, context: grpc.aio.ServicerContext) -> common_pb2.Job:
        settings = self.edge.policy.checked(job_settings(request), where=request.WhichOneof("settings") or "settings")
        run_uri = self.edge.policy.check_write("run_uri", request.run_uri)
        return self._answer(
            self.manager.start(request.job_id, request.operation, run_uri, settings, run_again=request.run_again)
        )

    @translate_errors
    async def GetJob(self, request: common_pb2.GetJobRequest, context: grpc.aio.ServicerContext) -> common_pb2.Job:
        return self._answer(self.manager.get(request.job_id))

    async def WatchJob(
        self, request: common_pb2.WatchJobRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[common_pb2.Job]:
        try:
            async for status in self.manager.watch(request.job_id):
                yield self._answer(status)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # as translate_errors: every error leaves redacted
            await abort_for(exc, context, self.edge)

    @translate_errors
    async def CancelJob(
        self, request: common_pb2.CancelJobRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.Job:
        return self._answer(await self.manager.cancel(request.job_id))

    async def ListOperations(
        self, request: common_pb2.ListOperationsRequest, context: grpc.aio.ServicerContext
    ) -> common_pb2.ListOperationsResponse:
        return common_pb2.ListOperationsResponse(operations=self.manager.operations)

    def _answer(self, status: JobStatus) -> common_pb2.Job:
        return job_message(status, self.edge.redactor)
