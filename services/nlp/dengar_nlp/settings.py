from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from dengar_common.settings import CommonSettings

DEFAULT_MODELS = Path(__file__).resolve().parent.parent / "models"


class NlpSettings(CommonSettings):
    nlp_grpc_port: int = Field(50052, ge=0, le=65535)
    nlp_port_file: str | None = None
    nlp_models_dir: Path = DEFAULT_MODELS
    nlp_threads: int = Field(2, ge=1, le=64)
    # A batch closes at this many posts or after this many milliseconds, whichever comes first.
    nlp_batch_size: int = Field(64, ge=1, le=1000)
    nlp_batch_wait_ms: int = Field(200, ge=1, le=60_000)
    nlp_max_deliver: int = Field(5, ge=1, le=100)
    nlp_max_analyze_texts: int = Field(100, ge=1, le=10_000)
    # Optional JSON file of brands/products with aliases for entity matching.
    nlp_entities_file: Path | None = None

    @field_validator("nlp_models_dir")
    @classmethod
    def _models_exist(cls, v: Path) -> Path:
        if not v.is_dir():
            raise ValueError(f"models directory {v} does not exist (run `make models`)")
        return v
