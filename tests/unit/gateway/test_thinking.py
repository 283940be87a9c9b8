"""Request bodies: model override and the thinking keys mapped for SGLang."""

from __future__ import annotations

import io
import json
import pickle
import pickletools
import sys
import types
from collections.abc import Iterator

import pytest

from patchline.core.spec import EngineFlavor, ModelEndpoints, ThinkingProcessor
from patchline.gateway.thinking import prepare_body, sglang_logit_processor

pytestmark = pytest.mark.unit

URL = ["http://127.0.0.1:1"]
SGLANG = ModelEndpoints(urls=URL, flavor=EngineFlavor.SGLANG)
QWEN3 = ModelEndpoints(urls=URL, flavor=EngineFlavor.SGLANG, thinking_processor=ThinkingProcessor.QWEN3)
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "enable_thinking": True, "thinking_budget": 64}


def test_model_override_and_copy() -> None:
    out = prepare_body(BODY, target=ModelEndpoints(urls=URL, model="other"))
    assert out["model"] == "other" and BODY["model"] == "m"
    assert "chat_template_kwargs" not in out  # a generic endpoint gets the body as written


def test_sglang_mapping_keeps_top_level_keys() -> None:
    out = prepare_body(BODY, target=SGLANG)
    assert out["enable_thinking"] is True and out["thinking_budget"] == 64
    assert out["chat_template_kwargs"] == {"enable_thinking": True, "thinking_budget": 64}
    assert "custom_logit_processor" not in out


def test_sglang_budget_processor() -> None:
    out = prepare_body(BODY, target=QWEN3)
    assert out["custom_params"] == {"thinking_budget": 64}
    assert out["custom_logit_processor"] == sglang_logit_processor(ThinkingProcessor.QWEN3)


def test_existing_chat_template_kwargs_win() -> None:
    body = {**BODY, "chat_template_kwargs": {"enable_thinking": False}}
    out = prepare_body(body, target=SGLANG)
    assert out["chat_template_kwargs"]["enable_thinking"] is False


def test_thinking_off_sets_no_budget() -> None:
    body = {**BODY, "enable_thinking": False}
    out = prepare_body(body, target=QWEN3)
    assert out["chat_template_kwargs"] == {"enable_thinking": False}
    assert "custom_params" not in out


@pytest.fixture
def fake_sglang() -> Iterator[dict[str, type]]:
    """Modules standing in for SGLang's, so the serialized reference can be loaded like SGLang does."""
    names = ["sglang", "sglang.srt", "sglang.srt.sampling", "sglang.srt.sampling.custom_logit_processor"]
    saved = {n: sys.modules.get(n) for n in names}
    module = types.ModuleType(names[-1])
    classes = {
        n: type(n, (), {}) for n in ["Qwen3ThinkingBudgetLogitProcessor", "DeepSeekR1ThinkingBudgetLogitProcessor"]
    }
    for name, cls in classes.items():
        setattr(module, name, cls)
    for n in names[:-1]:
        sys.modules[n] = types.ModuleType(n)
    sys.modules[names[-1]] = module
    try:
        yield classes
    finally:
        for n, previous in saved.items():
            if previous is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = previous


@pytest.mark.parametrize(
    ("processor", "name"),
    [
        (ThinkingProcessor.QWEN3, "Qwen3ThinkingBudgetLogitProcessor"),
        (ThinkingProcessor.DEEPSEEK_R1, "DeepSeekR1ThinkingBudgetLogitProcessor"),
    ],
)
def test_processor_string_loads_as_sglang_class(
    processor: ThinkingProcessor, name: str, fake_sglang: dict[str, type]
) -> None:
    data = bytes.fromhex(json.loads(sglang_logit_processor(processor))["callable"])
    pickletools.dis(data, out=io.StringIO())  # a well-formed opcode stream
    assert pickle.loads(data) is fake_sglang[name]
