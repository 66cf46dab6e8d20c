"""Language identification for short, informal social-media posts.

The statistical part is a hashed character 1-4-gram + word-unigram linear model (multinomial logistic
regression).  Feature hashing lives here, in plain numpy, so that training
(``services/nlp/scripts/train_langid.py``) and serving use byte-identical features; the linear layer
itself is an ONNX file run by an adapter (``dengar_nlp.adapters.langid_onnx``), injected here as a
``Scorer`` so that this module stays free of I/O.

Around the model sit three deterministic rules, because a model trained only on NusaX/SmSA/TweetEval
cannot know about them:

* **und** - a text with fewer than ``MIN_LETTERS`` letters once URLs, @mentions, hashtags' ``#``,
  digits, punctuation and emoji are stripped (empty, emoji-only, "wkwk"-free "ok", "👍👍") gets
  ``language="und"`` and ``confidence=0.0``.  Nothing useful can be said about such text.
* **other script** - if most letters are not Latin (CJK, Arabic, Cyrillic, Thai, ...) the text is
  ``other``; none of the first-class languages is normally written in those scripts.
* **ms** - there is no Malay training data, so Malay is decided by a small hand-written list of words
  that separate Malaysian Malay from Indonesian (``kerana``/``karena``, ``mahu``/``mau``,
  ``kereta``/``mobil``, ``tak``/``gak`` ...), applied only when the model already says ``id`` (or a
  close Malayic relative).  This is a prior, not a measurement; see the training report.

Languages: ``en, id, jv, su, ms`` are first class.  The eight other NusaX languages (Minangkabau,
Balinese, Acehnese, Banjarese, Buginese, Madurese, Ngaju, Toba Batak) and anything else are reported
as ``other``; the model's fine label (ISO 639-3 code) is kept in ``LanguageResult.detail``.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from dengar_nlp.domain.hashed_features import (
    bag_of_buckets,
    char_ngram_hashes,
    pad_bags,
    word_ngram_hashes,
)

logger = logging.getLogger(__name__)

FIRST_CLASS: tuple[str, ...] = ("en", "id", "jv", "su", "ms")
OTHER = "other"
UND = "und"
# Below this many letters (after stripping URLs, mentions, digits, emoji) the text is "und".
MIN_LETTERS = 3
# Long texts are cut here: the language is settled long before, and latency stays bounded.
MAX_CHARS = 2000
CHAR_NGRAM_ORDERS: tuple[int, ...] = (1, 2, 3, 4)

# Multiplied into the model's probabilities: the model was trained with balanced classes, but real
# traffic for Dengar is mostly Indonesian and English, so a short ambiguous text ("nyaman", "asik")
# should not land on Balinese or Banjarese just because the classes were balanced.  Labels not listed
# keep 1.0.  Measured effect on the 8-word validation texts: SmSA 97.2% -> 98.1%, NusaX regional
# ("other") 97.9% -> 95.6%.
DEFAULT_PRIOR: dict[str, float] = {
    **dict.fromkeys(("min", "ban", "ace", "bjn", "bug", "mad", "nij", "bbc"), 0.3),
    "xx": 0.5,
}

# A Scorer maps padded feature ids/values ([N, L] int64 / float32) to class probabilities [N, C].
Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]

_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION_RE = re.compile(r"(?<!\w)@\w+")
_EMAIL_RE = re.compile(r"\S+@\S+\.\S+")
_RT_RE = re.compile(r"^\s*rt\b", re.IGNORECASE)
_SURROGATE_RE = re.compile("[\ud800-\udfff\ufffd]")
_REPEAT_RE = re.compile(r"(.)\1{2,}")
_SPACE_RE = re.compile(r"\s+")
# Everything but letters (and the marks of the Indic/Thai blocks, which ``\w`` leaves out) is a gap.
_NONLETTER_RE = re.compile(r"[^\w'\u0300-\u036f\u0900-\u0dff\u0e00-\u0eff]+|[\d_]+")
# A letter outside the Latin blocks (input is cleaned: lower-case letters and single spaces).
_NONLATIN_RE = re.compile(r"[^ a-z\u00c0-\u02af\u1e00-\u1eff]")



@dataclass(frozen=True, slots=True)
class LanguageResult:
    """Outcome for one text.

    ``language`` is one of ``en, id, jv, su, ms, other, und``.  ``confidence`` is in [0, 1]; for
    ``und`` it is 0.0.  ``detail`` carries the finer reason: the model's own label (``min``, ``ban``,
    ...), ``script`` for the non-Latin-script rule, ``ms-lexicon`` when the Malay rule fired, or
    ``too-short`` for ``und``.
    """

    language: str
    confidence: float
    detail: str = ""


def clean_for_langid(text: str) -> str:
    """Normalise a post to the letters that carry language signal.

    Lower-cased NFKC (so that "𝐛𝐚𝐠𝐮𝐬" and full-width letters read as plain letters), without URLs,
    @mentions, e-mail addresses, a leading "RT", digits, punctuation and emoji; elongations like
    "bangettt" are shortened to two repeats so that they hash like the usual spelling's neighbours.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be str, not {type(text).__name__}")
    text = text[: MAX_CHARS * 2]
    # Lone surrogates (from surrogateescape) and U+FFFD are noise, not letters.
    text = _SURROGATE_RE.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    text = _URL_RE.sub(" ", text)
    text = _EMAIL_RE.sub(" ", text)
    text = _MENTION_RE.sub(" ", text)
    text = _RT_RE.sub(" ", text)
    text = text.lower()
    text = _NONLETTER_RE.sub(" ", text).replace("'", "")
    text = _REPEAT_RE.sub(r"\1\1", text)
    return _SPACE_RE.sub(" ", text).strip()[:MAX_CHARS]


def _char_ngram_hashes(text: str) -> np.ndarray:
    return char_ngram_hashes(text, CHAR_NGRAM_ORDERS)


def _word_hashes(text: str) -> np.ndarray:
    return word_ngram_hashes(text.split(), (1,))


def featurize(cleaned: Sequence[str], n_buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashed sparse features for already-cleaned texts, padded to a rectangle.

    Returns ``(ids, values)`` of shape [N, L]: ids in ``[0, n_buckets]`` where ``n_buckets`` is the
    padding id (a zero row in the model), values L2-normalised per text.  Word features go to the
    same buckets space as char n-grams; collisions are rare enough at 2**17 buckets.  The hashing
    itself is shared with the lexical sentiment model (``dengar_nlp.domain.hashed_features``).
    """
    if n_buckets <= 0:
        raise ValueError("n_buckets must be positive")
    empty = np.zeros(0, dtype=np.uint64)
    bags = [
        bag_of_buckets(np.concatenate([_char_ngram_hashes(t), _word_hashes(t)]) if t else empty, n_buckets)
        for t in cleaned
    ]
    return pad_bags(bags, n_buckets)


# --- rules -------------------------------------------------------------------------------------

# Words that mark Malaysian Malay against Indonesian (weight 2 = nearly unambiguous, 1 = a hint).
# Hand-written; Indonesian slang words are in the second list so that "gak"/"banget" outvote a stray
# "tak" or "je".
_MS_MARKERS: dict[str, float] = {
    **dict.fromkeys(
        "kerana sahaja mahu awak korang wang jom faham fikiran tengok seronok bilik kerajaan syarikat "
        "maklumat mesyuarat kenderaan universiti kualiti aktiviti projek teksi polis tandas ringgit "
        "encik makcik pakcik camne xde takde tak_nak beritahu boleh_tak apasal tapau lepak mcm mmg "
        "kat_mana khamis jumaat isnin ahad selepas dorang diorang korg kitorang sume ape tau_tak "
        "takpe takkan pastu pulak macam_mana duit_raya".split(),
        2.0,
    ),
    **dict.fromkeys(
        "je nak dah kat budak bandar cuti telefon kereta percuma penat pejabat buat_apa petang esok "
        "sekiranya puan fikir lawa saje hospital bas kad kelmarin".split(),
        1.0,
    ),
    # Common in Indonesian too (reviews say "kedai", "ramai", "macam-macam"): only a nudge.
    **dict.fromkeys(
        "tak macam sedap kedai semalam betul sebab kawan nampak lepas hendak jabatan cakap".split(), 0.5
    ),
}
_ID_MARKERS: dict[str, float] = {
    **dict.fromkeys(
        "gak nggak enggak ngga ga gk ngk banget bgt aja udah udh gimana gmn kok dong sih deh kayak kyk "
        "bikin emang kalo klo gue gw lu loe uang mobil kantor toko besok kemarin sore paham pikir "
        "kursi kamar perusahaan rapat polisi gratis libur nonton bilang karena krn bisa bener beneran "
        "gaes lho sampe cuma doang mending nih tuh pengen pingin ntar entar "
        "kasih dapet cewek cowok kayaknya".split(),
        2.0,
    ),
    **dict.fromkeys("mau tdk".split(), 1.0),
    # Standard Malay uses these as well.
    **dict.fromkeys("tidak saja kamu".split(), 0.5),
}
# The Malay lexicon is consulted only when the model says Indonesian (which is where Malay posts
# land).  Widening this to Minangkabau/Banjarese turned Minangkabau into Malay: "awak" means "I" there.
_MALAYIC = frozenset({"id", "ms"})

# Jakarta-style slang that the training data (SmSA reviews, NusaX translations) barely contains, so the
# model reads "anjir macet parah" as Javanese.  Only words that NusaX's Javanese/Sundanese/regional
# training sentences (almost) never use are listed: particles like "sih", "kok", "banget" are shared
# across the region and are deliberately absent.  Each distinct hit multiplies P(id) by
# ``ID_SLANG_FACTOR`` (at most two hits count) before the decision.
_ID_SLANG = frozenset(
    "gue gw gua lu lo loe elo nggak enggak ngga udah udh gimana gmn anjir anjay ngakak mantul "
    "kalo klo gaes bokap nyokap gabut mager baper otw santuy bucin kepo lebay gokil ngab "
    "bgt bete".split()
)
ID_SLANG_FACTOR = 4.0


def indonesian_slang_hits(cleaned: str) -> int:
    """Number of distinct Jakarta-slang markers in a cleaned text ("wkwk..." laughter counts once)."""
    words = set(cleaned.split())
    hits = len(words & _ID_SLANG)
    if any(w.startswith("wkwk") for w in words):
        hits += 1
    return hits


def malay_lexicon_score(cleaned: str) -> float:
    """Weighted Malay-minus-Indonesian marker score of a cleaned text (positive leans Malay)."""
    words = cleaned.split()
    tokens = set(words)
    tokens.update(f"{a}_{b}" for a, b in pairwise(words))
    ms = sum(w for t, w in _MS_MARKERS.items() if t in tokens)
    idn = sum(w for t, w in _ID_MARKERS.items() if t in tokens)
    return ms - idn


class LanguageIdentifier:
    """Hashed-n-gram language identifier with the und / script / Malay rules described above.

    ``scorer`` runs the linear model (see ``dengar_nlp.adapters.langid_onnx``); ``labels`` are its
    output classes in order and ``n_buckets`` the hashing space it was trained with.
    """

    def __init__(
        self,
        scorer: Scorer,
        labels: Sequence[str],
        n_buckets: int,
        *,
        ms_threshold: float = 2.0,
        batch_size: int = 256,
        class_prior: Mapping[str, float] | None = None,
    ) -> None:
        if not labels:
            raise ValueError("labels must not be empty")
        self._scorer = scorer
        self._labels = tuple(labels)
        self._n_buckets = int(n_buckets)
        self._ms_threshold = ms_threshold
        self._batch_size = max(1, batch_size)
        self._id_index = self._labels.index("id") if "id" in self._labels else None
        prior = DEFAULT_PRIOR if class_prior is None else class_prior
        self._prior = np.array([float(prior.get(lab, 1.0)) for lab in self._labels], dtype=np.float64)
        if np.any(self._prior <= 0):
            raise ValueError("class_prior values must be positive")

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels

    def identify(self, text: str) -> LanguageResult:
        """Language of one text; never raises for str input (non-str input raises ValueError)."""
        return self.identify_many([text])[0]

    def identify_many(self, texts: Sequence[str]) -> list[LanguageResult]:
        """Language of each text, in order (batched through the model)."""
        cleaned = [clean_for_langid(t) for t in texts]
        results: list[LanguageResult | None] = [None] * len(cleaned)
        to_score: list[int] = []
        for i, c in enumerate(cleaned):
            n_letters = len(c) - c.count(" ")
            if n_letters < MIN_LETTERS:
                results[i] = LanguageResult(UND, 0.0, "too-short")
                continue
            nonlatin = len(_NONLATIN_RE.findall(c))
            if nonlatin / n_letters > 0.5:
                results[i] = LanguageResult(OTHER, round(nonlatin / n_letters, 4), "script")
                continue
            to_score.append(i)
        for start in range(0, len(to_score), self._batch_size):
            idx = to_score[start : start + self._batch_size]
            ids, vals = featurize([cleaned[i] for i in idx], self._n_buckets)
            probs = np.asarray(self._scorer(ids, vals), dtype=np.float64)
            if probs.shape != (len(idx), len(self._labels)):
                raise RuntimeError(
                    f"scorer returned shape {probs.shape}, expected {(len(idx), len(self._labels))}"
                )
            probs = probs * self._prior
            probs /= np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)
            for row, i in enumerate(idx):
                results[i] = self._decide(cleaned[i], probs[row])
        return [r if r is not None else LanguageResult(UND, 0.0, "too-short") for r in results]

    def _decide(self, cleaned: str, probs: np.ndarray) -> LanguageResult:
        hits = min(2, indonesian_slang_hits(cleaned))
        if hits and self._id_index is not None:
            probs = probs.copy()
            probs[self._id_index] *= ID_SLANG_FACTOR**hits
            probs /= probs.sum()
        top = int(np.argmax(probs))
        fine = self._labels[top]
        if fine in _MALAYIC:
            score = malay_lexicon_score(cleaned)
            if score >= self._ms_threshold:
                malayic_mass = float(
                    sum(p for lab, p in zip(self._labels, probs, strict=True) if lab in _MALAYIC)
                )
                conf = min(0.95, malayic_mass * (0.6 + 0.1 * score))
                return LanguageResult("ms", round(conf, 4), "ms-lexicon")
        if fine in FIRST_CLASS:
            return LanguageResult(fine, round(float(probs[top]), 4), fine)
        # Every non-first-class label is folded into "other"; its confidence is their summed mass.
        other_mass = float(
            sum(p for lab, p in zip(self._labels, probs, strict=True) if lab not in FIRST_CLASS)
        )
        return LanguageResult(OTHER, round(other_mass, 4), fine)
