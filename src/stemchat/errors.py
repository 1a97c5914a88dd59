"""The small error hierarchy: every message names the file, field or setting and the fix."""


class StemchatError(Exception):
    """Base class: the CLI prints it as one line and exits non-zero."""


class ConfigError(StemchatError):
    """A setting is wrong or missing."""


class CorpusError(StemchatError):
    """A corpus file cannot be loaded."""


class StoreError(StemchatError):
    """The vector store cannot be opened, written or queried."""


class IngestLockedError(StoreError):
    """Another ingest holds the single-writer lock."""


class PruneRefusedError(CorpusError):
    """An ingest would remove all, or too many, of the stored documents (a missing folder?)."""
