"""YAML through libyaml's safe loader when PyYAML was built with it (about 10x faster)."""

from __future__ import annotations

from typing import Any

import yaml

SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """`yaml.safe_load`, faster: only plain YAML types, never Python objects."""
    return yaml.load(text, Loader=SAFE_LOADER)  # a safe loader, C or Python
