"""stemchat: an honest, sourced map of the evidence on stem cell therapy, for patients."""

from stemchat._offline import force_offline

force_offline()

from stemchat.answer import Answer, Citation, EvidenceLine  # noqa: E402
from stemchat.engine import Conversation, Engine  # noqa: E402
from stemchat.errors import (  # noqa: E402
    ConfigError,
    CorpusError,
    IngestLockedError,
    StemchatError,
    StoreError,
)
from stemchat.settings import Settings, load_settings  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "Citation",
    "ConfigError",
    "Conversation",
    "CorpusError",
    "Engine",
    "EvidenceLine",
    "IngestLockedError",
    "Settings",
    "StemchatError",
    "StoreError",
    "__version__",
    "load_settings",
]
