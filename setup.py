"""Everything is configured in pyproject.toml; this only adds the NLP models to the wheel.

The models live in ``services/nlp/models`` (``make models`` writes them there, next to the package
rather than in it), so package-data cannot reach them. A wheel, which is what the container image
installs, gets them as ``dengar_nlp/models``, where ``dengar_nlp.settings.default_models_dir`` looks
first. An editable install keeps reading them from the source tree.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

MODELS = Path(__file__).resolve().parent / "services" / "nlp" / "models"
MODEL_SUFFIXES = {".onnx", ".json", ".txt"}


class BuildPyWithModels(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "dengar_nlp" / "models"
        for src in sorted(MODELS.rglob("*")):
            if src.is_file() and src.suffix in MODEL_SUFFIXES:
                dst = target / src.relative_to(MODELS)
                self.mkpath(str(dst.parent))
                self.copy_file(str(src), str(dst))


setup(cmdclass={"build_py": BuildPyWithModels})
