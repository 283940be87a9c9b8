"""The committed gRPC code is what `make proto` generates from proto/ (CI fails on a difference), and the
generated proto keeps removed fields' numbers reserved."""

from __future__ import annotations

import pytest

from patchline.core.spec import AgentlessWorkflow
from patchline.devtools.gen_proto import main
from patchline.devtools.stage_proto import render_stage_proto
from patchline.rpc.v1 import stages_pb2

pytestmark = pytest.mark.unit


def test_generated_code_is_fresh() -> None:
    assert main(["--check"]) == 0, "services/patchline/rpc/v1 is stale: run `make proto` and commit it"


def test_a_removed_field_keeps_its_number_and_name_reserved() -> None:
    message = render_stage_proto().split("message AgentlessWorkflow {", 1)[1].split("\n}", 1)[0]
    assert 'reserved 12;\n  reserved "predictions_sample";' in message
    numbers = {field.name: field.number for field in stages_pb2.AgentlessWorkflow.DESCRIPTOR.fields}
    assert 12 not in numbers.values() and "predictions_sample" not in numbers
    # The numbering goes around the reserved one: every model field is on the wire, the later ones shifted.
    assert list(numbers) == list(AgentlessWorkflow.model_fields)
    assert numbers["templates_dir"] == 13 and numbers["selection"] == 14
