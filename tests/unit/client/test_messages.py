"""Stage settings on the wire: every field of every stage model survives the trip to its message and back.

Each model is tried twice: with its defaults, and with every field (nested ones included) set to a value
that is not its default (``tests/fixtures/full_settings.py``). A field added to a model without a non-default
value there fails ``test_every_field_is_exercised``, so the round trip keeps covering every field.
"""

from __future__ import annotations

from typing import get_args

import pytest
from google.protobuf import json_format
from pydantic import BaseModel

from patchline.client.messages import from_message, job_settings, start_job_request, to_message
from patchline.core.errors import InputError
from patchline.core.spec import (
    STAGE_KINDS,
    AgentlessStage,
    EditBenchStage,
    InferenceStage,
    RolloutStage,
)
from patchline.rpc.v1 import common_pb2, stages_pb2
from tests.fixtures.full_settings import FULL, MINIMAL

pytestmark = pytest.mark.unit


def _unchanged(model: BaseModel, where: str = "") -> list[str]:
    """Fields of ``model`` (recursively) whose value is still the default."""
    same: list[str] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        path = f"{where}{name}"
        if isinstance(value, BaseModel):
            same += _unchanged(value, f"{path}.")
        elif value == info.get_default(call_default_factory=True) and len(get_args(info.annotation)) != 1:
            same.append(path)  # (a one-value literal such as ``type: agentless`` has nothing else to be)
    return same


def test_every_stage_kind_is_covered() -> None:
    assert set(FULL) == set(STAGE_KINDS) == set(MINIMAL)


# Fields a stage kind's own checks pin to their default (the Selection message is covered in full by Agentless).
PINNED: dict[type[BaseModel], set[str]] = {
    RolloutStage: {"workflow.selection.resample_invalid"},
    EditBenchStage: {"workflow.selection.resample_invalid"},
}


@pytest.mark.parametrize("kind", STAGE_KINDS, ids=lambda k: k.__name__)
def test_every_field_is_exercised(kind: type[BaseModel]) -> None:
    assert set(_unchanged(kind.model_validate(FULL[kind]))) == PINNED.get(kind, set())


@pytest.mark.parametrize("values", ["full", "minimal"])
@pytest.mark.parametrize("kind", STAGE_KINDS, ids=lambda k: k.__name__)
def test_round_trip_of_every_field(kind: type[BaseModel], values: str) -> None:
    model = kind.model_validate((FULL if values == "full" else MINIMAL)[kind])
    message = to_message(model)
    assert type(message).__name__ == kind.__name__
    wire = type(message).FromString(message.SerializeToString())
    assert from_message(wire, kind, where="stage") == model


def test_left_out_fields_mean_the_model_defaults() -> None:
    # a caller that sends only the required fields gets the model's defaults, not protobuf's zeros
    message = stages_pb2.RolloutStage()
    message.workflow.type = "bugfixer"
    message.repositories.repo_root = "repos"
    settings = from_message(message, RolloutStage, where="rollout")
    assert settings.sampling.max_tokens == 8192 and settings.workflow.num_workers == 1
    assert settings.dataset.source == "princeton-nlp/SWE-bench_Verified"


def test_bad_values_name_their_field() -> None:
    message = to_message(AgentlessStage.model_validate(MINIMAL[AgentlessStage]))
    message.sampling.max_tokens = 0
    with pytest.raises(InputError, match=r"^agentless\.sampling\.max_tokens: Input should be greater than or equal"):
        from_message(message, AgentlessStage, where="agentless")
    flavor = json_format.ParseDict(
        {"input": "i", "output": "o", "endpoints": {"urls": ["x"]}}, stages_pb2.InferenceStage()
    )
    with pytest.raises(InputError, match=r"^stage\.endpoints\.urls: "):
        from_message(flavor, InferenceStage, where="stage")


def test_unknown_fields_are_refused() -> None:
    message = to_message(RolloutStage.model_validate(MINIMAL[RolloutStage]))
    message.sampling.MergeFromString(b"\xf8\x01\x05")  # field 31 (varint): not in Sampling
    with pytest.raises(InputError, match=r"^rollout\.sampling: unknown field number 31$"):
        from_message(message, RolloutStage, where="rollout")


def test_start_job_carries_the_settings_in_their_oneof() -> None:
    settings = EditBenchStage.model_validate(FULL[EditBenchStage])
    request = start_job_request("j", "editbench.prepare", "/run", settings)
    assert request.WhichOneof("settings") == "editbench"
    assert job_settings(common_pb2.StartJobRequest.FromString(request.SerializeToString())) == settings
    with pytest.raises(InputError, match="needs its stage settings"):
        job_settings(common_pb2.StartJobRequest(job_id="j", operation="agentless.process"))
    with pytest.raises(InputError, match="do not travel in StartJob"):
        start_job_request("j", "gateway.execute", "/run", InferenceStage.model_validate(MINIMAL[InferenceStage]))
