"""Benchmark of the batch executor: requests/s against a fast local server, and peak memory on a big input.

Run: ``.venv/bin/python bench/gateway.py`` (about ten minutes; ``--quick`` for a small smoke run).

Three clients send the same request file to the same server, each in its own process:

- ``patchline``: ``python -m patchline infer run`` (retries and resume switched on, as always);
- ``baseline``: an executor written like the seed's (aiohttp, one task per line created up front behind
  a semaphore, the whole file in memory, no retry, no resume, output opened with mode "w");
- ``ceiling``: a bare HTTP/1.1 load generator (asyncio streams on uvloop, keep-alive, no JSON, no file),
  about the most this server and machine can serve to a Python client.

The server is a minimal asyncio HTTP/1.1 server in a separate process that answers every request with
the same chat completion; a single process of it answers far faster than any of the clients sends.
Peak memory is the child's ``ru_maxrss`` from ``os.wait4``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

_BODY = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "bench-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 1, "total_tokens": 21},
    }
).encode()
_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
    + f"Content-Length: {len(_BODY)}\r\n\r\n".encode()
    + _BODY
)


# -- server ----------------------------------------------------------------------------------------
class _FixedResponse(asyncio.Protocol):
    """Answers each complete HTTP/1.1 request (Content-Length bodies) with the fixed response."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport: Any = transport
        self._buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self._buffer[:end]).lower()
            start = head.find(b"content-length:")
            length = 0
            if start >= 0:
                stop = head.find(b"\r\n", start)
                length = int(head[start + 15 : stop if stop >= 0 else None])
            total = end + 4 + length
            if len(self._buffer) < total:
                return
            del self._buffer[:total]
            self._transport.write(_RESPONSE)


async def _serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_FixedResponse, "127.0.0.1", port, backlog=4096, reuse_address=True)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


# -- ceiling: bare load generator ------------------------------------------------------------------
async def _loadgen(url: str, total: int, concurrency: int) -> float:
    host, port = url.split("//", 1)[1].split(":")
    payload = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hello"}]}).encode()
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    remaining = [total]

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        while remaining[0] > 0:
            remaining[0] -= 1
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            start = head.lower().find(b"content-length:")
            await reader.readexactly(int(head[start + 15 : head.find(b"\r\n", start)]))
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return time.perf_counter() - started


# -- baseline: written like the seed's executor ----------------------------------------------------
async def _baseline(input_file: str, output_file: str, url: str, concurrency: int) -> float:
    import aiohttp

    started = time.perf_counter()
    with open(input_file, encoding="utf-8") as handle:
        requests = [json.loads(line) for line in handle]
    semaphore = asyncio.Semaphore(concurrency)
    with open(output_file, "w", encoding="utf-8") as out:
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=600)) as session:

            async def process(request: dict[str, Any]) -> None:
                async with semaphore:
                    try:
                        async with session.post(url, json=request["body"]) as response:
                            body = await response.json()
                            result = {"status_code": response.status, "body": body}
                            line = {"custom_id": request["custom_id"], "response": result, "error": None}
                    except Exception as exc:
                        line = {"custom_id": request["custom_id"], "response": None, "error": str(exc)}
                    out.write(json.dumps(line) + "\n")

            tasks = [asyncio.create_task(process(r)) for r in requests]
            await asyncio.gather(*tasks)
    return time.perf_counter() - started


# -- orchestration ---------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_requests(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for n in range(count):
            custom_id = f"bench__repo-{n // 5}|{n % 5}"
            body = {"model": "bench-model", "messages": [{"role": "user", "content": f"request {n}"}], "max_tokens": 8}
            handle.write(
                json.dumps({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body})
            )
            handle.write("\n")


def _run_child(command: list[str]) -> tuple[str, float]:
    """Run a child to completion; returns (stdout, peak RSS in MB) from its own rusage."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    assert process.stdout is not None and process.stderr is not None
    out, err = process.stdout.read(), process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{command[:4]} failed ({process.returncode}):\n{err.decode()[-3000:]}")
    return out.decode(), usage.ru_maxrss / 1024  # Linux reports KiB


def _patchline(input_file: Path, output_file: Path, url: str, concurrency: int, summary: Path) -> tuple[float, float]:
    command = [
        sys.executable, "-m", "patchline", "infer", "run", "--input", str(input_file), "--output", str(output_file),
        "--url", url, "--concurrency", str(concurrency), "--timeout", "60", "--summary-json", str(summary),
    ]  # fmt: skip
    _, rss = _run_child(command)
    result = json.loads(summary.read_text())
    if result["succeeded"] != result["total"]:
        raise SystemExit(f"patchline run incomplete: {result}")
    return result["requests_per_s"], rss


def _role(role: str, *args: str) -> tuple[dict[str, Any], float]:
    out, rss = _run_child([sys.executable, __file__, "--role", role, *args])
    return json.loads(out.strip().splitlines()[-1]), rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the bench works, in seconds")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--memory-lines", type=int, default=1_000_000)
    parser.add_argument("--role", choices=("server", "loadgen", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--args", nargs="*", default=[], help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.role == "server":
        asyncio.run(_serve(int(rest[0])))
        return 0
    if args.role == "loadgen":
        import uvloop  # the ceiling gets the fastest event loop there is for it

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            print(json.dumps({"seconds": runner.run(_loadgen(rest[0], int(rest[1]), int(rest[2])))}))
        return 0
    if args.role == "baseline":
        print(json.dumps({"seconds": asyncio.run(_baseline(rest[0], rest[1], rest[2], int(rest[3])))}))
        return 0
    if args.quick:
        args.requests, args.concurrency, args.memory_lines = 1_000, 64, 5_000
    return _bench(args.requests, args.concurrency, args.memory_lines)


def _bench(requests: int, concurrency: int, memory_lines: int) -> int:
    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, "--role", "server", str(port)], stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != b"ready":
            raise SystemExit("the bench server did not start")
        url = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory(prefix="patchline-bench-") as tmp:
            folder = Path(tmp)
            _write_requests(folder / "requests.jsonl", requests)
            ceiling, _ = _role("loadgen", url, str(requests), str(concurrency))
            baseline, baseline_rss = _role(
                "baseline", str(folder / "requests.jsonl"), str(folder / "baseline.jsonl"),
                f"{url}/v1/chat/completions", str(concurrency),
            )  # fmt: skip
            ours, ours_rss = _patchline(
                folder / "requests.jsonl", folder / "patchline.jsonl", url, concurrency, folder / "summary.json"
            )
            (folder / "requests.jsonl").unlink()
            _write_requests(folder / "big.jsonl", memory_lines)
            _, big_rss = _patchline(
                folder / "big.jsonl", folder / "big-out.jsonl", url, concurrency, folder / "big.json"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
    ceiling_rps, baseline_rps = requests / ceiling["seconds"], requests / baseline["seconds"]
    print(
        f"gateway bench ({requests} requests, concurrency {concurrency}): "
        f"patchline {ours:.0f} req/s | baseline {baseline_rps:.0f} req/s | ceiling {ceiling_rps:.0f} req/s | "
        f"patchline/baseline {ours / baseline_rps:.2f}x | patchline/ceiling {ours / ceiling_rps:.2f}x | "
        f"peak RSS patchline {ours_rss:.0f} MB, baseline {baseline_rss:.0f} MB ({requests} lines); "
        f"patchline {big_rss:.0f} MB ({memory_lines} lines)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
