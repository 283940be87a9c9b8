"""A small client of the patchline gRPC services: stubs with deadlines, typed stage settings on the wire."""

from __future__ import annotations

from patchline.client.jobs import artifacts_of, job_phase, progress_of
from patchline.client.messages import JOB_SETTINGS, from_message, job_settings, start_job_request, to_message
from patchline.client.stubs import CHANNEL_OPTIONS, DEFAULT_DEADLINE, MAX_MESSAGE_BYTES, SERVICE_NAMES, ServiceClient

__all__ = [
    "CHANNEL_OPTIONS",
    "DEFAULT_DEADLINE",
    "JOB_SETTINGS",
    "MAX_MESSAGE_BYTES",
    "SERVICE_NAMES",
    "ServiceClient",
    "artifacts_of",
    "from_message",
    "job_phase",
    "job_settings",
    "progress_of",
    "start_job_request",
    "to_message",
]
