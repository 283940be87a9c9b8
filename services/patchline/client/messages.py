"""Stage settings between their models and their protobuf messages: written once, for every field.

The messages of ``stages.proto`` are generated from the models (``patchline.devtools.stage_proto``), so the
conversion is generic: a model goes out as its JSON form parsed into the message of the same name, and comes
back as the message's JSON form validated by the model. Validation is the model's own, so a caller that
sends an out-of-range, mistyped or unknown value is refused with an :class:`InputError` naming the field
(INVALID_ARGUMENT at the service edge).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from google.protobuf import json_format, message, unknown_fields
from pydantic import BaseModel

from patchline.core.errors import InputError
from patchline.core.spec import AgentlessStage, EditBenchStage, IndexManyStage, RolloutStage, StageSettings
from patchline.core.spec.loader import validated
from patchline.rpc.v1 import common_pb2, stages_pb2

__all__ = ["JOB_SETTINGS", "JobSettings", "from_message", "job_settings", "start_job_request", "to_message"]

M = TypeVar("M", bound=BaseModel)

JobSettings = AgentlessStage | RolloutStage | EditBenchStage | IndexManyStage

# The StartJobRequest.settings oneof: field name -> the settings model it carries. Read-only.
JOB_SETTINGS: Mapping[str, type[JobSettings]] = MappingProxyType(
    {"agentless": AgentlessStage, "rollout": RolloutStage, "editbench": EditBenchStage, "index_many": IndexManyStage}
)
_ONEOF_OF: dict[type[BaseModel], str] = {model: name for name, model in JOB_SETTINGS.items()}


def to_message(model: BaseModel) -> Any:
    """The protobuf message of a settings model (the generated message of the same name)."""
    message_type = getattr(stages_pb2, type(model).__name__)
    return json_format.ParseDict(model.model_dump(mode="json", exclude_none=True), message_type())


def _unknown(msg: message.Message, where: str) -> str | None:
    """The path of the first field this server does not know (sent by a newer or a hostile client)."""
    found = unknown_fields.UnknownFieldSet(msg)
    if len(found):
        return f"{where}: unknown field number {found[0].field_number}"
    for descriptor, value in msg.ListFields():
        if descriptor.message_type is None:
            continue
        if descriptor.message_type.GetOptions().map_entry:
            items = list(value.values())
        elif descriptor.is_repeated:
            items = list(value)
        else:
            items = [value]
        for item in items:
            if isinstance(item, message.Message) and (problem := _unknown(item, f"{where}.{descriptor.name}")):
                return problem
    return None


def from_message(msg: message.Message, model_type: type[M], *, where: str) -> M:
    """The settings model a message carries; InputError naming ``where.field`` when it is not valid."""
    problem = _unknown(msg, where)
    if problem:
        raise InputError(problem)
    return validated(model_type, json_format.MessageToDict(msg, preserving_proto_field_name=True), where=where)


def start_job_request(
    job_id: str, operation: str, run_uri: str, settings: StageSettings, *, run_again: bool = False
) -> common_pb2.StartJobRequest:
    """A StartJob request carrying ``settings`` in the oneof field of their kind."""
    field = _ONEOF_OF.get(type(settings))
    if field is None:
        raise InputError(f"{operation}: {type(settings).__name__} settings do not travel in StartJob")
    request = common_pb2.StartJobRequest(job_id=job_id, operation=operation, run_uri=run_uri, run_again=run_again)
    getattr(request, field).CopyFrom(to_message(settings))
    return request


def job_settings(request: common_pb2.StartJobRequest) -> JobSettings:
    """The settings a StartJob request carries (InputError when none are set or they are not valid)."""
    field = request.WhichOneof("settings")
    if field is None:
        raise InputError(f"settings: {request.operation or 'the operation'} needs its stage settings")
    return from_message(getattr(request, field), JOB_SETTINGS[field], where=field)
