"""BM25 through the Retrieval service: the retriever a PromptBuilder lends its EditBench builds.

Prompt builds run in worker threads, so the calls go over a blocking channel of their own, each with a
deadline; the service reads the same repository folders (the platform's shared repositories).
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from patchline.client import CHANNEL_OPTIONS
from patchline.client.auth import ClientAuth, call_metadata, open_blocking_channel
from patchline.core.errors import UnavailableError
from patchline.core.repos import GitSnapshot
from patchline.rpc.v1 import retrieval_pb2, retrieval_pb2_grpc

__all__ = ["ServiceRetriever"]


class ServiceRetriever:
    """A :class:`~patchline.core.repos.Retriever` whose searches run on the Retrieval service at ``target``."""

    def __init__(self, target: str, *, auth: ClientAuth | None = None, deadline: float = 600.0) -> None:
        self.target, self.deadline = target, deadline
        self._auth = auth or ClientAuth()
        self._channel: grpc.Channel | None = None

    def top_files(self, repo: GitSnapshot, query: str, *, topn: int, exclude: Sequence[str]) -> list[str]:
        """The ``topn`` best ``.py`` files of ``repo`` for ``query``, ``exclude`` left out, ranked by the service."""
        if self._channel is None:
            self._channel = open_blocking_channel(self.target, self._auth, options=CHANNEL_OPTIONS)
        stub = retrieval_pb2_grpc.RetrievalServiceStub(self._channel)
        request = retrieval_pb2.SearchRequest(
            repo=str(repo.repo_dir), commit=repo.commit, query=query, top_n=topn, extensions=[".py"], exclude=exclude
        )
        try:
            answer: retrieval_pb2.SearchResponse = stub.Search(
                request, timeout=self.deadline, metadata=call_metadata(self._auth)
            )
        except grpc.RpcError as exc:
            raise UnavailableError(f"Retrieval service at {self.target}: {exc.code().name}: {exc.details()}") from exc
        return [hit.path for hit in answer.hits]

    def close(self) -> None:
        """Close the channel (a new search opens another)."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
