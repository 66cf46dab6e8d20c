"""The training loop: multi-task batches, validation-based early stopping, checkpoints, resume, logs.

Needs the ``finetune`` extra (torch).  Files in ``out`` (a folder outside the repository):

* ``checkpoint.pt``: the latest state (model, optimiser, schedule, every RNG, position in the epoch,
  early-stopping state, history), rewritten atomically every ``checkpoint_every`` steps, at the end of
  each epoch and on SIGTERM/SIGINT.  A new run with the same ``out`` resumes from it; the result is
  bit-identical to a run that was never interrupted (same seed, same thread count).
* ``best.pt``: the model weights (and config, metrics) of the best validation epoch.
* ``metrics.jsonl``: one line per epoch: validation metrics, losses, time taken.
* ``done.json``: written when training stops (early stop or last epoch), with the best epoch.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import signal
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from .model import Encoder, MultiTaskModel
from .tasks import DEFAULT_WEIGHTS, HEAD_OF_STREAM, TaskData, epoch_plan, score_validation

logger = logging.getLogger(__name__)

Tokenize = Callable[[Sequence[str]], list[list[int]]]


@dataclass
class TrainConfig:
    seed: int = 13
    epochs: int = 8
    epoch_size: int = 16000  # examples per epoch, over all streams
    batch_size: int = 32
    lr: float = 5e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_frac: float = 0.06
    patience: int = 2  # epochs without a better validation score before stopping
    min_delta: float = 1e-4
    grad_clip: float = 1.0
    checkpoint_every: int = 50  # steps
    log_every: int = 20  # steps
    eval_batch_size: int = 64
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    # The word embedding stays as it was: the export keeps it in the source's 4-bit blocks (which would
    # round away small updates anyway), and it is half the parameters, so AdamW runs twice as fast.
    freeze_word_embedding: bool = True
    # Holds the embedding (mean pooling) to a frozen reference encoder's (the e5 it started from):
    # ``anchor_weight * (1 - cos(embedding, reference))`` plus ``anchor_pairs_weight`` times the mean
    # squared difference of the batch's pairwise cosines.  Search, categories, topics and near-duplicate
    # thresholds are measured on e5's space; a task fine-tune without it moved unrelated posts from
    # cosine ~0.85 to ~0.18 of a category centroid.  0: no anchor (and no reference needed).
    anchor_weight: float = 0.0
    anchor_pairs_weight: float = 0.0

    @property
    def anchored(self) -> bool:
        return self.anchor_weight > 0 or self.anchor_pairs_weight > 0

    # What must match for a checkpoint to be resumed (the rest, e.g. log_every, may change).
    def identity(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("checkpoint_every", "log_every", "eval_batch_size", "epochs", "patience"):
            d.pop(k)
        return d


class Stop(Exception):
    """Raised inside the loop when a stop was requested (signal or ``max_steps``)."""


@contextmanager
def _stop_on_signals(flag: dict[str, bool]) -> Iterator[None]:
    def handler(signum: int, _frame: object) -> None:
        logger.warning("signal %d: saving a checkpoint and stopping", signum)
        flag["stop"] = True

    try:
        old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread (e.g. under a test runner's worker): no handlers
        yield
        return
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def collate(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask


def _save_atomic(obj: object, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _rng_state() -> dict[str, Any]:
    return {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}


def _set_rng_state(s: Mapping[str, Any]) -> None:
    torch.set_rng_state(s["torch"])
    random.setstate(s["python"])
    np.random.set_state(s["numpy"])


def _fmt_s(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


class Trainer:
    def __init__(
        self,
        model: MultiTaskModel,
        train: Mapping[str, TaskData],
        val: Mapping[str, TaskData],
        tokenize: Tokenize,
        cfg: TrainConfig,
        out: Path,
        *,
        extra_meta: Mapping[str, Any] | None = None,
        reference: Encoder | None = None,
    ) -> None:
        if cfg.anchored and reference is None:
            raise ValueError("an anchored run needs the reference encoder")
        self.model = model
        self.reference = reference.eval() if reference is not None else None
        if self.reference is not None:
            for p in self.reference.parameters():
                p.requires_grad_(False)
        # Parts of the last batch's loss worth following on their own (logged next to the total).
        self.loss_parts: dict[str, float] = {}
        self.train = train
        self.val = val
        self.cfg = cfg
        self.out = out
        self.pad_id = model.encoder.config.pad_id
        self.meta = dict(extra_meta or {})
        self.streams = {k: v for k, v in train.items() if cfg.weights.get(k, 0) > 0 and len(v)}
        for name, td in self.streams.items():
            if td.head != HEAD_OF_STREAM.get(name, td.head):
                raise ValueError(f"stream {name} has head {td.head}")
        t0 = time.perf_counter()
        self.tokens = {k: tokenize(v.texts) for k, v in self.streams.items()}
        self.val_tokens = {k: tokenize(v.texts) for k, v in val.items()}
        logger.info("tokenised %d train and %d validation texts in %.0fs",
                    sum(map(len, self.tokens.values())), sum(map(len, self.val_tokens.values())),
                    time.perf_counter() - t0)
        self.steps_per_epoch = len(self._plan(0))
        self.total_steps = self.steps_per_epoch * cfg.epochs
        model.encoder.word.weight.requires_grad_(not cfg.freeze_word_embedding)
        enc_params = [p for p in model.encoder.parameters() if p.requires_grad]
        head_params = list(model.heads.parameters())
        self.opt = torch.optim.AdamW(
            [{"params": enc_params, "lr": cfg.lr}, {"params": head_params, "lr": cfg.head_lr}],
            weight_decay=cfg.weight_decay,
        )
        warm = max(1, round(cfg.warmup_frac * self.total_steps))
        total = self.total_steps

        def schedule(step: int) -> float:
            if step < warm:
                return (step + 1) / warm
            return max(0.0, (total - step) / max(1, total - warm))

        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, schedule)
        asp = train.get("aspects")
        if asp is not None and asp.mask is not None and len(asp):
            pos = (asp.labels * asp.mask).sum(0)
            neg = ((1 - asp.labels) * asp.mask).sum(0)
            # Rare aspects would otherwise learn "never"; sqrt keeps the boost modest.
            self.aspect_pos_weight = torch.tensor(np.clip(np.sqrt(neg / np.maximum(pos, 1)), 1, 10),
                                                  dtype=torch.float32)
        else:
            self.aspect_pos_weight = None
        self.state: dict[str, Any] = {"epoch": 0, "step": 0, "global_step": 0, "best_score": -math.inf,
                                      "best_epoch": -1, "bad_epochs": 0, "history": [], "done": False}

    # --- plan, loss, evaluation ----------------------------------------------------------------

    def _plan(self, epoch: int) -> list[Any]:
        return epoch_plan(
            {k: len(v) for k, v in self.streams.items()}, self.cfg.weights, epoch=epoch,
            epoch_size=self.cfg.epoch_size, batch_size=self.cfg.batch_size, seed=self.cfg.seed,
            length_of=lambda s, i: len(self.tokens[s][i]),
        )

    def _inputs(self, stream: str, idx: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        return collate([self.tokens[stream][i] for i in idx], self.pad_id)

    def _loss(self, stream: str, idx: Sequence[int]) -> torch.Tensor:
        td = self.streams[stream]
        ids, mask = self._inputs(stream, idx)
        emb, features = self.model.encoder.encode(ids, mask)
        loss = self._gold_loss(td, idx, self.model.logits(features, td.head))
        return loss + self._anchor_loss(ids, mask, emb)

    def _anchor_loss(self, ids: torch.Tensor, mask: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        """The embedding's pull towards the reference's (:class:`TrainConfig`); 0 without one."""
        cfg = self.cfg
        if self.reference is None or not cfg.anchored:
            return emb.new_zeros(())
        with torch.no_grad():
            ref = self.reference(ids, mask)
        drift = (1.0 - (emb * ref).sum(-1)).mean()
        pairs = ((emb @ emb.T - ref @ ref.T) ** 2).mean()
        self.loss_parts = {"drift": drift.item(), "pairs": pairs.item()}
        return cfg.anchor_weight * drift + cfg.anchor_pairs_weight * pairs

    def _gold_loss(self, td: TaskData, idx: Sequence[int], logits: torch.Tensor) -> torch.Tensor:
        ix = np.asarray(idx)
        if td.head == "aspects":
            assert td.mask is not None
            y = torch.from_numpy(td.labels[ix])
            m = torch.from_numpy(td.mask[ix]).to(torch.float32)
            raw = F.binary_cross_entropy_with_logits(logits, y, reduction="none",
                                                     pos_weight=self.aspect_pos_weight)
            return (raw * m).sum() / m.sum().clamp_min(1.0)
        return F.cross_entropy(logits, torch.from_numpy(td.labels[ix]))

    @torch.no_grad()
    def predict(self, name: str) -> np.ndarray:
        td, toks = self.val[name], self.val_tokens[name]
        self.model.eval()
        order = sorted(range(len(toks)), key=lambda i: len(toks[i]))
        outs: dict[int, np.ndarray] = {}
        for b in range(0, len(order), self.cfg.eval_batch_size):
            idx = order[b : b + self.cfg.eval_batch_size]
            ids, mask = collate([toks[i] for i in idx], self.pad_id)
            logits = self.model(ids, mask, td.head)
            res = torch.sigmoid(logits) if td.head == "aspects" else logits.argmax(-1)
            for i, r in zip(idx, res.numpy(), strict=True):
                outs[i] = r
        return np.stack([outs[i] for i in range(len(toks))])

    def evaluate(self) -> dict[str, float]:
        metrics = score_validation({k: self.predict(k) for k in self.val}, self.val)
        if self.reference is not None:
            metrics.update(self.embedding_drift())
        return metrics

    @torch.no_grad()
    def embedding_drift(self, per_set: int = 256) -> dict[str, float]:
        """How far the embedding moved from the reference's, on the first ``per_set`` texts of each
        validation set: cosine to the reference's (mean, min) and the mean absolute change of the
        pairwise cosines within each evaluation batch (what similarity thresholds see)."""
        assert self.reference is not None
        self.model.eval()
        cos: list[np.ndarray] = []
        pair_err: list[float] = []
        for toks in self.val_tokens.values():
            order = sorted(range(min(per_set, len(toks))), key=lambda i: len(toks[i]))
            for b in range(0, len(order), self.cfg.eval_batch_size):
                ids, mask = collate([toks[i] for i in order[b : b + self.cfg.eval_batch_size]], self.pad_id)
                emb, ref = self.model.encoder(ids, mask), self.reference(ids, mask)
                cos.append((emb * ref).sum(-1).numpy())
                pair_err.append(float((emb @ emb.T - ref @ ref.T).abs().mean()))
        all_cos = np.concatenate(cos)
        return {"embedding_cos_mean": float(all_cos.mean()), "embedding_cos_min": float(all_cos.min()),
                "pair_cos_mae": float(np.mean(pair_err))}

    # --- checkpoints ---------------------------------------------------------------------------

    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoint.pt"

    def save_checkpoint(self) -> None:
        _save_atomic({
            "model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
            "scheduler": self.sched.state_dict(), "rng": _rng_state(), "state": self.state,
            "config": self.cfg.identity(), "encoder_config": self.model.encoder.config.to_json(),
        }, self.checkpoint_path)

    def try_resume(self) -> bool:
        if not self.checkpoint_path.exists():
            return False
        ck = torch.load(self.checkpoint_path, map_location="cpu", weights_only=False)
        if ck["config"] != self.cfg.identity():
            diff = {k: (ck["config"].get(k), v) for k, v in self.cfg.identity().items()
                    if ck["config"].get(k) != v}
            raise ValueError(f"{self.checkpoint_path} was made with other settings {diff}: "
                             "use another --out or the same settings")
        self.model.load_state_dict(ck["model"])
        self.opt.load_state_dict(ck["optimizer"])
        self.sched.load_state_dict(ck["scheduler"])
        _set_rng_state(ck["rng"])
        self.state = ck["state"]
        logger.info("resumed from %s: epoch %d, step %d/%d, best score %.4f (epoch %d)",
                    self.checkpoint_path, self.state["epoch"] + 1, self.state["step"],
                    self.steps_per_epoch, self.state["best_score"], self.state["best_epoch"] + 1)
        return True

    # --- the loop ------------------------------------------------------------------------------

    def fit(self, *, max_steps: int | None = None) -> dict[str, Any]:
        """Train until early stopping or ``cfg.epochs``; returns the state.  ``max_steps`` (optimiser
        steps in this call) simulates an interruption: a checkpoint is saved and it returns."""
        self.out.mkdir(parents=True, exist_ok=True)
        self.try_resume()
        if self.state["done"]:
            logger.info("training in %s already finished (best epoch %d)", self.out,
                        self.state["best_epoch"] + 1)
            return self.state
        flag = {"stop": False}
        steps_here = 0
        t_start = time.perf_counter()
        with _stop_on_signals(flag):
            try:
                while self.state["epoch"] < self.cfg.epochs and not self.state["done"]:
                    steps_here = self._run_epoch(flag, max_steps, steps_here, t_start)
            except Stop:
                self.save_checkpoint()
                logger.info("stopped at epoch %d step %d; checkpoint saved, run again to resume",
                            self.state["epoch"] + 1, self.state["step"])
                return self.state
        if not self.state["done"]:
            self.state["done"] = True
            self.save_checkpoint()
        (self.out / "done.json").write_text(json.dumps({
            "best_epoch": self.state["best_epoch"] + 1, "best_score": self.state["best_score"],
            "epochs_run": len(self.state["history"]),
        }, indent=2), encoding="utf-8")
        logger.info("done: best epoch %d, score %.4f", self.state["best_epoch"] + 1, self.state["best_score"])
        return self.state

    def _run_epoch(self, flag: dict[str, bool], max_steps: int | None, steps_here: int,
                   t_start: float) -> int:
        cfg, st = self.cfg, self.state
        epoch = st["epoch"]
        plan = self._plan(epoch)
        losses: dict[str, list[float]] = {}
        t_epoch = time.perf_counter()
        first = st["step"]
        self.model.train()
        for step in range(first, len(plan)):
            if flag["stop"] or (max_steps is not None and steps_here >= max_steps):
                raise Stop
            batch = plan[step]
            loss = self._loss(batch.stream, batch.indices)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            self.opt.step()
            self.sched.step()
            losses.setdefault(batch.stream, []).append(loss.item())
            for part, value in self.loss_parts.items():
                losses.setdefault(part, []).append(value)
            st["step"] = step + 1
            st["global_step"] += 1
            steps_here += 1
            done_here = step + 1 - first
            if done_here % cfg.log_every == 0 or step + 1 == len(plan):
                rate = done_here / (time.perf_counter() - t_epoch)
                left = len(plan) - step - 1
                left_all = left + (cfg.epochs - epoch - 1) * self.steps_per_epoch
                logger.info(
                    "epoch %d/%d step %d/%d | %.2f steps/s, %.1f ex/s | loss %s | ETA epoch %s, "
                    "all %d epochs at most %s",
                    epoch + 1, cfg.epochs, step + 1, len(plan), rate, rate * cfg.batch_size,
                    " ".join(f"{k}={np.mean(v[-cfg.log_every:]):.3f}" for k, v in sorted(losses.items())),
                    _fmt_s(left / rate), cfg.epochs, _fmt_s(left_all / rate),
                )
            if st["global_step"] % cfg.checkpoint_every == 0:
                self.save_checkpoint()
        t_val = time.perf_counter()
        metrics = self.evaluate()
        record = {
            "epoch": epoch + 1, "steps": len(plan), "train_seconds": round(t_val - t_epoch, 1),
            "val_seconds": round(time.perf_counter() - t_val, 1),
            "loss": {k: round(float(np.mean(v)), 4) for k, v in sorted(losses.items())},
            "val": {k: round(v, 4) for k, v in metrics.items()},
            "resumed_mid_epoch": first > 0,
        }
        logger.info("epoch %d validation: score %.4f | TweetEval recall %.4f, SmSA F1 %.4f, NusaX mean F1 "
                    "%.4f, emotion F1 %.4f, aspects F1 %.4f (%.0fs)", epoch + 1, metrics["score"],
                    metrics.get("tweeteval", float("nan")), metrics.get("smsa", float("nan")),
                    metrics.get("nusax_mean", float("nan")), metrics.get("emotion", float("nan")),
                    metrics.get("aspects", float("nan")), record["val_seconds"])
        if "embedding_cos_mean" in metrics:
            logger.info("epoch %d embedding against the reference: cosine mean %.4f min %.4f, pairwise "
                        "cosine MAE %.4f", epoch + 1, metrics["embedding_cos_mean"],
                        metrics["embedding_cos_min"], metrics["pair_cos_mae"])
        st["history"].append(record)
        with (self.out / "metrics.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if metrics["score"] > st["best_score"] + cfg.min_delta:
            st["best_score"], st["best_epoch"], st["bad_epochs"] = metrics["score"], epoch, 0
            _save_atomic({"model": self.model.state_dict(),
                          "encoder_config": self.model.encoder.config.to_json(),
                          "epoch": epoch + 1, "metrics": metrics, "meta": self.meta}, self.out / "best.pt")
            logger.info("new best (epoch %d), saved %s", epoch + 1, self.out / "best.pt")
        else:
            st["bad_epochs"] += 1
            if st["bad_epochs"] >= cfg.patience:
                logger.info("early stop: no improvement for %d epochs", st["bad_epochs"])
                st["done"] = True
        st["epoch"], st["step"] = epoch + 1, 0
        self.save_checkpoint()
        logger.info("epoch %d took %s; total in this run %s", epoch + 1,
                    _fmt_s(time.perf_counter() - t_epoch), _fmt_s(time.perf_counter() - t_start))
        return steps_here
