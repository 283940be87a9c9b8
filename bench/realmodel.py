"""Benchmark of the executor against a real model on CPU: llama.cpp replicas serving SmolLM2-135M-Instruct.

Run: ``.venv/bin/python bench/realmodel.py`` (about 15 minutes on two cores; ``--quick`` for a smoke run).

1. Overhead: the same requests, in the same order, against the same server, sent by patchline's executor and
   by a bare asyncio client (aiohttp, a semaphore, no retries, no output file): completion tokens/s of each,
   in alternating rounds (the median ratio is reported), with the server's prompt cache off.
2. Prompt-cache-aware sending: ``--instances`` prompts x ``--samples`` samples (a seed each) on two replicas,
   sent in three orders: patchline's grouping (the default), all samples at once (grouping off, the file
   order, every sample of an instance in flight together) and shuffled (grouping off, lines shuffled):
   cached-token share (``usage.prompt_tokens_details.cached_tokens`` over ``prompt_tokens``) and wall time.
3. The same requests through smg (``smg==1.13.0``, ``--policy cache_aware``) in front of two replicas, sent
   by the executor without its grouping: a cache-aware gateway is the other way to get prefix reuse.
4. ``--vllm`` (left out unless asked; builds its environment under ``<repo>/.cache/vllm`` on first use, see
   ``bench/_vllm.py``): ``--vllm-lines`` chat requests through ``vllm run-batch`` and through patchline against
   ``vllm serve`` (same weights, same engine flags), then both killed half way and rerun: ``run-batch`` keeps
   nothing and starts over, patchline resumes.

Each arm gets freshly started replicas, so no arm reads another's cache, and by default no host-RAM prompt
cache (``--cache-ram-mib 0``): 30 short prompts would all fit in it, the prompts of a real batch do not, and
only the slots' own caches are left to reuse a prefix. Prompts are the first lines of distinct modules of the
standard library, so they are real text of similar lengths.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import _vllm
import aiohttp
import httpx

from patchline.core.spec import LlamaCppEngine
from patchline.gateway import ExecutionSummary, ExecutorSettings, execute_file
from patchline.gateway.launcher import llamacpp_servers
from patchline.gateway.managed import free_port

MODEL = "SmolLM2-135M-Instruct"


def _engine(replicas: int, slots: int, cache_ram_mib: int) -> LlamaCppEngine:
    # One thread per replica: llama.cpp's threads spin while they wait, so more threads than free cores
    # make it far slower on a shared machine, not faster.
    return LlamaCppEngine(
        type="llamacpp", replicas=replicas, slots=slots, ctx_per_slot=2048, threads=1, cache_ram_mib=cache_ram_mib
    )


def _prompts(count: int, chars: int) -> list[str]:
    """``count`` prompts: a question about the start of a distinct standard-library module.

    Top-level modules come first (the same prompts at any ``count``), then the modules of packages.
    """
    root = Path(sysconfig.get_paths()["stdlib"])
    candidates = [*sorted(root.glob("*.py")), *sorted(root.glob("*/*.py"))]
    sources = [p for p in candidates if p.stat().st_size > 4 * chars][:count]
    if len(sources) < count:
        raise SystemExit(f"only {len(sources)} standard-library modules are longer than {4 * chars} characters")
    return [f"Review this code and name one bug in it.\n\n{p.read_text(errors='replace')[:chars]}" for p in sources]


def _lines(prompts: list[str], samples: int, max_tokens: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "custom_id": f"inst-{i}|{k}",
            "method": "POST",  # OpenAI's batch line format (vllm run-batch requires it)
            "url": "/v1/chat/completions",
            "body": {
                "model": MODEL,
                "messages": [{"role": "user", "content": prompt}],
                "max_tokens": max_tokens,
                "temperature": 0.8,
                "seed": 1000 * i + k,
                **extra,
            },
        }
        for i, prompt in enumerate(prompts)
        for k in range(samples)
    ]


def _write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


async def _bare(lines: list[dict[str, Any]], url: str, concurrency: int) -> tuple[float, int]:
    """A bare client: (seconds, completion tokens)."""
    limit = asyncio.Semaphore(concurrency)
    tokens = 0

    async def one(session: aiohttp.ClientSession, body: dict[str, Any]) -> None:
        nonlocal tokens
        async with limit, session.post(f"{url}/v1/chat/completions", json=body) as response:
            tokens += int((await response.json())["usage"]["completion_tokens"])

    started = time.monotonic()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:
        await asyncio.gather(*(one(session, line["body"]) for line in lines))
    return time.monotonic() - started, tokens


async def _patchline(
    lines: list[dict[str, Any]], urls: list[str], folder: Path, name: str, **settings: Any
) -> ExecutionSummary:
    source = _write(folder / f"{name}.jsonl", lines)
    return await execute_file(
        str(source), str(folder / f"{name}-out.jsonl"), endpoints=urls, settings=ExecutorSettings(**settings)
    )


@asynccontextmanager
async def _smg(workers: list[str]) -> AsyncIterator[str]:
    """smg 1.13.0 with cache-aware routing in front of ``workers``; yields its URL."""
    binary = shutil.which("smg") or str(Path(sys.executable).parent / "smg")
    port, metrics = free_port(), free_port()
    command = [binary, "launch", "--host", "127.0.0.1", "--port", str(port), "--prometheus-host", "127.0.0.1"]
    command += ["--prometheus-port", str(metrics), "--policy", "cache_aware", "--worker-urls", *workers]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
            for _ in range(300):
                try:
                    if (await client.get(f"{url}/workers")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None:
                    raise SystemExit(f"smg exited with status {process.returncode}")
                await asyncio.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _share(summary: ExecutionSummary) -> str:
    return f"{summary.seconds:.1f} s, cached share {summary.cached_share:.3f}"


async def _overhead(args: argparse.Namespace, folder: Path) -> str:
    # No prompt cache here (llama.cpp's per-request switch): every round evaluates every prompt in full, so a
    # later round does not profit from an earlier one's cache.
    lines = _lines(_prompts(args.overhead_requests, 400), 1, args.max_tokens, cache_prompt=False)
    ratios: list[float] = []
    async with llamacpp_servers(_engine(1, args.concurrency, 0)) as urls:
        await _bare(lines[:2], urls[0], 2)  # warm-up: the first requests after a start are slower
        for round_ in range(args.rounds):
            bare_s, bare_tokens = await _bare(lines, urls[0], args.concurrency)
            ours = await _patchline(lines, urls, folder, f"overhead-{round_}", concurrency=args.concurrency)
            ratios.append(ours.tokens_per_s / (bare_tokens / bare_s))
            print(f"  round {round_}: bare {bare_tokens / bare_s:.1f} tok/s, patchline {ours.tokens_per_s:.1f} tok/s")
    median = sorted(ratios)[len(ratios) // 2]
    return f"executor/bare tokens/s median {median:.3f}x (rounds: {', '.join(f'{r:.3f}' for r in ratios)})"


async def _orders(args: argparse.Namespace, folder: Path) -> dict[str, ExecutionSummary]:
    lines = _lines(_prompts(args.instances, args.prompt_chars), args.samples, args.max_tokens)
    shuffled = list(lines)
    random.Random(7).shuffle(shuffled)
    arms = {
        "grouped": (lines, {"concurrency": args.concurrency}),
        "all at once": (lines, {"concurrency": args.samples * 2, "prompt_grouping": False}),
        "shuffled": (shuffled, {"concurrency": args.concurrency, "prompt_grouping": False}),
    }
    results: dict[str, ExecutionSummary] = {}
    for name, (arm_lines, settings) in arms.items():
        async with llamacpp_servers(_engine(2, args.slots, args.cache_ram_mib)) as urls:
            results[name] = await _patchline(arm_lines, urls, folder, name.replace(" ", "-"), **settings)
        print(f"  {name}: {_share(results[name])}")
    if not args.no_smg:
        engine = _engine(2, args.slots, args.cache_ram_mib)
        async with llamacpp_servers(engine) as urls, _smg(urls) as gateway:
            results["smg cache_aware"] = await _patchline(
                lines, [gateway], folder, "smg", concurrency=args.concurrency, prompt_grouping=False
            )
        print(f"  smg cache_aware: {_share(results['smg cache_aware'])}")
    return results


async def _vllm_arm(args: argparse.Namespace, folder: Path) -> list[str]:
    try:
        env = _vllm.build_env()
    except _vllm.EnvironmentUnavailableError as error:
        raise SystemExit(f"--vllm: not measured, its environment cannot be built here: {error}") from error
    # Temperature 0: run-batch and serve give the same texts for the same configuration, a check that both
    # sides did the same work.
    lines = _lines(_prompts(args.vllm_lines, args.vllm_prompt_chars), 1, args.vllm_max_tokens, temperature=0)
    source = _write(folder / "vllm-in.jsonl", lines)
    return await _vllm.compare(env, source, folder / "vllm", args.vllm_concurrency)


async def _main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="patchline-realmodel-") as tmp:
        folder = Path(tmp)
        vllm_report: list[str] = []
        if args.vllm:
            print(f"4. vLLM's CPU build: {args.vllm_lines} chat requests, run-batch vs patchline on vllm serve")
            vllm_report = await _vllm_arm(args, folder)
        overhead = "executor/bare: not measured"
        if not args.no_overhead:
            print("1. executor overhead against a bare client (1 replica)")
            overhead = await _overhead(args, folder)
            print(f"  {overhead}")
        results: dict[str, ExecutionSummary] = {}
        if not args.no_orders:
            print(f"2. {args.instances} prompts x {args.samples} samples on 2 replicas")
            results = await _orders(args, folder)
    print(f"\nrealmodel bench: {overhead}")
    for line in vllm_report:
        print(f"  {line}")
    if not results:
        return 0
    grouped = results["grouped"]
    for name, summary in results.items():
        ratio = summary.seconds / grouped.seconds if grouped.seconds else 0.0
        print(f"  {name:<16} {_share(summary)}; wall {ratio:.2f}x the grouped order's")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the bench works, in a minute")
    parser.add_argument("--instances", type=int, default=30)
    parser.add_argument("--samples", type=int, default=11)
    parser.add_argument("--prompt-chars", type=int, default=1200, help="prompt length in characters (~3.5 per token)")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight (across prompts)")
    parser.add_argument("--slots", type=int, default=4, help="slots per replica")
    parser.add_argument("--overhead-requests", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="bare / patchline rounds of the overhead arm")
    parser.add_argument("--no-smg", action="store_true", help="leave out the smg arm")
    parser.add_argument("--no-overhead", action="store_true", help="leave out the executor-vs-bare-client arm")
    parser.add_argument("--no-orders", action="store_true", help="leave out the sending-order arms (and smg)")
    parser.add_argument(
        "--cache-ram-mib",
        type=int,
        default=0,
        help="host-RAM prompt cache per replica (default 0: a real batch's prompts do not fit in it either)",
    )
    parser.add_argument("--vllm", action="store_true", help="add the vLLM CPU arm (a 3.5 GB environment, once)")
    parser.add_argument("--vllm-lines", type=int, default=500, help="chat requests of the vLLM arm")
    parser.add_argument("--vllm-max-tokens", type=int, default=32)
    parser.add_argument("--vllm-prompt-chars", type=int, default=400)
    parser.add_argument("--vllm-concurrency", type=int, default=256, help="patchline's requests in flight to serve")
    args = parser.parse_args()
    if args.quick:
        args.instances, args.samples, args.overhead_requests, args.prompt_chars = 4, 3, 8, 600
        args.vllm_lines = 40
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
