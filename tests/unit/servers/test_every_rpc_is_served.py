"""Every RPC of each service is served: ``make proto`` leaves grpc's placeholder servicer classes out, so each
servicer must implement every method of its service's descriptor itself, and register with its own adder."""

from __future__ import annotations

import inspect

import pytest
from google.protobuf import descriptor_pool

from patchline.client import SERVICE_NAMES
from patchline.rpc.v1 import gateway_pb2_grpc, patches_pb2_grpc, prompts_pb2_grpc, retrieval_pb2_grpc
from patchline.servers.services import SERVICERS

pytestmark = pytest.mark.unit

GENERATED = (gateway_pb2_grpc, patches_pb2_grpc, prompts_pb2_grpc, retrieval_pb2_grpc)


@pytest.mark.parametrize("servicer", SERVICERS, ids=lambda servicer: servicer.__name__)
def test_every_rpc_of_the_service_descriptor_is_a_coroutine_of_its_servicer(servicer: type) -> None:
    service = descriptor_pool.Default().FindServiceByName(SERVICE_NAMES[servicer.service])
    assert service.methods, f"{service.full_name} declares no RPC"
    for method in service.methods:
        handler = getattr(servicer, method.name, None)
        streams = method.server_streaming
        served = inspect.isasyncgenfunction(handler) if streams else inspect.iscoroutinefunction(handler)
        assert served, f"{servicer.__name__} does not serve {service.full_name}/{method.name}"


def test_each_service_has_one_servicer_registered_by_its_own_generated_adder() -> None:
    assert sorted(servicer.service for servicer in SERVICERS) == sorted(SERVICE_NAMES)
    for servicer in SERVICERS:
        name = SERVICE_NAMES[servicer.service].rsplit(".", 1)[-1]
        adder = servicer.add_to_server
        assert adder.__name__ == f"add_{name}Servicer_to_server" and adder.__module__.startswith("patchline.rpc.v1.")


@pytest.mark.parametrize("module", GENERATED, ids=lambda module: module.__name__)
def test_the_generated_modules_hold_no_placeholder_servicer(module: object) -> None:
    assert not [name for name in vars(module) if name.endswith("Servicer")]
