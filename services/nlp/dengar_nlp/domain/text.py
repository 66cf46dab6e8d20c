"""The text the models see: one normalisation for training (``scripts/train_heads.py``) and serving."""

from __future__ import annotations

import html
import re

_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION_RE = re.compile(r"(?<![\w@])@\w+")
# Lone surrogates (from surrogateescape), U+FFFD and C0 controls carry nothing, and lone surrogates
# cannot even be encoded to UTF-8 for the tokenizer.
_NOISE_RE = re.compile("[\ud800-\udfff\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE_RE = re.compile(r"\s+")
# The encoder reads at most 128 tokens (~500-700 characters); more text only costs tokenizer time.
MAX_ENCODER_CHARS = 1000


def prepare_text(text: str) -> str:
    """The text the encoder sees, at training and at serving time alike.

    URLs -> ``http``, @mentions -> ``@user`` (TweetEval's convention; handles and link shorteners
    carry no sentiment and would only fragment into rare word pieces), HTML entities unescaped, lone
    surrogates / U+FFFD / control characters dropped, cut to ``MAX_ENCODER_CHARS``.
    """
    text = text[: MAX_ENCODER_CHARS * 4]
    text = _NOISE_RE.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = _URL_RE.sub("http", text)
    text = _MENTION_RE.sub("@user", text)
    return _SPACE_RE.sub(" ", text).strip()[:MAX_ENCODER_CHARS]
