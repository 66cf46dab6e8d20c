"""Distil the fine-tuned teacher (``make finetune``'s ``best.pt``) into a shallower student (issue 13).

    .venv/bin/python services/nlp/scripts/distill.py --data ../shared/data \\
        --teacher ../nlp2-runs/teacher/best.pt --student-layers 6 --out ../nlp2-runs/student6

Needs the ``finetune`` extra (torch).  The student keeps ``--student-layers`` of the teacher's 12
layers, spread evenly (first and last included), and learns the teacher's embedding and head outputs
on the same train streams as the fine-tune plus the unlabelled airline tweets; see
``finetuning/distill.py`` for the loss.  Checkpoints, resume, logs and early stopping are those of
``finetune.py`` (same ``--out`` resumes).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from finetune import TOKENIZER, add_training_args, config_kwargs, limit_validation, setup
from finetuning.tasks import DEFAULT_WEIGHTS, load_train, load_validation

logger = logging.getLogger("distill")

# The fine-tune's streams, scaled to 85 %, and the unlabelled airline tweets.
DISTILL_WEIGHTS = {**{k: round(v * 0.85, 4) for k, v in DEFAULT_WEIGHTS.items()}, "airline": 0.15}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # No anchor by default: an anchored teacher's embedding already is e5's, and the student learns it;
    # with one, the frozen e5 runs as a third model on every batch.
    add_training_args(p, out_help="run folder of the student (outside the repository); reused to resume",
                      anchor=(0.0, 0.0))
    p.add_argument("--teacher", type=Path, required=True,
                   help="the fine-tune's best.pt, or an encoder folder that export_finetuned.py wrote "
                        "(e.g. a committed models/encoder): its int8 weights, dequantised, and its heads")
    p.add_argument("--student-layers", type=int, default=6, help="teacher layers the student keeps")
    p.add_argument("--temperature", type=float, default=2.0)
    p.add_argument("--alpha", type=float, default=0.3, help="share of the gold-label loss on labelled rows")
    p.add_argument("--emb-weight", type=float, default=1.0, help="weight of the embedding cosine loss")
    p.add_argument("--airline-limit", type=int, default=0, help="only the first N airline tweets (0 = all)")
    p.add_argument("--weights", type=json.loads, default=DISTILL_WEIGHTS,
                   help=f"sampling weight per stream, JSON (default {json.dumps(DISTILL_WEIGHTS)})")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if importlib.util.find_spec("torch") is None:
        sys.stderr.write("distill: torch is missing: install the extra (make finetune does it)\n")
        return 2
    if not (args.teacher.is_file() or (args.teacher / "encoder.json").is_file()):
        sys.stderr.write(f"distill: no teacher at {args.teacher}: run make finetune first\n")
        return 2
    tokenize = setup(args, "distill")
    from finetuning.distill import DistillConfig, Distiller, even_layers, load_unlabelled_airline
    from finetuning.model import load_e5_small, load_teacher, student_from

    t0 = time.perf_counter()
    teacher = load_teacher(args.teacher)
    layers = even_layers(teacher.encoder.config.layers, args.student_layers)
    student = student_from(teacher, layers)
    train = load_train(args.data, seed=args.seed)
    train["airline"] = load_unlabelled_airline(args.data, args.airline_limit)
    val = limit_validation(load_validation(args.data), args.val_limit)
    cfg = DistillConfig(**config_kwargs(args), weights=dict(args.weights), temperature=args.temperature,
                        alpha=args.alpha, emb_weight=args.emb_weight)
    meta = {"teacher": str(args.teacher), "teacher_layers_kept": layers, "max_length": args.max_length,
            "threads": args.threads, "train_rows": {k: len(v) for k, v in train.items()}}
    reference = load_e5_small(TOKENIZER).encoder if cfg.anchored else None
    distiller = Distiller(teacher, student, train, val, tokenize, cfg, args.out, extra_meta=meta,
                          reference=reference)
    logger.info("ready in %.0fs: student keeps teacher layers %s; %d steps per epoch, at most %d epochs",
                time.perf_counter() - t0, layers, distiller.steps_per_epoch, cfg.epochs)
    distiller.fit(max_steps=args.max_steps or None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
