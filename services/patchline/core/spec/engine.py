"""What answers the requests of a run: an SGLang server patchline starts, an external endpoint, or the oracle."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from patchline.core.spec.access import KeySetName
from patchline.core.spec.base import SpecModel
from patchline.core.spec.executor import EngineFlavor, HttpUrls, ModelEndpoints, ThinkingProcessor
from patchline.core.spec.kube import DNS_LABEL, Quantity, Resources, SecretKeyRef, Toleration

__all__ = [
    "DEFAULT_SGLANG_IMAGE",
    "SGLANG_VERSION",
    "EndpointEngine",
    "Engine",
    "HfCacheVolume",
    "HostPathVolume",
    "ModelVolume",
    "OracleEngine",
    "PvcVolume",
    "SGLangEngine",
]

# The SGLang release patchline targets (argument names are checked against it); move deliberately.
SGLANG_VERSION = "0.5.23"
DEFAULT_SGLANG_IMAGE = f"lmsysorg/sglang:v{SGLANG_VERSION}"


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


Engine = Annotated[SGLangEngine | EndpointEngine | OracleEngine, Field(discriminator="type")]
