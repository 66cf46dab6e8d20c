"""Dictionary matching of configured brands and products (with aliases, hashtags and @handles).

Matching rules (what a tenant can rely on):

* **Case and diacritics do not matter**: text and aliases are folded the same way (NFKD, combining
  marks dropped, ``casefold``), so "Café" = "cafe" = "CAFÉ" and "Straße" = "strasse".
* **Separators inside a name are optional**: one ``-``, ``_``, ``.`` or dash may stand between any two
  characters of an alias, so the alias "Gojek" (or "GO-JEK") matches "gojek", "GO-JEK", "Go_Jek".
  A space in an alias matches any run of whitespace and is not optional ("Bank BCA" does not match
  "bankbca"; add the alias "BankBCA" for that, which then also matches "Bank-BCA").
* **Word boundaries**: an alias must not be glued to other letters or digits on either side, so
  "grab" does not match "grabbed" and "ovo" does not match "ovomaltine".  The one exception, by
  design: the Indonesian enclitics/particles ``-nya, -ku, -mu, -lah, -kah, -pun`` may follow (with or
  without a hyphen), because "gojeknya telat" and "pakai gopayku" are about the brand.  The returned
  span covers the alias only, not the suffix.  An apostrophe is a boundary, so "Gojek's" matches.
* **Hashtags / handles**: an alias written as ``#gojek`` or ``@gojekindonesia`` matches only with its
  sigil.  A plain alias also matches inside a hashtag of exactly that name ("#Gojek" -> "Gojek").
* Overlapping aliases: the longest alias at a position wins ("Gojek Indonesia" over "Gojek");
  matches never overlap.  If several entities share an alias, each of them is reported.

All aliases are compiled into one trie-shaped regular expression in the constructor; matching a text
is one C-level regex scan plus a per-character fold.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

logger = logging.getLogger(__name__)

KINDS = frozenset({"brand", "product"})
ID_SUFFIXES: tuple[str, ...] = ("nya", "ku", "mu", "lah", "kah", "pun")
_SEPARATORS = "-_.\u2010\u2011\u2012\u2013"
_SEP_CLASS = "[" + re.escape(_SEPARATORS) + "]"
_KEY_STRIP_RE = re.compile(_SEP_CLASS)
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class EntitySpec:
    """A configured entity.  ``name`` is matched too; aliases may be ``#hashtag`` or ``@handle``."""

    id: str
    kind: str
    name: str
    aliases: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class EntityMatch:
    """One match.  ``start``/``end`` are ``str`` indices into the original text (``text[start:end]
    == surface``)."""

    entity_id: str
    kind: str
    surface: str
    start: int
    end: int


def parse_entity_specs(raw: object, source: str) -> list[EntitySpec]:
    """Entity specs from decoded JSON, a list of ``{id, kind, name, aliases}``; ``source`` names it
    in errors."""
    if not isinstance(raw, list):
        raise ValueError(f"{source}: expected a JSON list of entities")
    specs = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not {"id", "kind", "name"} <= item.keys():
            raise ValueError(f"{source}: entity #{i} needs id, kind and name")
        aliases = item.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise ValueError(f"{source}: entity {item['id']!r}: aliases must be a list of strings")
        specs.append(EntitySpec(str(item["id"]), str(item["kind"]), str(item["name"]), tuple(aliases)))
    return specs


def _fold_char(ch: str) -> str:
    if ch.isascii():
        return ch.lower()
    decomposed = unicodedata.normalize("NFKD", ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """Folded text and, for each folded character, the index of the original character."""
    if text.isascii():
        return text.lower(), list(range(len(text)))
    out: list[str] = []
    offsets: list[int] = []
    cache: dict[str, str] = {}
    for i, ch in enumerate(text):
        folded = cache.get(ch)
        if folded is None:
            folded = _fold_char(ch)
            cache[ch] = folded
        out.append(folded)
        offsets.extend([i] * len(folded))
    return "".join(out), offsets


def alias_key(alias: str) -> str:
    """Canonical form of an alias: folded, separators dropped, spaces collapsed."""
    folded, _ = fold_with_offsets(alias.strip())
    words = [_KEY_STRIP_RE.sub("", w) for w in folded.split()]
    return " ".join(w for w in words if w)


_Trie: TypeAlias = "dict[str, _Trie]"


def _trie_regex(keys: Iterable[str]) -> str:
    """Regex for a set of keys, factored as a trie so that the engine never scans the alias list."""
    trie: _Trie = {}
    for key in keys:
        node = trie
        for ch in key:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: _Trie, first: bool) -> str:
        branches = []
        terminal = "" in node
        for ch in sorted(k for k in node if k):
            if ch == " ":
                piece = r"\s+"
            else:
                # An optional separator may precede every character but the first of an alias.
                sep = "" if first or ch in "#@" else f"{_SEP_CLASS}?"
                piece = sep + re.escape(ch)
            branches.append(piece + emit(node[ch], first=ch in "#@" and first))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # Greedy optional: the longest alias wins, backtracking to a shorter one if a boundary fails.
        return f"(?:{body})?" if terminal else body

    return emit(trie, first=True)


class EntityMatcher:
    """Compiled matcher for a fixed set of entities; thread-safe after construction."""

    def __init__(self, entities: Iterable[EntitySpec], *, id_suffixes: Sequence[str] = ID_SUFFIXES) -> None:
        self._by_key: dict[str, list[tuple[str, str]]] = {}
        count = 0
        for spec in entities:
            if not spec.id:
                raise ValueError("entity id must not be empty")
            if spec.kind not in KINDS:
                raise ValueError(
                    f"entity {spec.id!r}: kind must be one of {sorted(KINDS)}, not {spec.kind!r}"
                )
            count += 1
            for alias in (spec.name, *spec.aliases):
                key = alias_key(alias)
                if not key or key in {"#", "@"}:
                    logger.warning("entity %s: alias %r is empty after folding; ignored", spec.id, alias)
                    continue
                owners = self._by_key.setdefault(key, [])
                if (spec.id, spec.kind) not in owners:
                    owners.append((spec.id, spec.kind))
        self._regex: re.Pattern[str] | None = None
        if self._by_key:
            suffix = "|".join(re.escape(s) for s in sorted(id_suffixes, key=len, reverse=True))
            suffix_part = f"(?:-?(?:{suffix}))?" if suffix else ""
            self._regex = re.compile(
                r"(?<![^\W_])(?P<alias>" + _trie_regex(self._by_key) + ")" + suffix_part + r"(?![^\W_])"
            )
        logger.debug("entity matcher: %d entities, %d alias keys", count, len(self._by_key))

    @property
    def alias_count(self) -> int:
        return len(self._by_key)

    def find(self, text: str) -> list[EntityMatch]:
        """All entity matches in ``text``, ordered by position.  Non-str input raises ValueError."""
        if not isinstance(text, str):
            raise ValueError(f"text must be str, not {type(text).__name__}")
        if self._regex is None or not text:
            return []
        folded, offsets = fold_with_offsets(text)
        out: list[EntityMatch] = []
        for m in self._regex.finditer(folded):
            fs, fe = m.span("alias")
            owners = self._by_key.get(_match_key(m.group("alias")))
            if not owners:
                continue
            start, end = offsets[fs], offsets[fe - 1] + 1
            surface = text[start:end]
            out.extend(EntityMatch(eid, kind, surface, start, end) for eid, kind in owners)
        return out

    def find_many(self, texts: Iterable[str]) -> list[list[EntityMatch]]:
        return [self.find(t) for t in texts]


def _match_key(matched: str) -> str:
    words = [_KEY_STRIP_RE.sub("", w) for w in _SPACE_RE.sub(" ", matched).split(" ")]
    return " ".join(w for w in words if w)
