"""The patchline Kubernetes operator: InferenceRun and Rollout resources, their SGLang / llama.cpp servers and children.

``builders`` holds the pure object builders (no Kopf, no API calls); the Kopf handlers import them.
"""

from __future__ import annotations
