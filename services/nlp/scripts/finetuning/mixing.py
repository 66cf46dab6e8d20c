"""Code-mixed English/Indonesian training text (issue 13): clause-level mixing and self-written templates.

Two sources, both deterministic for a seed:

* :func:`mix_nusax`: NusaX-senti is a parallel corpus, so its English and Indonesian rows with the same
  ``id`` say the same thing with the same label.  A mixed post takes some clauses from one side and the
  rest from the other (``A[:i] + B[j:]`` at proportional positions, or clause by clause when both have
  as many clauses), so the label carries over.  Pairs with a single clause each are cut at a
  proportional word boundary instead.  Only rows passed in are used (the train split): the mixed
  texts exist only in memory during training and are never written into the repository.
* :func:`template_posts`: self-written slot-filling templates with code-mixed clauses, slang, sarcasm
  markers, comparisons, questions and emoji.  The brands are invented, and none of them (nor any
  sentence) is one of the regression fixture's (``tests/fixtures/codemixed.jsonl``), which stays a
  held-out test.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

_CLAUSE_SPLIT = re.compile(r"(?<=[,.;!?])\s+")


@dataclass(frozen=True)
class MixedPost:
    text: str
    label: str
    source: str  # "nusax-mix" | "template"


def clauses(text: str) -> list[str]:
    """Clauses of a text: split after , . ; ! ? followed by whitespace (punctuation stays attached)."""
    return [c for c in (p.strip() for p in _CLAUSE_SPLIT.split(text.strip())) if c]


def mix_pair(a: str, b: str, rng: random.Random) -> str | None:
    """One code-mixed text from a parallel pair (``a`` first), or None when it cannot have both sides."""
    ca, cb = clauses(a), clauses(b)
    if len(ca) >= 2 and len(ca) == len(cb):
        # Clause by clause: each position from either side, never all from one.
        picks = [rng.random() < 0.5 for _ in ca]
        if all(picks) or not any(picks):
            picks[rng.randrange(len(picks))] ^= True
        return " ".join(x if p else y for x, y, p in zip(ca, cb, picks, strict=True))
    if len(ca) >= 2 or len(cb) >= 2:
        if len(ca) < 2:
            return None  # a's only clause would be the whole text: mix the other way round instead
        i = rng.randrange(1, len(ca))
        j = min(max(round(i * len(cb) / len(ca)), 0), len(cb) - 1)
        return " ".join([*ca[:i], *cb[j:]])
    wa, wb = a.split(), b.split()
    if len(wa) < 6 or len(wb) < 6:
        return None
    i = rng.randrange(2, len(wa) - 2)
    j = min(max(round(i * len(wb) / len(wa)), 1), len(wb) - 1)
    return " ".join([*wa[:i], *wb[j:]])


def mix_nusax(
    english: Sequence[tuple[str, str, str]],
    indonesian: Sequence[tuple[str, str, str]],
    *,
    per_pair: int,
    seed: int,
) -> list[MixedPost]:
    """Code-mixed posts from NusaX English/Indonesian rows ``(id, text, label)`` that share an id.

    ``per_pair`` mixes are tried per pair, alternating which language leads; duplicates are dropped.
    Pairs whose labels disagree (none in NusaX, but a caller may pass filtered rows) are skipped.
    """
    rng = random.Random(seed)
    ind = {rid: (text, label) for rid, text, label in indonesian}
    out: list[MixedPost] = []
    seen: set[str] = set()
    for rid, en_text, label in sorted(english, key=lambda r: r[0]):
        if rid not in ind or ind[rid][1] != label:
            continue
        id_text = ind[rid][0]
        for k in range(per_pair):
            a, b = (en_text, id_text) if k % 2 == 0 else (id_text, en_text)
            text = mix_pair(a, b, rng) or mix_pair(b, a, rng)
            if text and text not in seen and text not in (en_text, id_text):
                seen.add(text)
                out.append(MixedPost(text, label, "nusax-mix"))
    return out


# --- templates (self-written) ----------------------------------------------------------------------

BRANDS = ("PasarKu", "Kuririn", "TiketGo", "DompetKu", "MakanYuk", "Rumah Kopi", "Sinar Cell", "KotaMart")
POS_EN = (
    "the delivery came super early", "customer support sorted it out in minutes",
    "the quality is way better than I expected", "the staff were really kind",
    "the app works smoothly now", "totally worth the price", "my refund landed the same day",
    "the driver was so polite",
)
POS_ID = (
    "pengirimannya cepet banget", "CS-nya ramah dan sigap", "kualitasnya bagus parah",
    "harganya terjangkau", "aplikasinya lancar jaya", "pelayanannya memuaskan", "rasanya enak pol",
    "kurirnya sopan banget",
)
NEG_EN = (
    "my order is still not here", "support keeps ignoring my messages", "the item arrived broken",
    "the app crashes every time", "they charged me twice", "the food was cold",
    "the driver cancelled on me again", "the room was filthy",
)
NEG_ID = (
    "paketnya telat seminggu", "CS-nya ga bales-bales", "barangnya rusak pas nyampe",
    "aplikasinya error terus", "saldonya kepotong dua kali", "makanannya udah dingin",
    "drivernya cancel mulu", "kamarnya kotor banget",
)
POS_TAIL = ("mantap", "recommended banget", "puas pol", "love it", "thank you!", "bakal order lagi")
NEG_TAIL = ("kapok", "never again", "nyesel banget", "so disappointed", "parah sih", "ga lagi-lagi deh")
POS_EMOJI = ("😍", "🥰", "👍", "💯", "🙏", "🔥", "")
NEG_EMOJI = ("😡", "😤", "😭", "🤬", "👎", "")
SARCASM_OPEN = ("wow hebat banget", "great job", "makasih loh", "keren sih", "oh nice", "mantap sekali")
SARCASM_EMOJI = ("🙃", "🙂", "👏👏", "😒", "")
USES = ("kirim dokumen", "makan siang kantor", "mudik", "belanja bulanan", "commute tiap hari",
        "weekend trip")
CMP_ID = ("lebih murah", "lebih cepet", "lebih aman", "lebih worth it", "lebih reliable")
Q_EN = ("support same day delivery", "ship to Kalimantan", "accept e-wallet", "have a student discount",
        "open on public holidays")
Q_ID = ("bisa COD", "ada promo akhir bulan", "buka 24 jam", "bisa refund", "terima transfer bank")
OPENERS = ("", "guys,", "jujur,", "honestly", "btw", "fyi", "duh,", "wkwk")


def _fill(rng: random.Random, kind: str) -> tuple[str, str]:
    r = rng.choice
    brand = r(BRANDS)
    if kind == "pos":
        pattern = rng.randrange(4)
        if pattern == 0:
            text = f"{r(OPENERS)} {brand} {r(POS_EN)}, {r(POS_ID)}. {r(POS_TAIL)} {r(POS_EMOJI)}"
        elif pattern == 1:
            text = f"{r(POS_ID)}, and {r(POS_EN)} {r(POS_EMOJI)}"
        elif pattern == 2:
            text = f"awalnya ragu sama {brand}, but {r(POS_EN)}. {r(POS_TAIL)}"
        else:
            text = f"{r(OPENERS)} {r(POS_EN)} di {brand}, {r(POS_TAIL)} {r(POS_EMOJI)}"
        return text, "positive"
    if kind == "neg":
        pattern = rng.randrange(4)
        if pattern == 0:
            text = f"{r(OPENERS)} {brand} {r(NEG_EN)}, {r(NEG_ID)}. {r(NEG_TAIL)} {r(NEG_EMOJI)}"
        elif pattern == 1:
            text = f"{r(NEG_ID)}, and {r(NEG_EN)} {r(NEG_EMOJI)}"
        elif pattern == 2:
            text = f"{r(POS_ID)} sih, but {r(NEG_EN)}. {r(NEG_TAIL)}"
        else:
            text = f"{r(OPENERS)} {r(NEG_EN)}, {brand} {r(NEG_TAIL)} {r(NEG_EMOJI)}"
        return text, "negative"
    if kind == "sarcasm":
        neg = r(NEG_ID) if rng.random() < 0.5 else r(NEG_EN)
        return f"{r(SARCASM_OPEN)} {brand}, {neg}. so helpful {r(SARCASM_EMOJI)}", "negative"
    other = r([b for b in BRANDS if b != brand])
    pattern = rng.randrange(4)
    if pattern == 0:
        text = f"{r(OPENERS)} {brand} vs {other}, which one {r(CMP_ID)} buat {r(USES)}?"
    elif pattern == 1:
        text = f"ada yang tau {brand} {r(Q_EN)} or not?"
    elif pattern == 2:
        text = f"does anyone know kalau {brand} {r(Q_ID)}?"
    else:
        text = f"{r(OPENERS)} mau {r(USES)} pake {brand} atau {other} ya, any suggestion?"
    return text, "neutral"


def template_posts(n: int, *, seed: int) -> list[MixedPost]:
    """``n`` distinct template posts (fewer if the templates run out), balanced over the three labels;
    a fifth of the negatives are sarcastic."""
    rng = random.Random(seed)
    kinds = ("pos", "neg", "neu", "pos", "neg", "neu", "pos", "sarcasm", "neu", "neg")
    out: list[MixedPost] = []
    seen: set[str] = set()
    tries = 0
    while len(out) < n and tries < n * 20:
        text, label = _fill(rng, kinds[tries % len(kinds)])
        tries += 1
        text = " ".join(text.split())
        if text not in seen:
            seen.add(text)
            out.append(MixedPost(text, label, "template"))
    return out
