"""Bilingual wording for insight cards: number and date formats, aspect labels, sentence templates.

English: "1,234", "3.1x", "30 Nov". Indonesian: "1.234", "3,1x", "30 Nov" with Indonesian month
abbreviations (Mei, Agu, Okt, Des). Times are shown in UTC unless a timezone is given.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

EN = "en"
ID = "id"
LANGS = (EN, ID)

_MONTHS = {
    EN: ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    ID: ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
}

# The nlp taxonomy's labels (dengar_nlp.domain.aspects.TAXONOMY), copied: insights may not import
# nlp. (title EN, title ID, in-sentence EN, in-sentence ID).
ASPECT_LABELS: dict[str, tuple[str, str, str, str]] = {
    "customer_service": ("Customer service", "Layanan pelanggan", "customer service",
                         "layanan pelanggan"),
    "price": ("Price / value", "Harga", "price", "harga"),
    "product_quality": ("Product quality", "Kualitas produk", "product quality", "kualitas produk"),
    "delivery": ("Delivery / delays", "Pengiriman / keterlambatan", "delivery", "pengiriman"),
    "booking": ("Booking / ordering", "Pemesanan", "booking", "pemesanan"),
    "app": ("App / website", "Aplikasi / situs web", "the app", "aplikasi"),
    "staff": ("Staff", "Staf / karyawan", "staff", "staf"),
    "availability": ("Availability / stock", "Ketersediaan / stok", "availability", "ketersediaan"),
    "cleanliness": ("Cleanliness", "Kebersihan", "cleanliness", "kebersihan"),
    "safety": ("Safety / security", "Keamanan / keselamatan", "safety", "keamanan"),
    "ambience": ("Ambience", "Suasana", "ambience", "suasana"),
    "payment": ("Payment / refund", "Pembayaran / pengembalian dana", "payment", "pembayaran"),
    "facilities": ("Facilities / amenities", "Fasilitas", "facilities", "fasilitas"),
}

SENTIMENT_WORDS: dict[str, dict[str, str]] = {
    EN: {"negative": "negative", "neutral": "neutral", "positive": "positive"},
    ID: {"negative": "negatif", "neutral": "netral", "positive": "positif"},
}

PLATFORM_NAMES: dict[str, str] = {"x": "X", "reddit": "Reddit", "instagram": "Instagram",
                                  "tiktok": "TikTok", "youtube": "YouTube", "facebook": "Facebook",
                                  "news": "news", "web": "the web"}


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}")
    return lang


def aspect_label(name: str, lang: str, *, title: bool = False) -> str:
    """The aspect's label; an aspect outside the table reads as its id with spaces."""
    row = ASPECT_LABELS.get(name)
    if row is None:
        plain = name.replace("_", " ")
        return plain.capitalize() if title else plain
    return row[(0 if title else 2) + (1 if lang == ID else 0)]


def fmt_int(n: float, lang: str) -> str:
    s = f"{round(n):,}"
    return s.replace(",", ".") if lang == ID else s


def fmt_num(x: float, lang: str, digits: int = 1) -> str:
    """A decimal with thousands grouping: 1,234.5 / 1.234,5."""
    s = f"{x:,.{digits}f}"
    if lang == ID:
        s = s.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return s


def fmt_ratio(x: float, lang: str) -> str:
    return f"{fmt_num(x, lang, 1)}x"


def fmt_signed(x: float, lang: str, digits: int = 2) -> str:
    return ("+" if x > 0 else "-" if x < 0 else "") + fmt_num(abs(x), lang, digits)


def fmt_pct(frac: float, lang: str) -> str:
    """A fraction as a whole percentage: 0.61 -> 61%."""
    return f"{fmt_int(frac * 100, lang)}%"


def fmt_growth(lift: float | None, lang: str) -> str:
    """A count's growth as +280%, or "new"/"baru" when it grew from nothing."""
    if lift is None:
        return "baru" if lang == ID else "new"
    pct = (lift - 1.0) * 100
    return ("+" if pct >= 0 else "-") + f"{fmt_int(abs(pct), lang)}%"


def fmt_date(t: datetime, lang: str, tz: tzinfo = UTC) -> str:
    t = t.astimezone(tz)
    return f"{t.day} {_MONTHS[lang][t.month - 1]}"


def fmt_when(start: datetime, end: datetime, interval_hours: bool, lang: str,
             tz: tzinfo = UTC) -> str:
    """"on 30 Nov" / "pada 30 Nov", with hours for hourly spikes ("30 Nov 12:00-15:00 UTC")."""
    on = "pada" if lang == ID else "on"
    s, e = start.astimezone(tz), end.astimezone(tz)
    if not interval_hours:
        last = e - timedelta(microseconds=1)
        if last.date() == s.date():
            return f"{on} {fmt_date(s, lang, tz)}"
        dash = "\u2013"
        return f"{on} {fmt_date(s, lang, tz)}{dash}{fmt_date(last, lang, tz)}"
    zone = s.tzname() or "UTC"
    return f"{on} {fmt_date(s, lang, tz)} {s:%H:%M}\u2013{e:%H:%M} {zone}"


def quoted(values: list[str], lang: str, n: int = 3) -> str:
    """'a', 'b' and 'c' / 'a', 'b' dan 'c'."""
    items = [f"'{v}'" for v in values[:n]]
    if len(items) <= 1:
        return "".join(items)
    word = "dan" if lang == ID else "and"
    return f"{', '.join(items[:-1])} {word} {items[-1]}"
