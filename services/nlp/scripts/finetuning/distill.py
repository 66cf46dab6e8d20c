"""Distillation of the fine-tuned teacher into a shallower student (issue 13, step 2).

Needs the ``finetune`` extra (torch).  The student starts as a truncated copy of the teacher (some of
its encoder layers, all embeddings and heads, :func:`finetuning.model.student_from`) and is trained
with the same loop (:class:`finetuning.loop.Trainer`: plan, checkpoints, resume, early stopping on the
student's own validation score), on a loss that follows the teacher:

* the embedding: ``1 - cos(student, teacher)``, so that heads retrained on the student's embedding
  (and the search that uses it) see what the teacher's would, times ``emb_weight``; the same for the
  heads' features when the teacher has a task branch (``EncoderConfig.task_pool``);
* every head the batch's stream has (all three for the unlabelled airline tweets): KL divergence to
  the teacher's softened distribution (temperature ``T``, scaled by ``T**2``) for sentiment and
  emotion, binary cross-entropy to the teacher's probabilities for aspects;
* for labelled streams, ``alpha`` of the loss is the gold label's, as in fine-tuning;
* with a reference encoder (the frozen e5) and ``anchor_weight``, the anchor of fine-tuning
  (:class:`finetuning.loop.TrainConfig`), so the student's embedding stays in e5's space too.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from .loop import Tokenize, TrainConfig, Trainer
from .model import HEAD_SIZES, Encoder, MultiTaskModel
from .tasks import TaskData

UNLABELLED = "all"  # head name of a stream with no labels: every head learns the teacher's output


@dataclass
class DistillConfig(TrainConfig):
    temperature: float = 2.0
    alpha: float = 0.3
    emb_weight: float = 1.0


def even_layers(teacher_layers: int, student_layers: int) -> list[int]:
    """Teacher layers to keep, spread evenly and always including the first and the last."""
    if not 1 <= student_layers <= teacher_layers:
        raise ValueError(f"student layers must be 1..{teacher_layers}, got {student_layers}")
    if student_layers == 1:
        return [teacher_layers - 1]
    return [round(i * (teacher_layers - 1) / (student_layers - 1)) for i in range(student_layers)]


def load_unlabelled_airline(data: Path, limit: int = 0) -> TaskData:
    """The airline tweets' texts (no labels are read), as a stream for the ``all`` head."""
    with (data / "airline_tweets" / "tweets.csv").open(encoding="utf-8", newline="") as f:
        texts = [rec["text"] for rec in csv.DictReader(f) if rec["text"].strip()]
    if limit:
        texts = texts[:limit]
    return TaskData(UNLABELLED, texts, np.zeros(len(texts), dtype=np.int64))


class Distiller(Trainer):
    def __init__(
        self,
        teacher: MultiTaskModel,
        student: MultiTaskModel,
        train: dict[str, TaskData],
        val: dict[str, TaskData],
        tokenize: Tokenize,
        cfg: DistillConfig,
        out: Path,
        *,
        extra_meta: dict[str, Any] | None = None,
        reference: Encoder | None = None,
    ) -> None:
        if teacher.encoder.config.vocab != student.encoder.config.vocab:
            raise ValueError("teacher and student must share the vocabulary")
        if teacher.encoder.config.task_pool != student.encoder.config.task_pool:
            raise ValueError("teacher and student must both have a task branch or both not")
        super().__init__(student, train, val, tokenize, cfg, out, extra_meta=extra_meta,
                         reference=reference)
        self.dcfg = cfg
        self.teacher = teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)

    def _loss(self, stream: str, idx: Sequence[int]) -> torch.Tensor:
        td = self.streams[stream]
        ids, mask = self._inputs(stream, idx)
        with torch.no_grad():
            t_emb, t_feat = self.teacher.encoder.encode(ids, mask)
        s_emb, s_feat = self.model.encoder.encode(ids, mask)
        loss = self.dcfg.emb_weight * (1.0 - (s_emb * t_emb).sum(-1)).mean()
        if self.model.encoder.config.task_pool:
            loss = loss + self.dcfg.emb_weight * (1.0 - (s_feat * t_feat).sum(-1)).mean()
        loss = loss + self._anchor_loss(ids, mask, s_emb)
        heads = list(HEAD_SIZES) if td.head == UNLABELLED else [td.head]
        t = self.dcfg.temperature
        for head in heads:
            with torch.no_grad():
                t_logits = self.teacher.logits(t_feat, head)
            s_logits = self.model.logits(s_feat, head)
            if head == "aspects":
                kd = F.binary_cross_entropy_with_logits(s_logits, torch.sigmoid(t_logits))
            else:
                kd = F.kl_div(F.log_softmax(s_logits / t, -1), F.softmax(t_logits / t, -1),
                              reduction="batchmean") * t * t
            if td.head != UNLABELLED and self.dcfg.alpha > 0:
                kd = (1 - self.dcfg.alpha) * kd + self.dcfg.alpha * self._gold_loss(td, idx, s_logits)
            loss = loss + kd
        return loss
