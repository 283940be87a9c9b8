"""Prompt keys (what makes two requests samples of one prompt) and lanes (their bounded queue)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import msgspec
import pytest

from patchline.core.batch import RawRequestLine
from patchline.gateway.grouping import PROMPT_KEY_FIELDS, Lane, prompt_key

pytestmark = pytest.mark.unit

MESSAGES = [{"role": "user", "content": "Fix the bug in requests/models.py"}]


def _line(custom_id: str, url: str = "/v1/chat/completions", **body: Any) -> RawRequestLine:
    record = {"custom_id": custom_id, "url": url, "body": body}
    return msgspec.json.decode(json.dumps(record).encode(), type=RawRequestLine)


def test_samples_of_one_prompt_share_a_key_whatever_their_sampling_keys() -> None:
    greedy = _line("i|0", model="m", messages=MESSAGES, temperature=0.0, max_tokens=64)
    sampled = _line("i|1", model="m", messages=MESSAGES, temperature=0.8, seed=7, n=1, top_p=0.9, max_tokens=32)
    assert prompt_key(greedy) == prompt_key(sampled)


@pytest.mark.parametrize(
    "other",
    [
        {"model": "other", "messages": MESSAGES},
        {"model": "m", "messages": [{"role": "user", "content": "another prompt"}]},
        {"model": "m", "messages": MESSAGES, "chat_template_kwargs": {"enable_thinking": True}},
        {"model": "m", "messages": MESSAGES, "tools": [{"type": "function"}]},
        {"model": "m", "prompt": "Fix the bug"},
    ],
)
def test_anything_that_changes_the_prompt_changes_the_key(other: dict[str, Any]) -> None:
    assert prompt_key(_line("a", model="m", messages=MESSAGES)) != prompt_key(_line("b", **other))


def test_the_url_is_part_of_the_prompt() -> None:
    chat = _line("a", model="m", prompt="x")
    completion = _line("b", url="/v1/completions", model="m", prompt="x")
    assert prompt_key(chat) != prompt_key(completion)


def test_key_fields_are_the_prompt_deciding_ones() -> None:
    assert set(PROMPT_KEY_FIELDS) == {"model", "messages", "prompt", "tools", "chat_template_kwargs", "enable_thinking"}


def test_a_body_with_a_field_of_an_odd_type_still_gets_a_key() -> None:
    line = RawRequestLine(custom_id="odd", body=msgspec.Raw(b'{"messages": 3, "model": null}'))
    assert prompt_key(line) == prompt_key(
        RawRequestLine(custom_id="odd2", body=msgspec.Raw(b'{"messages": 3, "model": null}'))
    )


async def test_a_full_lane_makes_the_reader_wait_until_its_worker_takes_one() -> None:
    first = _line("i|0", model="m", messages=MESSAGES)
    lane = Lane("k", first, limit=2)
    lane.add(_line("i|1", model="m", messages=MESSAGES))
    waiter = asyncio.create_task(lane.wait_for_space())
    await asyncio.sleep(0)
    assert not waiter.done()
    assert lane.take().custom_id == "i|0"
    await asyncio.wait_for(waiter, timeout=1)
    assert len(lane) == 1
