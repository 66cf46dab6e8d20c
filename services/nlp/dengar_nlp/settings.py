"""The NLP service's settings: ``DENGAR_NLP__<FIELD>`` (e.g. ``DENGAR_NLP__GRPC_PORT``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dengar_common.settings import CommonSettings

# How the analyser spends its threads (DENGAR_NLP__PARALLELISM): posts = chunks of a batch analysed at
# once, one thread per encoder call; operators = one analysis at a time, threads inside each call.
Parallelism = Literal["posts", "operators"]

_PACKAGE_DIR = Path(__file__).resolve().parent


def default_models_dir() -> Path:
    """The bundled models: inside the package when installed from the wheel (``setup.py`` puts them
    there; the container image installs that wheel), else ``services/nlp/models`` of a source checkout
    or an editable install, where ``make models`` writes them."""
    bundled = _PACKAGE_DIR / "models"
    return bundled if bundled.is_dir() else _PACKAGE_DIR.parent / "models"


QUALITY_DIR_NAME = "quality"


def default_quality_models_dir() -> Path:
    """The committed ``quality`` model set (issue 13): the fine-tuned 12-layer teacher with its heads,
    in ``quality/`` inside the bundled models folder, so the wheel and the container image carry it
    too.  ``make models`` retrains its heads; ``promote_models.py --to quality`` replaces it."""
    return default_models_dir() / QUALITY_DIR_NAME


# What a model set must contain for ``load_analyzer``: checked when the settings load, so a
# deployment that picks a profile whose set was never built stops at start-up, naming the file.
REQUIRED_MODEL_FILES = (
    "encoder/model.onnx",
    "encoder/tokenizer.json",
    "encoder/encoder.json",
    "langid/langid.onnx",
    "heads/sentiment.onnx",
    "heads/emotion.onnx",
    "heads/aspects.onnx",
)


class NlpConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    grpc_port: int = Field(50052, ge=0, le=65535)
    port_file: str | None = None
    # Which model set the service loads (issue 13): ``fast`` = ``models_dir`` (the distilled student,
    # about 2x the posts per second), ``quality`` = ``quality_models_dir`` (the fine-tuned 12-layer
    # teacher: a few points better, at the frozen encoder's speed).  Both are committed; only the
    # chosen one must exist.
    profile: Literal["fast", "quality"] = "fast"
    models_dir: Path = Field(default_factory=default_models_dir)
    quality_models_dir: Path = Field(default_factory=default_quality_models_dir)
    # Cores one analysis uses.  ``posts``: a batch is analysed in ``threads`` chunks at once, each
    # post's encoder call on one thread; ``operators``: one chunk, ``threads`` onnxruntime threads per
    # encoder call (before issue 13).  Same results; ``posts`` is faster on tweet-length posts.
    threads: int = Field(2, ge=1, le=64)
    parallelism: Parallelism = "posts"
    # Whether those threads spin while waiting for work (onnxruntime's default). Off by default: the
    # service shares its cores with the store, NATS and the other services, and spinning threads
    # took ~40% of the platform's throughput on the 2-core bench (docs/pipeline-performance.md).
    # On cores of its own, spinning makes NLP ~20% faster.
    spin_wait: bool = False
    # A batch closes at this many posts or after this many milliseconds, whichever comes first.
    batch_size: int = Field(64, ge=1, le=1000)
    batch_wait_ms: int = Field(200, ge=1, le=60_000)
    max_deliver: int = Field(5, ge=1, le=100)
    max_analyze_texts: int = Field(100, ge=1, le=10_000)
    # Optional JSON file of brands/products with aliases for entity matching.
    entities_file: Path | None = None

    @property
    def active_models_dir(self) -> Path:
        """The model folder of the chosen ``profile``."""
        return self.quality_models_dir if self.profile == "quality" else self.models_dir

    @model_validator(mode="after")
    def _models_exist(self) -> NlpConfig:
        v = self.active_models_dir
        if self.profile == "fast":
            if not v.is_dir():
                raise ValueError(f"models directory {v} does not exist (run `make models`)")
            return self
        if not v.is_dir():
            raise ValueError(
                f"profile 'quality': models directory {v} does not exist; point "
                "DENGAR_NLP__QUALITY_MODELS_DIR at a model set (the committed one is services/nlp/models/"
                f"{QUALITY_DIR_NAME}; make nlp2-models builds others, see services/nlp/models/README.md)")
        missing = [f for f in REQUIRED_MODEL_FILES if not (v / f).is_file()]
        if missing:
            raise ValueError(f"profile 'quality': models directory {v} lacks {', '.join(missing)}")
        return self


class NlpSettings(CommonSettings):
    nlp: NlpConfig = Field(default_factory=NlpConfig)
