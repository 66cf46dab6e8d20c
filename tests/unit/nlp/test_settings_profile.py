"""``DENGAR_NLP__PROFILE``: the deployment chooses the ``fast`` (bundled) or ``quality`` model set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from dengar_nlp import bootstrap
from dengar_nlp.settings import (
    QUALITY_DIR_NAME,
    REQUIRED_MODEL_FILES,
    NlpConfig,
    NlpSettings,
    default_models_dir,
    default_quality_models_dir,
)


def fake_model_set(root: Path, *, skip: str | None = None) -> Path:
    """A folder with the model set's layout; the files are empty (nothing here loads them)."""
    for rel in REQUIRED_MODEL_FILES:
        if rel != skip:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(b"")
    return root


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DENGAR_NLP__PROFILE", "DENGAR_NLP__MODELS_DIR", "DENGAR_NLP__QUALITY_MODELS_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_default_profile_is_fast_and_loads_the_bundled_models() -> None:
    cfg = NlpSettings().nlp
    assert cfg.profile == "fast"
    assert cfg.active_models_dir == cfg.models_dir == default_models_dir()
    assert (cfg.active_models_dir / "encoder" / "model.onnx").is_file()


def test_quality_default_folder_is_the_committed_set_inside_the_bundled_one() -> None:
    assert default_quality_models_dir() == default_models_dir() / QUALITY_DIR_NAME


def test_quality_profile_loads_the_committed_set_by_default() -> None:
    cfg = NlpConfig(profile="quality")
    assert cfg.active_models_dir == default_quality_models_dir()
    assert all((cfg.active_models_dir / rel).is_file() for rel in REQUIRED_MODEL_FILES)
    # The two committed sets are different models.
    fast, quality = (d / "encoder" / "model.onnx" for d in (cfg.models_dir, cfg.active_models_dir))
    assert fast.read_bytes() != quality.read_bytes()


def test_quality_profile_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    quality = fake_model_set(tmp_path / "quality")
    monkeypatch.setenv("DENGAR_NLP__PROFILE", "quality")
    monkeypatch.setenv("DENGAR_NLP__QUALITY_MODELS_DIR", str(quality))
    cfg = NlpSettings().nlp
    assert cfg.profile == "quality"
    assert cfg.active_models_dir == quality
    assert cfg.models_dir == default_models_dir()  # the fast set's setting is untouched


def test_quality_profile_fails_fast_when_the_set_was_never_built(tmp_path: Path) -> None:
    with pytest.raises(ValidationError,
                       match=r"profile 'quality'.*does not exist.*DENGAR_NLP__QUALITY_MODELS_DIR"):
        NlpConfig(profile="quality", quality_models_dir=tmp_path / "nowhere")


def test_quality_profile_names_a_missing_model_file(tmp_path: Path) -> None:
    quality = fake_model_set(tmp_path / "q", skip="heads/aspects.onnx")
    with pytest.raises(ValidationError, match=r"lacks heads/aspects\.onnx"):
        NlpConfig(profile="quality", quality_models_dir=quality)


def test_only_the_chosen_set_must_exist(tmp_path: Path) -> None:
    quality = fake_model_set(tmp_path / "q")
    cfg = NlpConfig(profile="quality", quality_models_dir=quality, models_dir=tmp_path / "no-fast-set")
    assert cfg.active_models_dir == quality
    with pytest.raises(ValidationError, match="does not exist"):
        NlpConfig(profile="fast", models_dir=tmp_path / "no-fast-set", quality_models_dir=quality)


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(ValidationError, match="profile"):
        NlpConfig.model_validate({"profile": "turbo"})


def test_the_service_loads_the_chosen_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dengar_nlp.adapters import onnx_models

    seen: dict[str, Any] = {}

    def fake_load(models_dir: Path, **kwargs: Any) -> str:
        seen["dir"] = models_dir
        seen.update(kwargs)
        return "analyzer"

    monkeypatch.setattr(onnx_models, "load_analyzer", fake_load)
    quality = fake_model_set(tmp_path / "q")
    assert bootstrap.load_analyzer(NlpConfig(profile="quality", quality_models_dir=quality)) == "analyzer"
    assert seen["dir"] == quality
    bootstrap.load_analyzer(NlpConfig())
    assert seen["dir"] == default_models_dir()
    assert seen["spin_wait"] is False
    bootstrap.load_analyzer(NlpConfig(spin_wait=True))
    assert seen["spin_wait"] is True


def test_encoder_threads_do_not_spin_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DENGAR_NLP__SPIN_WAIT", raising=False)
    assert NlpSettings().nlp.spin_wait is False
    monkeypatch.setenv("DENGAR_NLP__SPIN_WAIT", "true")
    assert NlpSettings().nlp.spin_wait is True


def test_parallelism_is_posts_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    from dengar_nlp.adapters import onnx_models

    seen: dict[str, Any] = {}
    monkeypatch.setattr(onnx_models, "load_analyzer", lambda _dir, **kw: seen.update(kw))
    monkeypatch.delenv("DENGAR_NLP__PARALLELISM", raising=False)
    bootstrap.load_analyzer(NlpSettings().nlp)
    assert seen["parallelism"] == "posts"
    monkeypatch.setenv("DENGAR_NLP__PARALLELISM", "operators")
    bootstrap.load_analyzer(NlpSettings().nlp)
    assert seen["parallelism"] == "operators"
    monkeypatch.setenv("DENGAR_NLP__PARALLELISM", "cores")
    with pytest.raises(ValueError, match="parallelism"):
        NlpSettings()
