"""NLP v2 after the fine-tune: what ``make nlp2-models`` runs (issue 13).

    .venv/bin/python services/nlp/scripts/build_nlp2.py --data ../shared/data \\
        --teacher ../nlp2-runs/teacher/best.pt [--student ../nlp2-runs/student6/best.pt ...] \\
        --out ../nlp2-runs/models

For each checkpoint (the teacher, then every student, in the order given) it builds a complete model
set in the bundled layout, ``<out>/<name>/{encoder,langid,heads}``, that ``load_analyzer`` and the
``quality`` profile (``DENGAR_NLP__QUALITY_MODELS_DIR``) load as they are:

1. ``export``  - ``export_finetuned.py``: the run's encoder -> ``<out>/<name>/encoder`` (int8 ONNX).
2. ``langid``  - a copy of the bundled ``langid/`` (language id does not read the encoder).
3. ``heads``   - ``train_heads.py --encoder <out>/<name>/encoder``: the heads' recipe of ``make models``
   (embedding MLP stacked with the lexical n-gram model for sentiment, logistic regressions for emotion
   and aspects), retrained on what that encoder gives the heads (its ``features`` output if it has a
   task branch, else its embedding) -> ``<out>/<name>/heads``; then the parity check
   of ``tests/unit/nlp/test_heads_parity.py`` on them: the ONNX heads against the training-time models'
   probabilities in ``<out>/<name>/heads/heads_parity.npz``.

Then ``bench`` - ``bench/bench_nlp.py --candidate <name>=<out>/<name> ...``: the committed models and
every new set side by side in one run, on the same data -> ``<out>/bench/nlp.{json,md}``.

Every step is a subprocess with this interpreter; the first failure stops the build.  ``--steps``
re-runs a subset (e.g. ``--steps heads bench`` after a change to the heads).  ``--smoke`` caps rows
and timings so the whole chain takes minutes (for checking the chain, not for models).  Needs the
``finetune`` extra (torch) for the export step only.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parents[2]
BUNDLED = SCRIPTS.parent / "models"
BENCH = REPO / "bench" / "bench_nlp.py"
STEPS = ("export", "langid", "heads", "bench")
# Smoke run: rows per source for the heads and the bench's validation, and a short speed sample.
SMOKE_TRAIN_LIMIT = 200
SMOKE_VAL_LIMIT = 100
SMOKE_BENCH_ARGS = ("--speed-posts", "256", "--min-seconds", "1", "--max-seconds", "5",
                    "--quiet-wait-s", "0", "--only", "encoder", "analyzer")

sys.path.insert(0, str(SCRIPTS))

from build_models import BuildError, check_data, copy_langid  # noqa: E402

logger = logging.getLogger("build_nlp2")


@dataclass(frozen=True)
class Candidate:
    name: str
    checkpoint: Path


def parse_named(spec: str, default: str) -> tuple[str, Path]:
    """``NAME=PATH`` or a bare ``PATH`` (named ``default``)."""
    name, sep, path = spec.partition("=")
    if sep and name and "/" not in name:
        return name, Path(path)
    return default, Path(spec)


def candidates(teacher: str | None, students: list[str]) -> list[Candidate]:
    out: list[Candidate] = []
    if teacher:
        out.append(Candidate(*parse_named(teacher, "teacher")))
    for i, spec in enumerate(students):
        default = "student" if len(students) == 1 else f"student{i + 1}"
        out.append(Candidate(*parse_named(spec, default)))
    names = [c.name for c in out]
    if len(set(names)) != len(names):
        raise BuildError(f"candidate names must differ: {names}", code=2)
    if "current" in names:
        raise BuildError("'current' names the committed models in the bench; choose another name", code=2)
    return out


def plan(args: argparse.Namespace, cands: list[Candidate]) -> list[tuple[str, str, list[str]]]:
    """(step, what, command) in order; ``langid`` is a copy, with an empty command."""
    py = sys.executable
    out: Path = args.out
    cmds: list[tuple[str, str, list[str]]] = []
    heads_extra: list[str] = []
    if args.quick:
        heads_extra.append("--quick")
    if args.train_limit:
        heads_extra += ["--train-limit", str(args.train_limit)]
    if args.val_limit:
        heads_extra += ["--val-limit", str(args.val_limit)]
    for c in cands:
        d = out / c.name
        if "export" in args.steps:
            cmds.append(("export", c.name, [py, str(SCRIPTS / "export_finetuned.py"),
                                            "--checkpoint", str(c.checkpoint), "--out", str(d / "encoder"),
                                            *shlex.split(args.export_args)]))
        if "langid" in args.steps:
            cmds.append(("langid", c.name, []))
        if "heads" in args.steps:
            cmds.append(("heads", c.name, [py, str(SCRIPTS / "train_heads.py"), "--data", str(args.data),
                                           "--encoder", str(d / "encoder"), "--out", str(d / "heads"),
                                           "--cache", str(args.cache), "--threads", str(args.threads),
                                           *heads_extra]))
    if "bench" in args.steps:
        bench = [py, str(BENCH), "--data", str(args.data), "--out", str(out / "bench")]
        for c in cands:
            bench += ["--candidate", f"{c.name}={out / c.name}"]
        if args.val_limit:
            bench += ["--val-limit", str(args.val_limit)]
        if args.smoke:
            bench += list(SMOKE_BENCH_ARGS)
        bench += shlex.split(args.bench_args)
        cmds.append(("bench", "all", bench))
    return cmds


PARITY_ATOL = 2e-5  # as tests/unit/nlp/test_heads_parity.py


def check_heads_parity(heads_dir: Path) -> dict[str, float]:
    """Max |difference| per head between the ONNX heads and the probabilities the training-time models
    gave for the same inputs (the parity fixture ``train_heads.py`` writes next to them); the serving
    featurizer must reproduce training's lexical inputs exactly.  Raises :class:`BuildError` otherwise."""
    import numpy as np

    sys.path.insert(0, str(SCRIPTS.parent))
    from dengar_nlp.adapters.heads_onnx import OnnxHead
    from dengar_nlp.domain.hashed_features import sentiment_features
    from dengar_nlp.domain.text import prepare_text

    fixture = heads_dir / "heads_parity.npz"
    if not fixture.is_file():
        raise BuildError(f"no parity fixture {fixture}: was train_heads.py run with --no-fixture?")
    with np.load(fixture) as z:
        fx = {k: z[k] for k in z.files}
    diffs: dict[str, float] = {}
    for name in ("sentiment", "emotion", "aspects"):
        head = OnnxHead(heads_dir / f"{name}.onnx")
        if head.lexical_buckets:
            prepared = [prepare_text(str(t)) for t in fx["sentences"]] * 2
            ids, vals = sentiment_features(prepared, head.lexical_buckets)
            same = np.array_equal(ids, fx["sentiment_ids"]) and np.array_equal(vals, fx["sentiment_values"])
            if not same:
                raise BuildError(f"{heads_dir}: the serving featurizer differs from training's")
            got = head(fx["embedding"], prepared)
        else:
            got = head(fx["embedding"])
        diffs[name] = float(np.abs(got - fx[f"{name}_probs"]).max())
    bad = {k: v for k, v in diffs.items() if not v <= PARITY_ATOL}
    if bad:
        raise BuildError(f"{heads_dir}: ONNX heads differ from the training-time models: {bad}")
    return diffs


def run(step: str, what: str, cmd: list[str], out: Path, name: str) -> float:
    t0 = time.perf_counter()
    if step == "langid":
        copy_langid(BUNDLED, out / name)
        logger.info("[langid %s] copied %s", name, BUNDLED / "langid")
        return time.perf_counter() - t0
    logger.info("[%s %s] %s", step, what, shlex.join(cmd))
    proc = subprocess.run(cmd, check=False, cwd=REPO)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise BuildError(f"step {step} ({what}) failed with exit code {proc.returncode} after {seconds:.0f}s",
                         code=proc.returncode if proc.returncode > 0 else 1)
    if step == "heads":
        diffs = check_heads_parity(out / name / "heads")
        logger.info("[heads %s] parity with the training-time models: max |diff| %s", name,
                    ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))
    logger.info("[%s %s] done in %.0fs", step, what, seconds)
    return seconds


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="shared datasets folder (../shared/data)")
    p.add_argument("--teacher", help="the fine-tune's best.pt ([NAME=]PATH, default name 'teacher')")
    p.add_argument("--student", action="append", default=[],
                   help="a distillation run's best.pt ([NAME=]PATH); repeat for several students")
    p.add_argument("--out", type=Path, required=True, help="folder for the model sets and the bench")
    p.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS))
    p.add_argument("--cache", type=Path, default=REPO / ".cache" / "emb", help="the heads' embedding cache")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="the heads' smallest grid")
    p.add_argument("--train-limit", type=int, default=0, help="heads: at most N train rows per source")
    p.add_argument("--val-limit", type=int, default=0,
                   help="heads and bench: at most N rows per validation set")
    p.add_argument("--smoke", action="store_true",
                   help=f"check the chain in minutes: --quick, --train-limit {SMOKE_TRAIN_LIMIT}, "
                        f"--val-limit {SMOKE_VAL_LIMIT} and a short bench ({' '.join(SMOKE_BENCH_ARGS)})")
    p.add_argument("--export-args", default="",
                   help="extra export_finetuned.py arguments, one shell-quoted string, e.g. the levers "
                        "'--fusions --quantization static --calibration FILE'")
    p.add_argument("--bench-args", default="", help="extra bench_nlp.py arguments, one shell-quoted string")
    args = p.parse_args(argv)
    if args.smoke:
        args.quick = True
        args.train_limit = args.train_limit or SMOKE_TRAIN_LIMIT
        args.val_limit = args.val_limit or SMOKE_VAL_LIMIT
    return args


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s build_nlp2: %(message)s")
    args = parse_args(argv)
    args.data = args.data.resolve()
    args.out = args.out.resolve()
    try:
        cands = candidates(args.teacher, args.student)
        if not cands:
            raise BuildError("nothing to build: pass --teacher and/or --student", code=2)
        check_data(args.data)
        for c in cands:
            if "export" in args.steps and not c.checkpoint.is_file():
                raise BuildError(f"{c.name}: no checkpoint at {c.checkpoint}", code=2)
        args.out.mkdir(parents=True, exist_ok=True)
        timings = [(step, what, run(step, what, cmd, args.out, what))
                   for step, what, cmd in plan(args, cands)]
    except BuildError as exc:
        sys.stderr.write(f"build_nlp2: error: {exc}\n")
        return exc.code
    logger.info("built %s: %s", args.out, ", ".join(f"{s} {w} {t:.0f}s" for s, w, t in timings))
    if "bench" in args.steps:
        logger.info("side-by-side report: %s", args.out / "bench" / "nlp.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
