"""`HybridSearch` behind LangChain's `BaseRetriever`, for chains and `retriever.invoke(...)`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, SkipValidation

from stemchat.retrieval import HybridSearch, Mode, Passage


class HybridRetriever(BaseRetriever):
    """A LangChain retriever over a `HybridSearch`; search options pass through `invoke`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: SkipValidation[HybridSearch]  # a plain class: nothing for pydantic to check

    @property
    def k(self) -> int:
        return self.searcher.k

    @property
    def embeddings(self) -> Any:
        return self.searcher.embeddings

    @property
    def manifest(self) -> Any:
        return self.searcher.manifest

    def search(self, query: str, **options: Any) -> list[Passage]:
        return self.searcher.search(query, **options)

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        conditions: Sequence[str] = (),
        filter_conditions: bool = False,
        k: int | None = None,
        mode: Mode | None = None,
    ) -> list[Document]:
        passages = self.searcher.search(
            query, k=k, conditions=conditions, filter_conditions=filter_conditions, mode=mode
        )
        return [p.to_document() for p in passages]


# HybridSearch names `Embeddings` only for type checkers; pydantic needs it to build the schema.
HybridRetriever.model_rebuild(_types_namespace={"Embeddings": Embeddings})

__all__ = ["HybridRetriever"]
