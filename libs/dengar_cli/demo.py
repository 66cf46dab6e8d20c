"""A realistic demo stream: a week of social posts about three competing Indonesian delivery apps.

Everything here is made up and self-written: the brands (Kirimin, GoCepat, AntarYuk), the people, the
news outlets (on ``.example`` domains) and every sentence. Posts are in Indonesian (with slang,
English code-mixing, a little Javanese and Sundanese) and English, spread over X, Bluesky, Mastodon,
Reddit, YouTube comments and news, with authors whose follower counts have a heavy tail, engagement
that follows reach, cities across Indonesia and the daily rhythm of a food-delivery market (lunch and
dinner peaks, quiet nights, busier weekends).

Four stories are planted in the background chatter so that the dashboards have something to find:

* ``product_buzz``: Kirimin launches the "Kirimin Plus" free-delivery subscription (positive wave);
* ``price_wave``: AntarYuk raises its service fee from Rp2.000 to Rp4.500 (days of complaints);
* ``copy_paste_campaign``: dozens of fresh accounts paste the same GoCepat promo code in one evening;
* ``delivery_outage``: Kirimin orders stop arriving in Jakarta one lunchtime (a burst of negatives).

The posts never say which story they belong to (no label in the text or metadata); the truth labels
come back separately from ``generate_demo`` for tests and evaluation. Output is deterministic for a
seed: texts, authors and external ids depend only on the seed, timestamps on the seed and ``now``,
so feeding the same seed twice re-sends the same posts (and the platform de-duplicates them).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["DemoStream", "Incident", "demo_brands", "demo_incidents", "generate_demo", "generate_demo_posts"]

# Western Indonesian Time: Jakarta, Bandung, Surabaya, Medan all live on it, and so does the rhythm.
WIB = timezone(timedelta(hours=7), "WIB")
WINDOW = timedelta(days=7)


# --------------------------------------------------------------------------------------------- brands

@dataclass(frozen=True)
class Brand:
    id: str
    name: str
    role: str
    aliases: tuple[str, ...]
    handle: str
    care: str
    # How people actually write the name, with relative weights.
    surfaces: tuple[tuple[str, float], ...]
    hashtag: str


BRANDS: tuple[Brand, ...] = (
    Brand("kirimin", "Kirimin", "brand",
          ("Kirimin", "KiriminFood", "Kirimin Food", "Kirimin Plus", "KiriminMart", "kirimin_id"),
          "kirimin_id", "kirimin_care",
          (("Kirimin", 6.0), ("kirimin", 3.0), ("KIRIMIN", 0.3), ("@kirimin_id", 1.0), ("Kirimin Food", 0.6)),
          "#Kirimin"),
    Brand("gocepat", "GoCepat", "competitor",
          ("GoCepat", "Go Cepat", "GoCepat Makan", "GoCepat Motor", "gocepat"),
          "gocepat", "gocepat_bantuan",
          (("GoCepat", 6.0), ("gocepat", 3.0), ("Go Cepat", 0.8), ("@gocepat", 1.0), ("GoCepat Makan", 0.7)),
          "#GoCepat"),
    Brand("antaryuk", "AntarYuk", "competitor",
          ("AntarYuk", "Antar Yuk", "AntarYuk Food", "AntarYuk Kilat", "antaryuk_id"),
          "antaryuk_id", "antaryuk_cs",
          (("AntarYuk", 6.0), ("antaryuk", 3.0), ("Antar Yuk", 0.8), ("@antaryuk_id", 1.0),
           ("AntarYuk Food", 0.6)),
          "#AntarYuk"),
)
_BRAND = {b.id: b for b in BRANDS}


def demo_brands() -> list[dict[str, Any]]:
    """The demo market's brands: ``id``, ``name``, ``aliases`` and ``role`` (brand or competitor)."""
    return [{"id": b.id, "name": b.name, "aliases": list(b.aliases), "role": b.role} for b in BRANDS]


def _query_operand(alias: str) -> str:
    words = alias.lower().split()
    return words[0] if len(words) == 1 else '"' + " ".join(words) + '"'


def demo_queries() -> list[dict[str, str]]:
    """Listening queries for the demo market, as ``POST /v1/queries`` bodies: one per brand (its role
    as in ``BRANDS``) and one topic query for delivery problems, in the Dengar query language."""
    queries = []
    for b in BRANDS:
        # The prefix catches the compounds people write (KiriminFood, #KiriminDown); phrases catch the
        # spaced spellings a word boundary would otherwise split.
        operands = [f"{b.id}*", f"@{b.handle}", f"@{b.care}"]
        operands += [_query_operand(a) for a in b.aliases if " " in a]
        queries.append({"name": b.name, "role": b.role, "expression": " OR ".join(dict.fromkeys(operands))})
    queries.append({"name": "Delivery problems", "role": "topic", "expression": (
        '(telat OR lama OR late OR delay* OR stuck OR "gak nyampe" OR "belum nyampe" OR "never arrived" '
        'OR "not arrived") '
        "AND (order* OR pesan* OR pesen* OR kirim* OR deliver* OR paket OR makanan OR food)")})
    return queries


# ------------------------------------------------------------------------------------------ incidents

@dataclass(frozen=True)
class Incident:
    name: str
    brand: str
    start: datetime
    end: datetime
    # Where it happens, when it is local.
    cities: tuple[str, ...]
    description: str


def demo_incidents(now: datetime | None = None) -> list[Incident]:
    """The planted stories, placed on local (WIB) days relative to ``now``."""
    now = _aware(now)
    today = now.astimezone(WIB).replace(hour=0, minute=0, second=0, microsecond=0)

    def at(days_ago: int, hour: int, minute: int = 0) -> datetime:
        return today - timedelta(days=days_ago) + timedelta(hours=hour, minutes=minute)

    # Every story ends before local midnight of yesterday, so none of it can lie in the future.
    return [
        Incident("product_buzz", "kirimin", at(6, 10), at(3, 22), (),
                 "Kirimin launches the Kirimin Plus free-delivery subscription"),
        Incident("price_wave", "antaryuk", at(5, 8), at(1, 21), (),
                 "AntarYuk raises its service fee from Rp2.000 to Rp4.500 per order"),
        Incident("copy_paste_campaign", "gocepat", at(3, 19), at(3, 21, 30), (),
                 "many new accounts paste the same GoCepat promo-code post"),
        Incident("delivery_outage", "kirimin", at(2, 11, 20), at(2, 18, 30),
                 ("Jakarta", "Tangerang", "Bekasi", "Depok"),
                 "Kirimin orders stop arriving in Greater Jakarta over lunch"),
    ]


# ------------------------------------------------------------------------------------ places, people

CITIES: tuple[tuple[str, float], ...] = (
    ("Jakarta", 34), ("Surabaya", 11), ("Bandung", 10), ("Medan", 7), ("Yogyakarta", 5), ("Semarang", 4),
    ("Makassar", 4), ("Denpasar", 3), ("Tangerang", 6), ("Bekasi", 6), ("Depok", 4), ("Malang", 3),
    ("Palembang", 3),
)
JAVANESE_CITIES = ("Yogyakarta", "Semarang", "Surabaya", "Malang")
SUNDANESE_CITIES = ("Bandung",)

MASTODON_INSTANCES = ("mastodon.social", "mas.to", "mstdn.social", "fosstodon.org", "kolektiva.social")
SUBREDDITS_ID = ("indonesia", "jakarta", "bandung", "surabaya", "finansial")
SUBREDDITS_EN = ("indonesia", "jakarta", "expats", "bali")

# (display name, slug, domain, language, followers)
NEWS_OUTLETS: tuple[tuple[str, str, str, str, int], ...] = (
    ("Kabar Niaga", "kabarniaga", "kabarniaga.example", "id", 1_240_000),
    ("Lintas Ekonomi", "lintasekonomi", "lintasekonomi.example", "id", 860_000),
    ("Detak Jakarta", "detakjakarta", "detakjakarta.example", "id", 2_100_000),
    ("Jendela Teknologi", "jendelatek", "jendelatek.example", "id", 430_000),
    ("The Jakarta Ledger", "jakartaledger", "jakartaledger.example", "en", 520_000),
    ("Nusantara Tech Review", "nusatechreview", "nusatechreview.example", "en", 95_000),
)


_SLOT_RE = re.compile(r"\{(\w+)\}")
_SPACES_RE = re.compile(r"[ \t]{2,}")
_SPACE_PUNCT_RE = re.compile(r" +([,.!?])")


# ------------------------------------------------------------------------------- text (data file)

_TEXT_FILE = Path(__file__).resolve().parent / "data" / "demo_templates.json"


@dataclass(frozen=True)
class _DemoText:
    """The demo's sentences and vocabulary, kept in ``data/demo_templates.json``.

    In the file, tuple keys are joined with ``|``: templates are keyed ``scenario|language|sentiment``
    ("id+en" is Indonesian-English code-mixing, truth language "id"), Reddit titles and news
    ``scenario|language``, openers ``language|sentiment`` (openers are mood-neutral, so labels stay
    true). ``{name}`` in a text is a slot, filled from the post's context or from ``slots``.
    """

    areas: Mapping[str, tuple[str, ...]]
    profile_locations: Mapping[str, tuple[str, ...]]
    first_names_id: tuple[str, ...]
    last_names_id: tuple[str, ...]
    handle_words_id: tuple[str, ...]
    bio_tags_id: tuple[str, ...]
    first_names_en: tuple[str, ...]
    last_names_en: tuple[str, ...]
    bio_tags_en: tuple[str, ...]
    food_id: tuple[str, ...]
    food_en: tuple[str, ...]
    wrong_items: tuple[str, ...]
    slots: Mapping[str, tuple[str, ...]]
    templates: Mapping[tuple[str, ...], tuple[str, ...]]
    reddit_titles: Mapping[tuple[str, ...], tuple[str, ...]]
    care_replies: tuple[str, ...]
    care_greetings: tuple[str, ...]
    care_signs: tuple[str, ...]
    news: Mapping[tuple[str, ...], tuple[tuple[str, str, str], ...]]
    news_extra: Mapping[str, tuple[str, ...]]
    openers: Mapping[tuple[str, ...], tuple[str, ...]]


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


@cache
def _text() -> _DemoText:
    """Read once, on first use: importing this module (for the brands or queries) stays cheap."""
    raw = json.loads(_TEXT_FILE.read_text(encoding="utf-8"))
    tuple_keyed = {"templates", "reddit_titles", "news", "openers"}
    fields: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, dict):
            split = name in tuple_keyed
            fields[name] = {(tuple(k.split("|")) if split else k): _tuples(v) for k, v in value.items()}
        else:
            fields[name] = _tuples(value)
    fields["slots"]["wrong"] = fields["wrong_items"]
    return _DemoText(**fields)


CAMPAIGN_CODE = "GCMAKAN50"
CAMPAIGN_CALLS = ("Buruan sebelum kehabisan!", "Buruan sebelum kuota habis!", "Yuk buruan sebelum kehabisan!")
TAGS_ID = ("#kuliner", "#anakkos", "#jajan", "#makansiang", "#ojol", "#tanggaltua")
TAGS_EN = ("#jakarta", "#foodie", "#indonesia")

WEEKDAYS_ID = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Relative activity by local hour: quiet nights, lunch and a long evening peak.
HOURLY = (0.35, 0.2, 0.12, 0.1, 0.15, 0.35, 0.6, 0.85, 0.9, 0.9, 1.0, 1.35,
          1.5, 1.2, 0.95, 0.9, 1.0, 1.15, 1.35, 1.55, 1.6, 1.5, 1.1, 0.7)
WEEKDAY_FACTOR = (1.0, 1.0, 1.0, 1.0, 1.1, 1.2, 1.15)

PLATFORM_MIX: Mapping[str, tuple[tuple[str, float], ...]] = {
    "background": (("x", 47), ("bluesky", 10), ("mastodon", 5), ("reddit", 12), ("youtube", 24), ("news", 2)),
    "outage": (("x", 74), ("bluesky", 10), ("mastodon", 3), ("reddit", 6), ("youtube", 3), ("news", 4)),
    "price": (("x", 58), ("bluesky", 8), ("mastodon", 2), ("reddit", 10), ("youtube", 17), ("news", 5)),
    "buzz": (("x", 50), ("bluesky", 10), ("mastodon", 3), ("reddit", 8), ("youtube", 24), ("news", 5)),
    "campaign": (("x", 85), ("bluesky", 10), ("youtube", 5)),
}
LANG_MIX: Mapping[str, tuple[tuple[str, float], ...]] = {
    "background": (("id", 60), ("id+en", 12), ("en", 23), ("jv", 3), ("su", 2)),
    "outage": (("id", 60), ("id+en", 14), ("en", 26)),
    "price": (("id", 64), ("id+en", 12), ("en", 21), ("jv", 3)),
    "buzz": (("id", 55), ("id+en", 15), ("en", 30)),
}
SENTIMENT_MIX: Mapping[str, tuple[tuple[str, float], ...]] = {
    "kirimin": (("positive", 33), ("neutral", 35), ("negative", 32)),
    "gocepat": (("positive", 31), ("neutral", 36), ("negative", 33)),
    "antaryuk": (("positive", 30), ("neutral", 35), ("negative", 35)),
}
BRAND_SHARE = (("kirimin", 40), ("gocepat", 35), ("antaryuk", 25))
# Share of all posts per planted story; the rest is everyday chatter.
STORY_SHARE = {"outage": 0.07, "price": 0.08, "campaign": 0.03, "buzz": 0.06}
_STORY_INCIDENT = {"outage": "delivery_outage", "price": "price_wave", "campaign": "copy_paste_campaign",
                   "buzz": "product_buzz"}


# ------------------------------------------------------------------------------------------ authors

@dataclass
class Author:
    platform: str
    id: str
    handle: str
    display_name: str
    followers: int
    verified: bool
    location: str
    city: str
    country: str
    lang: str
    activity: float

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "handle": self.handle, "display_name": self.display_name,
                "followers": self.followers, "verified": self.verified, "location": self.location}


def _pareto(rng: random.Random, minimum: float, alpha: float, cap: int) -> int:
    return min(cap, int(minimum * (1.0 - rng.random()) ** (-1.0 / alpha)))


_FOLLOWERS = {"x": (25, 1.05, 4_000_000), "bluesky": (8, 1.2, 250_000), "mastodon": (6, 1.3, 60_000),
              "reddit": (1, 1.7, 8_000), "youtube": (1, 1.1, 900_000)}
_B32 = "234567abcdefghijklmnopqrstuvwxyz"
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _rand_str(rng: random.Random, alphabet: str, k: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(k))


def _weighted(rng: random.Random, options: Sequence[tuple[str, float]]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _make_author(rng: random.Random, platform: str, lang: str, city: str, *, fresh: bool = False) -> Author:
    if lang == "en" and rng.random() < 0.55:
        first, last = rng.choice(_text().first_names_en), rng.choice(_text().last_names_en)
        tag = rng.choice(_text().bio_tags_en)
    else:
        first, last = rng.choice(_text().first_names_id), rng.choice(_text().last_names_id)
        tag = rng.choice(_text().bio_tags_id)
    pattern = rng.randrange(6)
    if fresh:
        # Throwaway accounts of a paid campaign: name plus a long number, no profile.
        handle = f"{first}{last[:3]}{rng.randrange(1000, 99999)}"
    elif pattern == 0:
        handle = f"{first}{last}"
    elif pattern == 1:
        handle = f"{first}_{last}"
    elif pattern == 2:
        handle = f"{first}{rng.randrange(1, 999)}"
    elif pattern == 3:
        handle = f"{first}{rng.choice(_text().handle_words_id)}"
    elif pattern == 4:
        handle = f"{rng.choice(_text().handle_words_id)}_{first}"
    else:
        handle = f"{first}.{last[:4]}"
    handle = handle.replace(".", "_") if platform in ("x", "youtube") else handle
    handle = handle[:15] if platform == "x" else handle

    style = rng.randrange(5)
    if style == 0:
        display = f"{first.title()} {last.title()}"
    elif style == 1:
        display = f"{first} {rng.choice(['🍜', '☕', '🌙', '🐈', '✨', '🍉', '🛵', ''])}".strip()
    elif style == 2:
        display = f"{first.title()} | {tag}"
    elif style == 3:
        display = first.title()
    else:
        display = f"{first.title()} {last[0].upper()}."

    lo, alpha, cap = _FOLLOWERS[platform]
    if fresh:
        followers = rng.randrange(0, 60)
    elif platform in ("x", "youtube", "bluesky") and rng.random() < 0.03:
        # Food bloggers, celebrities, community accounts: the head that drives reach.
        followers = min(cap, int(rng.lognormvariate(11.0, 1.2)))
    else:
        followers = _pareto(rng, lo, alpha, cap)
    if platform == "reddit":
        followers = max(0, followers - 1)
    verified = (not fresh) and ((followers > 80_000 and rng.random() < 0.6) or rng.random() < 0.01)
    if verified and style in (1, 3):
        display = f"{first.title()} {last.title()}"

    if platform == "x":
        author_id = str(rng.randrange(10**8, 2 * 10**18))
    elif platform == "bluesky":
        author_id = "did:plc:" + _rand_str(rng, _B32, 24)
        handle = f"{handle.replace('_', '-')}.bsky.social"
    elif platform == "mastodon":
        author_id = str(rng.randrange(10**17, 2 * 10**17))
        handle = f"{handle}@{rng.choice(MASTODON_INSTANCES)}"
    elif platform == "reddit":
        author_id = "t2_" + _rand_str(rng, _B36, 8)
        if rng.random() < 0.5:
            # Reddit's suggested-username style.
            adjective = rng.choice(["Sad", "Lazy", "Hungry", "Sleepy", "Angry", "Happy"])
            noun = rng.choice(["Bakso", "Martabak", "Kucing", "Ojol", "Kopi", "Sambal"])
            handle = f"{adjective}_{noun}_{rng.randrange(1000, 9999)}"
    else:  # youtube
        author_id = "UC" + _rand_str(rng, _B64URL, 22)
        handle = f"@{handle}"

    location = "" if fresh or rng.random() < 0.22 else rng.choice(_text().profile_locations[city])
    country = "ID"
    # Few people post a lot, most post once or twice.
    activity = 0.3 if fresh else rng.paretovariate(1.6)
    return Author(platform, author_id, handle, display, followers, verified, location, city, country,
                  "en" if lang == "en" else "id", activity)


class _AuthorPool:
    """Authors per platform, picked with heavy-tailed activity and filtered by language and city."""

    def __init__(self, rng: random.Random, n_posts: int) -> None:
        self._rng = rng
        self._all: dict[str, list[Author]] = {}
        size = max(80, int(n_posts / 2.2))
        for platform, share in (("x", 0.45), ("bluesky", 0.12), ("mastodon", 0.06), ("reddit", 0.14),
                                ("youtube", 0.23)):
            authors = []
            for _ in range(max(25, int(size * share))):
                lang = "en" if rng.random() < (0.6 if platform == "mastodon" else 0.27) else "id"
                city = _weighted(rng, CITIES)
                authors.append(_make_author(rng, platform, lang, city))
            self._all[platform] = authors
        self._cache: dict[tuple[str, str, tuple[str, ...]], tuple[list[Author], list[float]]] = {}

    def pick(self, platform: str, lang: str, cities: tuple[str, ...] = ()) -> Author:
        key = (platform, "en" if lang == "en" else "id", cities)
        if key not in self._cache:
            pool = self._all[platform]
            chosen = [a for a in pool if a.lang == key[1] and (not cities or a.city in cities)]
            if len(chosen) < 5:
                chosen = [a for a in pool if not cities or a.city in cities] or pool
            cum, total = [], 0.0
            for a in chosen:
                total += a.activity
                cum.append(total)
            self._cache[key] = (chosen, cum)
        chosen, cum = self._cache[key]
        return self._rng.choices(chosen, cum_weights=cum)[0]


# --------------------------------------------------------------------------------------- generation

@dataclass
class DemoStream:
    """Posts in the REST item shape, one truth label per post, and the planted incidents."""

    posts: list[dict[str, Any]] = field(default_factory=list)
    truth: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _rupiah(value: int, rng: random.Random) -> str:
    style = rng.randrange(4)
    if style == 0:
        return "Rp" + f"{value:,}".replace(",", ".")
    if style == 1:
        return "Rp " + f"{value:,}".replace(",", ".")
    thousands = f"{value / 1000:.1f}".rstrip("0").rstrip(".")
    if style == 2:
        return thousands.replace(".", ",") + "rb"
    return thousands + "k"


def _fill(template: str, rng: random.Random, ctx: Mapping[str, str | Callable[[], str]]) -> str:
    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        value = ctx.get(key)
        if value is None:
            value = rng.choice(_text().slots[key])
        elif callable(value):
            value = value()
        return _fill(value, rng, ctx) if "{" in value else value

    return _SLOT_RE.sub(sub, template)


def _tidy(text: str) -> str:
    text = _SPACES_RE.sub(" ", text)
    text = _SPACE_PUNCT_RE.sub(r"\1", text)
    return text.strip()


class _Generator:
    def __init__(self, seed: int, now: datetime, n: int) -> None:
        # Separate streams: texts, authors and ids never depend on `now`, only timestamps do.
        self.rng = random.Random(f"dengar-demo:{seed}:text")
        self.time_rng = random.Random(f"dengar-demo:{seed}:time")
        self.now = now
        self.start = now - WINDOW
        self.authors = _AuthorPool(random.Random(f"dengar-demo:{seed}:authors"), n)
        self.incidents = {i.name: i for i in demo_incidents(now)}
        self.used_ids: set[str] = set()
        self.campaign_accounts: list[Author] = []
        self._slots = self._background_slots()

    # ---------------------------------------------------------------- time
    def _background_slots(self) -> list[float]:
        cum, total = [], 0.0
        for hour in range(24 * 7):
            mid = (self.start + timedelta(hours=hour, minutes=30)).astimezone(WIB)
            total += HOURLY[mid.hour] * WEEKDAY_FACTOR[mid.weekday()]
            cum.append(total)
        return cum

    def _background_time(self) -> datetime:
        slot = self.time_rng.choices(range(len(self._slots)), cum_weights=self._slots)[0]
        return self.start + timedelta(hours=slot, seconds=self.time_rng.uniform(0, 3600))

    def _rhythm_ok(self, t: datetime) -> bool:
        return self.time_rng.random() < HOURLY[t.astimezone(WIB).hour] / max(HOURLY)

    def _story_time(self, story: str) -> datetime:
        inc = self.incidents[_STORY_INCIDENT[story]]
        span = (inc.end - inc.start).total_seconds()
        r = self.time_rng
        for _ in range(50):
            if story == "outage":
                # Complaints build up within the first hour and tail off once orders flow again.
                offset = r.gammavariate(2.2, 4000.0)
            elif story == "campaign":
                offset = r.uniform(0, span)
            elif story == "price":
                offset = r.gammavariate(1.6, 20 * 3600.0)
            else:
                offset = r.expovariate(1 / (16 * 3600.0))
            t = inc.start + timedelta(seconds=offset)
            if offset <= span and (story in ("outage", "campaign") or self._rhythm_ok(t)):
                return t
        return inc.start + timedelta(seconds=r.uniform(0, span))

    def _clamp(self, t: datetime) -> datetime:
        lo, hi = self.start + timedelta(minutes=1), self.now - timedelta(seconds=30)
        return min(max(t, lo), hi)

    # ---------------------------------------------------------------- ids and urls
    def _unique(self, make: Callable[[], str]) -> str:
        while True:
            value = make()
            if value not in self.used_ids:
                self.used_ids.add(value)
                return value

    def _social_ids(self, platform: str, handle: str, lang: str, title: str) -> tuple[str, str]:
        r = self.rng
        if platform == "x":
            ext = self._unique(lambda: str(r.randrange(1_850_000_000_000_000_000, 1_990_000_000_000_000_000)))
            return ext, f"https://x.com/{handle}/status/{ext}"
        if platform == "bluesky":
            ext = self._unique(lambda: "3l" + _rand_str(r, _B32, 11))
            return ext, f"https://bsky.app/profile/{handle}/post/{ext}"
        if platform == "mastodon":
            ext = self._unique(lambda: str(r.randrange(113_000_000_000_000_000, 116_000_000_000_000_000)))
            user, instance = handle.split("@", 1)
            return ext, f"https://{instance}/@{user}/{ext}"
        if platform == "reddit":
            sub = r.choice(SUBREDDITS_EN if lang == "en" else SUBREDDITS_ID)
            if title:
                ext = self._unique(lambda: "t3_1h" + _rand_str(r, _B36, 5))
                return ext, f"https://www.reddit.com/r/{sub}/comments/{ext[3:]}/{_slug(title, 50)}/"
            parent = "1h" + _rand_str(r, _B36, 5)
            ext = self._unique(lambda: "t1_m" + _rand_str(r, _B36, 6))
            return ext, f"https://www.reddit.com/r/{sub}/comments/{parent}/comment/{ext[3:]}/"
        video = _rand_str(r, _B64URL, 11)
        ext = self._unique(lambda: "Ug" + r.choice("wxyz") + _rand_str(r, _B64URL, 19) + "4AaABAg")
        return ext, f"https://www.youtube.com/watch?v={video}&lc={ext}"

    # ---------------------------------------------------------------- text
    def _ctx(self, brand: Brand, city: str, platform: str) -> dict[str, str | Callable[[], str]]:
        r = self.rng
        others = [b for b in BRANDS if b.id != brand.id]
        area_pool = _text().areas.get(city, _text().areas["Jakarta"])
        area = r.choice(area_pool)
        food_price = r.randrange(15, 65) * 1000
        ongkir = r.randrange(8, 19) * 1000
        # @handles only make sense where the brand's account lives.
        def surface(b: Brand) -> str:
            if platform == "news":
                return b.name
            return _weighted(r, [(s, w) for s, w in b.surfaces if platform == "x" or not s.startswith("@")])

        return {
            "b": surface(brand),
            "o": surface(r.choice(others)),
            "prod": r.choice(("Kirimin Plus", "Kirimin Plus", "#KiriminPlus", "KiriminPlus")),
            # Addressing the care account only works on X; elsewhere people just complain.
            "care": "@" + brand.care if platform == "x" else "",
            "city": city,
            "area": area,
            "area2": r.choice([a for a in area_pool if a != area] or [area]),
            "gue": r.choice(("gue", "gw", "aku", "aku", "saya", "gua", "w")),
            "food": r.choice(_text().food_id),
            "food_en": r.choice(_text().food_en),
            "mins": str(r.randrange(35, 151, 5)),
            "mins_fast": str(r.randrange(8, 26)),
            "hrs": str(r.choice((2, 2, 3, 3, 4))),
            "days": str(r.randrange(2, 15)),
            "price": lambda: _rupiah(r.randrange(10, 46) * 1000, r),
            "price_low": lambda: _rupiah(r.randrange(5, 16) * 1000, r),
            "ongkir": _rupiah(ongkir, r),
            "total": _rupiah(food_price + ongkir + 4500, r),
            "fee_old": r.choice(("Rp2.000", "2rb", "2k", "Rp2000", "dua ribu")),
            "fee_new": r.choice(("Rp4.500", "4,5rb", "4.5k", "Rp4500", "Rp 4.500")),
            "plus_price": r.choice(("Rp29rb", "29rb", "29 ribu", "Rp29.000", "29k")),
            "saving": _rupiah(r.randrange(30, 121) * 1000, r),
        }

    def _decorate(self, text: str, platform: str, lang: str, sentiment: str, brand: Brand, story: str) -> str:
        r = self.rng
        openers = _text().openers.get(("en" if lang == "en" else "id", sentiment))
        if openers and lang in ("id", "en", "id+en") and r.random() < 0.3:
            text = _fill(r.choice(openers), r, {}) + text
        if platform in ("x", "bluesky") and lang != "en" and r.random() < 0.25:
            text = text.lower()
        elif lang == "en" and r.random() < 0.08:
            text = text.lower()
        if platform == "x" and r.random() < 0.08 and "@" not in text:
            text = f"@{brand.handle} {text}"
        if platform in ("x", "bluesky", "mastodon") and r.random() < 0.14:
            tags = [brand.hashtag]
            if story == "outage" and r.random() < 0.6:
                tags = ["#KiriminDown"]
            elif lang != "en":
                tags.append(r.choice(TAGS_ID))
            else:
                tags.append(r.choice(TAGS_EN))
            text = f"{text} {' '.join(tags[: r.randrange(1, len(tags) + 1)])}"
        return text

    def _social_text(self, story: str, lang: str, sentiment: str, ctx: Mapping[str, Any],
                     avoid: str = "") -> tuple[str, str]:
        options = [t for t in _text().templates[(story, lang, sentiment)] if t != avoid]
        template = self.rng.choice(options or _text().templates[(story, lang, sentiment)])
        return _fill(template, self.rng, ctx), template

    # ---------------------------------------------------------------- posts
    def post(self, story: str) -> tuple[dict[str, Any], dict[str, Any]]:
        if story == "campaign":
            return self._campaign_post()
        r = self.rng
        brand = _BRAND[{"outage": "kirimin", "price": "antaryuk", "buzz": "kirimin"}.get(story)
                       or _weighted(r, BRAND_SHARE)]
        platform = _weighted(r, PLATFORM_MIX[story])
        if platform == "news":
            return self._news_post(story, brand)
        lang = _weighted(r, LANG_MIX[story])
        if platform == "mastodon" and lang != "en" and r.random() < 0.5:
            lang = "en"
        if story == "outage":
            sentiment = "negative"
            if platform == "x" and r.random() < 0.1:
                return self._care_reply(brand)
        elif story == "price":
            sentiment = "neutral" if r.random() < 0.08 else "negative"
        elif story == "buzz":
            sentiment = "neutral" if r.random() < 0.1 else "positive"
        else:
            sentiment = _weighted(r, SENTIMENT_MIX[brand.id])
        if (story, lang, sentiment) not in _text().templates:
            lang = "id"

        cities: tuple[str, ...] = ()
        if story == "outage":
            cities = ("Jakarta",) if r.random() < 0.85 else ("Tangerang", "Bekasi", "Depok")
        elif lang == "jv":
            cities = JAVANESE_CITIES
        elif lang == "su":
            cities = SUNDANESE_CITIES
        author = self.authors.pick(platform, lang, cities)
        city = author.city
        ctx = self._ctx(brand, city, platform)

        text, template = self._social_text(story, lang, sentiment, ctx)
        title = ""
        if platform == "reddit":
            if r.random() < 0.4:
                key = (story, "en" if lang == "en" else "id")
                title = _tidy(_fill(r.choice(_text().reddit_titles[key]), r, ctx))
            if r.random() < 0.5:
                # Reddit posts run longer: a second thought from the same person and mood.
                more, _ = self._social_text(story, lang, sentiment, ctx, avoid=template)
                text = f"{_sentence(text)} {more[:1].upper()}{more[1:]}"
        else:
            text = self._decorate(text, platform, lang, sentiment, brand, story)
        text = _tidy(text)

        created = self._clamp(self._story_time(story) if story != "background" else self._background_time())
        ext, url = self._social_ids(platform, author.handle, author.lang, title)
        boost = {"outage": 1.6, "price": 1.3, "buzz": 1.1}.get(story, 1.0)
        item = self._item(platform, ext, text, created, author.as_dict(), url,
                          _reported_lang(platform, lang, r), author.country, city, brand,
                          self._engagement(platform, author.followers, boost))
        if title:
            item["title"] = title
        truth = {"scenario": _STORY_INCIDENT.get(story, "background"), "brand": brand.id,
                 "sentiment": sentiment, "lang": lang.split("+")[0], "code_mixed": lang == "id+en",
                 "city": city, "platform": platform}
        return item, truth

    def _item(self, platform: str, ext: str, text: str, created: datetime, author: dict[str, Any], url: str,
              lang: str, country: str, city: str, brand: Brand, engagement: dict[str, int]) -> dict[str, Any]:
        return {
            "platform": platform,
            "external_id": ext,
            "text": text,
            "created_at": created.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "author": author,
            "engagement": engagement,
            "url": url,
            "lang": lang,
            "country": country,
            "metadata": {"city": city, "brand": brand.id},
        }

    def _engagement(self, platform: str, followers: int, boost: float) -> dict[str, int]:
        r = self.rng
        reach = (followers + 5) ** 0.62 * r.lognormvariate(-1.2, 1.1) * boost
        likes = int(reach)
        reposts = int(likes * r.uniform(0.03, 0.3))
        replies = int(likes * r.uniform(0.02, 0.25)) + (1 if r.random() < 0.3 else 0)
        quotes = int(reposts * r.uniform(0.0, 0.35))
        views = 0
        if platform == "x":
            views = int((likes + 1) * r.uniform(25, 140) + followers * r.uniform(0.02, 0.15))
        elif platform == "mastodon":
            quotes = 0
        elif platform == "reddit":
            # Score and comment count are all Reddit tells us.
            reposts = quotes = 0
        elif platform == "youtube":
            # Comments carry likes and replies only.
            reposts = quotes = 0
            likes = int(likes * 0.6)
        return {"likes": likes, "reposts": reposts, "replies": replies, "quotes": quotes, "views": views}

    def _news_post(self, story: str, brand: Brand) -> tuple[dict[str, Any], dict[str, Any]]:
        r = self.rng
        name, slug, domain, lang, followers = r.choice(NEWS_OUTLETS)
        city = r.choice(("Jakarta", "Surabaya", "Bandung", "Medan")) if story == "background" else "Jakarta"
        ctx = self._ctx(brand, city, "news")
        inc = self.incidents["delivery_outage"]
        ctx["weekday"] = WEEKDAYS_ID[inc.start.weekday()]
        ctx["weekday_en"] = WEEKDAYS_EN[inc.start.weekday()]
        ctx["n_cities"] = str(r.randrange(5, 25))
        title_t, body_t, sentiment = r.choice(_text().news[(story, lang)])
        ctx["pct"] = str(r.randrange(8, 46))
        title, body = _tidy(_fill(title_t, r, ctx)), _tidy(_fill(body_t, r, ctx))
        if r.random() < 0.6:
            body = f"{body} {_fill(r.choice(_text().news_extra[lang]), r, ctx)}"
        # House style: a dateline in front of the lede.
        body = f"{city.upper()}, {name} - {body}" if lang == "id" else f"{city.upper()} - {body}"
        section = r.choice(("ekonomi", "bisnis", "tekno", "metro")) if lang == "id" else \
            r.choice(("business", "tech", "city"))
        url = self._unique(
            lambda: f"https://{domain}/{section}/{r.randrange(100_000, 999_999)}/{_slug(title, 70)}")
        if story == "background":
            created = self._background_time()
        elif story == "outage":
            # Outlets pick the story up a couple of hours in.
            inc = self.incidents["delivery_outage"]
            created = inc.start + timedelta(hours=self.time_rng.uniform(1.5, 6.5))
        else:
            created = self._story_time(story) + timedelta(hours=self.time_rng.uniform(0.5, 4))
        author = {"id": slug, "handle": slug, "display_name": name, "followers": followers,
                  "verified": True, "location": "Jakarta" if lang == "id" else "Jakarta, Indonesia"}
        comments = int(r.lognormvariate(2.0, 1.2)) if r.random() < 0.7 else 0
        engagement = {"likes": 0, "reposts": int(comments * r.uniform(0.5, 3)), "replies": comments,
                      "quotes": 0, "views": 0}
        item = self._item("news", url, body, self._clamp(created), author, url, lang, "ID", city, brand,
                          engagement)
        item["title"] = title
        truth = {"scenario": _STORY_INCIDENT.get(story, "background"), "brand": brand.id,
                 "sentiment": sentiment, "lang": lang, "code_mixed": False, "city": city, "platform": "news"}
        return item, truth

    def _care_reply(self, brand: Brand) -> tuple[dict[str, Any], dict[str, Any]]:
        r = self.rng
        ctx: dict[str, str | Callable[[], str]] = {
            "greet": r.choice(_text().care_greetings), "sign": r.choice(_text().care_signs),
            "first": r.choice(_text().first_names_id).title(),
        }
        text = _tidy(_fill(r.choice(_text().care_replies), r, ctx))
        author = {"id": "1204417765", "handle": brand.care, "display_name": f"{brand.name} Care",
                  "followers": 312_400, "verified": True, "location": "Jakarta"}
        created = self._clamp(self._story_time("outage") + timedelta(minutes=self.time_rng.uniform(3, 40)))
        ext, url = self._social_ids("x", brand.care, "id", "")
        engagement = {"likes": r.randrange(0, 12), "reposts": 0, "replies": r.randrange(0, 4), "quotes": 0,
                      "views": r.randrange(80, 2500)}
        item = self._item("x", ext, text, created, author, url, "id", "ID", "Jakarta", brand, engagement)
        truth = {"scenario": "delivery_outage", "brand": brand.id, "sentiment": "neutral", "lang": "id",
                 "code_mixed": False, "city": "Jakarta", "platform": "x"}
        return item, truth

    def _campaign_post(self) -> tuple[dict[str, Any], dict[str, Any]]:
        r = self.rng
        brand = _BRAND["gocepat"]
        platform = _weighted(r, PLATFORM_MIX["campaign"])
        if not self.campaign_accounts or (len(self.campaign_accounts) < 60 and r.random() < 0.7):
            acc_rng = random.Random(r.getrandbits(64))
            self.campaign_accounts.append(_make_author(acc_rng, "x", "id", _weighted(acc_rng, CITIES),
                                                       fresh=True))
        base = r.choice(self.campaign_accounts)
        # The same throwaway persona, re-created on the other platform.
        author = base if platform == "x" else _make_author(random.Random(base.handle), platform, "id",
                                                           base.city, fresh=True)
        tags = ["#GoCepatHemat", "#PromoHariIni", "#MakanHemat"]
        r.shuffle(tags)
        # One pasted text; only the trimmings vary, as when people "personalise" a paid script.
        text = (f"{r.choice(['', '', 'GUYS ', 'Info: ', '‼️ '])}"
                f"Cuma hari ini{r.choice(['!', '!!', '!!!'])} Pakai kode {CAMPAIGN_CODE} di GoCepat Makan "
                f"dapet potongan 50% sampai 25rb {r.choice(['🔥', '🔥🔥', '🔥🔥🔥', '😍🔥'])} "
                f"{r.choice(CAMPAIGN_CALLS)} {' '.join(tags[: r.randrange(2, 4)])}")
        created = self._clamp(self._story_time("campaign"))
        ext, url = self._social_ids(platform, author.handle, "id", "")
        engagement = {"likes": r.randrange(0, 4), "reposts": r.randrange(0, 3), "replies": 0, "quotes": 0,
                      "views": r.randrange(3, 90) if platform == "x" else 0}
        item = self._item(platform, ext, _tidy(text), created, author.as_dict(), url,
                          "id" if platform != "youtube" else "", "ID", author.city, brand, engagement)
        truth = {"scenario": "copy_paste_campaign", "brand": brand.id, "sentiment": "positive", "lang": "id",
                 "code_mixed": False, "city": author.city, "platform": platform}
        return item, truth


def _sentence(text: str) -> str:
    """Close a sentence so that another can follow."""
    text = text.rstrip()
    return text if not text or not text[-1].isalnum() else text + "."


def _slug(text: str, limit: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "post"


def _reported_lang(platform: str, lang: str, rng: random.Random) -> str:
    """What the platform itself would claim: only some report a language, and they are often wrong."""
    if platform in ("reddit", "youtube"):
        return ""
    if lang in ("jv", "su"):
        # No platform offers Javanese or Sundanese; they see Indonesian.
        return "id"
    if lang == "id+en":
        return rng.choice(("id", "id", "en"))
    if platform == "mastodon" and rng.random() < 0.1:
        # Mastodon stores the poster's default language, whatever they wrote.
        return "en" if lang == "id" else "id"
    return lang


def generate_demo(n: int, *, seed: int = 7, now: datetime | None = None) -> DemoStream:
    """``n`` demo posts from the last seven days, with truth labels and the planted incidents."""
    if n < 0:
        raise ValueError("n must not be negative")
    now = _aware(now)
    gen = _Generator(seed, now, n)
    stories: list[str] = []
    for story, share in STORY_SHARE.items():
        stories.extend([story] * int(n * share))
    stories.extend(["background"] * (n - len(stories)))
    gen.rng.shuffle(stories)
    pairs = [gen.post(story) for story in stories]
    # A stream arrives in time order.
    pairs.sort(key=lambda p: (p[0]["created_at"], p[0]["external_id"]))
    return DemoStream(posts=[p for p, _ in pairs], truth=[t for _, t in pairs],
                      incidents=list(gen.incidents.values()))


def generate_demo_posts(n: int, *, seed: int = 7, now: datetime | None = None) -> list[dict[str, Any]]:
    """``n`` demo posts in the ``POST /v1/posts`` item shape, oldest first, deterministic for a seed."""
    return generate_demo(n, seed=seed, now=now).posts
