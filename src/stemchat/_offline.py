"""Process-wide switches that keep stemchat offline: no hub downloads, no telemetry."""

import os

_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
}


def force_offline() -> None:
    """Default the environment so no library phones home; the package does this at import.

    Only defaults: a host that set one of these keeps its value (models still load with
    `local_files_only`, so nothing is downloaded either way)."""
    for key, value in _OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
