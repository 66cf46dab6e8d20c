"""Promote a model set that ``make nlp2-models`` built to the bundled models or the ``quality`` set.

    .venv/bin/python services/nlp/scripts/promote_models.py ../nlp2-runs/models/teacher
    .venv/bin/python services/nlp/scripts/promote_models.py ../nlp2-runs/models/teacher --to quality

``--to bundled`` (the default) copies the set's encoder and heads over ``services/nlp/models`` (the
``fast`` profile) and its heads' parity fixture over ``tests/unit/nlp/fixtures/heads_parity.npz``;
``--to quality`` copies them over ``services/nlp/models/quality`` (the ``quality`` profile) and
``heads_parity_quality.npz``.  ``test_heads_parity.py`` reads both.  Language id is the bundled one in
every set: it is checked, and copied into the quality set.

Before anything is copied the set must be complete and its ONNX heads must match their training-time
models on the parity fixture (``build_nlp2.check_heads_parity``), so a half-built set is never
promoted.  What stays to do by hand is printed: the model card and the code-mixed minimums.
"""

from __future__ import annotations

import argparse
import filecmp
import logging
import shutil
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parents[2]
BUNDLED = SCRIPTS.parent / "models"
ENCODER_FILES = ("model.onnx", "tokenizer.json", "encoder.json")
HEAD_FILES = tuple(f"{h}.{ext}" for h in ("sentiment", "emotion", "aspects") for ext in ("onnx", "json"))
PARITY = "heads_parity.npz"
METRICS = "METRICS.md"

sys.path.insert(0, str(SCRIPTS))
sys.path.insert(0, str(SCRIPTS.parent))

from build_models import BuildError, copy_langid  # noqa: E402
from training import FIXTURE, QUALITY_FIXTURE  # noqa: E402

from dengar_nlp.settings import QUALITY_DIR_NAME, REQUIRED_MODEL_FILES  # noqa: E402

logger = logging.getLogger("promote_models")


def check_set(src: Path) -> None:
    """A complete set whose heads pass the parity check, or :class:`BuildError`."""
    from build_nlp2 import check_heads_parity

    # What the service loads, plus what the heads are checked and documented with.
    needed = (*REQUIRED_MODEL_FILES, *(f"heads/{n}" for n in (*HEAD_FILES, PARITY)))
    missing = [f for f in dict.fromkeys(needed) if not (src / f).is_file()]
    if missing:
        raise BuildError(f"{src} is not a complete model set: missing {', '.join(missing)}", code=2)
    check_heads_parity(src / "heads")


def promote(src: Path, to: str, *, bundled: Path = BUNDLED, quality: Path | None = None,
            fixture: Path | None = None) -> list[Path]:
    """Copy the set to the ``bundled`` (fast) or ``quality`` folder; returns the files written."""
    check_set(src)
    if not filecmp.cmp(src / "langid" / "langid.onnx", bundled / "langid" / "langid.onnx", shallow=False):
        raise BuildError(f"{src}/langid differs from the bundled language id; sets built by "
                         "build_nlp2.py copy it, so this set is not one of them", code=2)
    if to == "quality":
        dest = quality if quality is not None else bundled / QUALITY_DIR_NAME
        fixture = fixture if fixture is not None else QUALITY_FIXTURE
    else:
        dest = bundled
        fixture = fixture if fixture is not None else FIXTURE
    written: list[Path] = []

    def copy(a: Path, b: Path) -> None:
        b.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(a, b)
        written.append(b)

    for n in ENCODER_FILES:
        copy(src / "encoder" / n, dest / "encoder" / n)
    for n in (*HEAD_FILES, METRICS):
        if (src / "heads" / n).is_file():
            copy(src / "heads" / n, dest / "heads" / n)
    if dest != bundled:
        written += copy_langid(bundled, dest)
    copy(src / "heads" / PARITY, fixture)
    return written


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s promote_models: %(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("set", type=Path, help="a model set folder (<out>/<name> of make nlp2-models)")
    p.add_argument("--to", choices=("bundled", "quality"), default="bundled")
    args = p.parse_args(argv)
    try:
        written = promote(args.set.resolve(), args.to)
    except BuildError as exc:
        sys.stderr.write(f"promote_models: error: {exc}\n")
        return exc.code
    for f in written:
        logger.info("wrote %s", f.relative_to(REPO) if f.is_relative_to(REPO) else f)
    logger.info("now: update services/nlp/models/README.md (encoder, heads, figures) and the %s minimums "
                "in tests/unit/nlp/test_codemixed.py, then run make test", args.to)
    return 0


if __name__ == "__main__":
    sys.exit(main())
