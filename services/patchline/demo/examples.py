"""``make example NAME=...``: run a manifest of ``k8s/examples`` on the prepared local data, as shipped.

Every example names the data :mod:`patchline.demo.prepare` writes (relative to the clone's root) and keeps
its cluster values in comments. Locally the model is the oracle server (``patchline run --oracle``: no GPU,
no key), except for an example whose engine already runs on a CPU (llama.cpp), which keeps its engine.
"""

from __future__ import annotations

from pathlib import Path

from patchline.core.errors import InputError
from patchline.core.spec import InferenceRun, LlamaCppEngine, Rollout, load_manifest
from patchline.demo.prepare import DemoData

__all__ = ["EXAMPLES_DIR", "example_command", "example_names", "example_override", "example_summary"]

EXAMPLES_DIR = "k8s/examples"  # relative to the clone's root, like the data the examples name


def example_names(root: Path = Path()) -> list[str]:
    """The examples below ``root``: every ``k8s/examples/*.yaml``, by file name without ``.yaml``."""
    return sorted(path.stem for path in (root / EXAMPLES_DIR).glob("*.yaml"))


def example_override(run: Rollout | InferenceRun, data: DemoData) -> list[str]:
    """The ``patchline run`` flags that make an example run here: none for a CPU engine, else the oracle.

    An InferenceRun's requests are the prepared SWE-bench prompts, so its oracle answers from their instances.
    """
    if isinstance(run.spec.engine, LlamaCppEngine):
        return []
    if isinstance(run, InferenceRun):
        return ["--oracle-dataset", str(data.instances)]
    return ["--oracle"]


def example_command(name: str, data: DemoData, root: Path = Path()) -> list[str]:
    """``patchline run k8s/examples/NAME.yaml`` with the example's override (``root``: the clone's root)."""
    manifest = Path(EXAMPLES_DIR) / f"{name}.yaml"
    if not (root / manifest).is_file():
        known = ", ".join(example_names(root)) or "none: run this from the clone's root"
        raise InputError(f"no example {name!r} in {root / EXAMPLES_DIR} (examples: {known})")
    return ["patchline", "run", str(manifest), *example_override(load_manifest(root / manifest), data)]


def example_summary(path: Path) -> str:
    """The first sentence of an example's header comment (what it runs)."""
    words: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#") or line.startswith("# Locally:"):
            break
        words.extend(line.lstrip("#").split())
    text = " ".join(words)
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]
