"""The curated corpus: documents with front matter and the condition evidence map."""

from stemchat.corpus.lint import check_corpus
from stemchat.corpus.loader import Corpus, Issue, load_corpus
from stemchat.corpus.models import (
    Condition,
    CorpusDocument,
    DocumentMeta,
    EvidenceMap,
    Source,
    Tier,
)

__all__ = [
    "Condition",
    "Corpus",
    "CorpusDocument",
    "DocumentMeta",
    "EvidenceMap",
    "Issue",
    "Source",
    "Tier",
    "check_corpus",
    "load_corpus",
]
