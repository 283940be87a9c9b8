"""Request bodies as the engine needs them: the ``--model`` override and the thinking keys SGLang honours.

The original scripts write ``enable_thinking`` / ``thinking_budget`` as top-level body keys, which stock
SGLang ignores. They are kept (other engines and the files' readers may rely on them) and, for SGLang:

- ``enable_thinking`` -> ``chat_template_kwargs.enable_thinking`` (Qwen3-style hybrid templates read it);
- ``thinking_budget`` -> ``chat_template_kwargs.thinking_budget`` (a hint that only templates defining that
  variable read), and, when a thinking processor is configured, SGLang's built-in budget logit processor:
  ``custom_logit_processor`` (the serialized processor class) with ``custom_params: {"thinking_budget": N}``.
  The server must run with ``--enable-custom-logit-processor``; the token ids are model specific, hence
  the choice of processor (``qwen3`` or ``deepseek-r1``).

SGLang's serialized form is ``{"callable": hex(dill.dumps(cls))}``; for a class importable by name dill
writes a plain pickle global reference, which is built here without importing SGLang.
"""

from __future__ import annotations

import json
from typing import Any

from patchline.core.spec import EngineFlavor, ModelEndpoints, ThinkingProcessor

__all__ = ["prepare_body", "sglang_logit_processor"]

_PROCESSOR_MODULE = "sglang.srt.sampling.custom_logit_processor"
_PROCESSOR_CLASSES = {
    ThinkingProcessor.QWEN3: "Qwen3ThinkingBudgetLogitProcessor",
    ThinkingProcessor.DEEPSEEK_R1: "DeepSeekR1ThinkingBudgetLogitProcessor",
}


def _pickle_global(module: str, name: str) -> bytes:
    """Pickle protocol 4 bytes of a reference to ``module.name`` (what dill writes for such a class)."""

    def short_unicode(text: str) -> bytes:
        raw = text.encode("utf-8")
        return b"\x8c" + len(raw).to_bytes(1, "little") + raw + b"\x94"  # SHORT_BINUNICODE, MEMOIZE

    payload = short_unicode(module) + short_unicode(name) + b"\x93\x94."  # STACK_GLOBAL, MEMOIZE, STOP
    return b"\x80\x04\x95" + len(payload).to_bytes(8, "little") + payload  # PROTO 4, FRAME


def sglang_logit_processor(processor: ThinkingProcessor) -> str:
    """The ``custom_logit_processor`` string naming one of SGLang's thinking-budget processors."""
    pickled = _pickle_global(_PROCESSOR_MODULE, _PROCESSOR_CLASSES[processor])
    return json.dumps({"callable": pickled.hex()})


def prepare_body(body: dict[str, Any], *, target: ModelEndpoints) -> dict[str, Any]:
    """The body to send: a shallow copy with the target's model name and its engine's thinking keys."""
    out = dict(body)
    if target.model:
        out["model"] = target.model
    if target.flavor is not EngineFlavor.SGLANG:
        return out
    thinking_processor = target.thinking_processor
    enable = out.get("enable_thinking")
    budget = out.get("thinking_budget")
    if enable is None and budget is None:
        return out
    kwargs = dict(out.get("chat_template_kwargs") or {})
    if isinstance(enable, bool):
        kwargs.setdefault("enable_thinking", enable)
    if isinstance(budget, int) and not isinstance(budget, bool) and budget >= 0 and enable is not False:
        kwargs.setdefault("thinking_budget", budget)
        if thinking_processor is not None and "custom_logit_processor" not in out:
            out["custom_logit_processor"] = sglang_logit_processor(thinking_processor)
            params = dict(out.get("custom_params") or {})
            params.setdefault("thinking_budget", budget)
            out["custom_params"] = params
    out["chat_template_kwargs"] = kwargs
    return out
