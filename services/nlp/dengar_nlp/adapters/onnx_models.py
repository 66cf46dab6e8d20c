"""Loads the shipped models (``models/``: ``encoder/``, ``langid/``, ``heads/``) into an ``Analyzer``.

The factory the service (``bootstrap``), the CLI, the bench and the tests use.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import get_args

from dengar_nlp.adapters.encoder import OnnxEncoder
from dengar_nlp.adapters.heads_onnx import OnnxHead
from dengar_nlp.adapters.langid_onnx import load_language_identifier
from dengar_nlp.domain.entities import EntityMatcher, EntitySpec, parse_entity_specs
from dengar_nlp.service_layer.analyzer import Analyzer
from dengar_nlp.service_layer.ports import HEAD_NAMES
from dengar_nlp.settings import Parallelism

logger = logging.getLogger(__name__)

HEADS_DIR = "heads"
ENCODER_DIR = "encoder"
LANGID_DIR = "langid"

PARALLELISMS: tuple[str, ...] = get_args(Parallelism)


def load_entities(path: Path) -> list[EntitySpec]:
    """Entity specs from a JSON file: a list of ``{id, kind, name, aliases}``."""
    return parse_entity_specs(json.loads(Path(path).read_text(encoding="utf-8")), str(path))


def load_analyzer(
    models_dir: Path,
    *,
    threads: int = 2,
    entities_file: Path | None = None,
    encoder_batch_size: int = 1,
    spin_wait: bool = True,
    parallelism: Parallelism = "posts",
) -> Analyzer:
    """Load every model under ``models_dir`` (``encoder/``, ``langid/``, ``heads/``) once.

    ``threads`` is how many cores an analysis uses, and ``parallelism`` how: ``posts`` analyses
    ``threads`` chunks of a batch at once, each post's encoder call on one thread (faster on short
    posts, where one call is too small to split well: issue 13); ``operators`` analyses a batch at a
    time with ``threads`` intra-op threads in each encoder call (the behaviour before issue 13).  The
    results are the same either way; the small models always use one thread.
    ``encoder_batch_size`` > 1 pads posts into batches (faster encoder on an idle machine, more
    memory), but a post's scores then move (~1e-3) with the other posts in its batch; 1 keeps
    every post's result independent of its batch. ``spin_wait=False`` lets the encoder's idle
    threads sleep rather than spin: for a process that shares its cores (the NLP service).
    """
    models_dir = Path(models_dir)
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if parallelism not in PARALLELISMS:
        raise ValueError(f"parallelism must be one of {PARALLELISMS}, got {parallelism!r}")
    by_posts = parallelism == "posts"
    encoder = OnnxEncoder(models_dir / ENCODER_DIR, threads=1 if by_posts else threads,
                          spin_wait=spin_wait)
    langid = load_language_identifier(models_dir / LANGID_DIR, threads=1)
    heads = {name: OnnxHead(models_dir / HEADS_DIR / f"{name}.onnx", threads=1) for name in HEAD_NAMES}
    matcher = EntityMatcher(load_entities(entities_file)) if entities_file is not None else None
    version = models_version(models_dir, {name: head.sha256 for name, head in heads.items()})
    logger.info("analyzer %s loaded from %s (threads %d, parallel %s, %d entity aliases)", version,
                models_dir, threads, parallelism, matcher.alias_count if matcher else 0)
    return Analyzer(encoder=encoder, language_identifier=langid, heads=heads, entity_matcher=matcher,
                    model_version=version, encoder_batch_size=encoder_batch_size,
                    workers=threads if by_posts else 1)


def models_version(models_dir: Path, head_digests: dict[str, str] | None = None) -> str:
    """The model set's version: a digest of every model file. Also read before the models load,
    so that the service's telemetry resource can carry it (``dengar.nlp.model.version``)."""
    models_dir = Path(models_dir)
    digest = hashlib.sha256()
    for rel in ("encoder/model.onnx", "encoder/tokenizer.json", "langid/langid.onnx"):
        digest.update(_file_sha256(models_dir / rel).encode())
    for name in HEAD_NAMES:
        head = (head_digests or {}).get(name) or _file_sha256(models_dir / HEADS_DIR / f"{name}.onnx")
        digest.update(head.encode())
    return f"dengar-nlp-{digest.hexdigest()[:12]}"


def _file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
