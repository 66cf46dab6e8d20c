"""The NLP service's settings: ``DENGAR_NLP__<FIELD>`` (e.g. ``DENGAR_NLP__GRPC_PORT``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dengar_common.settings import CommonSettings

_PACKAGE_DIR = Path(__file__).resolve().parent


def default_models_dir() -> Path:
    """The bundled models: inside the package when installed from the wheel (``setup.py`` puts them
    there; the container image installs that wheel), else ``services/nlp/models`` of a source checkout
    or an editable install, where ``make models`` writes them."""
    bundled = _PACKAGE_DIR / "models"
    return bundled if bundled.is_dir() else _PACKAGE_DIR.parent / "models"


class NlpConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    grpc_port: int = Field(50052, ge=0, le=65535)
    port_file: str | None = None
    models_dir: Path = Field(default_factory=default_models_dir)
    # The encoder's onnxruntime threads; analyses run one at a time.
    threads: int = Field(2, ge=1, le=64)
    # A batch closes at this many posts or after this many milliseconds, whichever comes first.
    batch_size: int = Field(64, ge=1, le=1000)
    batch_wait_ms: int = Field(200, ge=1, le=60_000)
    max_deliver: int = Field(5, ge=1, le=100)
    max_analyze_texts: int = Field(100, ge=1, le=10_000)
    # Optional JSON file of brands/products with aliases for entity matching.
    entities_file: Path | None = None

    @field_validator("models_dir")
    @classmethod
    def _models_exist(cls, v: Path) -> Path:
        if not v.is_dir():
            raise ValueError(f"models directory {v} does not exist (run `make models`)")
        return v


class NlpSettings(CommonSettings):
    nlp: NlpConfig = Field(default_factory=NlpConfig)
