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

import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
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
AREAS: Mapping[str, tuple[str, ...]] = {
    "Jakarta": ("Kemang", "Tebet", "Kelapa Gading", "Grogol", "Cilandak", "Kuningan", "Sudirman",
                "Kebayoran Baru", "Cempaka Putih", "Pluit", "Cengkareng", "Pasar Minggu", "Menteng",
                "Rawamangun", "Pondok Indah", "Blok M", "Senopati", "Mampang", "Kalibata", "Cawang",
                "Sunter", "Duren Sawit", "Cipete", "Tanjung Duren"),
    "Surabaya": ("Gubeng", "Rungkut", "Darmo", "Wiyung", "Kenjeran", "Tegalsari", "Mulyorejo", "Sukolilo"),
    "Bandung": ("Dago", "Buah Batu", "Antapani", "Cihampelas", "Setiabudi", "Sukajadi", "Kopo", "Cicaheum"),
    "Medan": ("Medan Baru", "Helvetia", "Sunggal", "Medan Johor", "Petisah", "Amplas"),
    "Yogyakarta": ("Jakal", "Seturan", "Condongcatur", "Kotabaru", "Prawirotaman", "Gejayan"),
    "Semarang": ("Tembalang", "Banyumanik", "Simpang Lima", "Candisari"),
    "Makassar": ("Panakkukang", "Tamalanrea", "Rappocini", "Losari"),
    "Denpasar": ("Renon", "Sanur", "Teuku Umar", "Panjer"),
    "Tangerang": ("BSD", "Gading Serpong", "Ciledug", "Karawaci", "Alam Sutera"),
    "Bekasi": ("Summarecon Bekasi", "Jatiasih", "Galaxy", "Harapan Indah"),
    "Depok": ("Margonda", "Beji", "Cinere", "Sawangan"),
    "Malang": ("Dinoyo", "Sawojajar", "Lowokwaru", "Soekarno-Hatta"),
    "Palembang": ("Ilir Barat", "Kemuning", "Sako"),
}
PROFILE_LOCATIONS: Mapping[str, tuple[str, ...]] = {
    "Jakarta": ("Jakarta", "Jakarta Selatan", "Jaksel", "DKI Jakarta", "jkt 🇮🇩", "Jakarta, Indonesia",
                "Jakarta Timur", "Jakarta Barat", "Jakarta Utara"),
    "Surabaya": ("Surabaya", "Surabaya, Jawa Timur", "sby", "Suroboyo"),
    "Bandung": ("Bandung", "Bandung, Jawa Barat", "bdg", "Kota Kembang"),
    "Medan": ("Medan", "Medan, Sumatera Utara", "mdn"),
    "Yogyakarta": ("Yogyakarta", "Jogja", "jogja istimewa", "Sleman"),
    "Semarang": ("Semarang", "Semarang, Jawa Tengah"),
    "Makassar": ("Makassar", "Makassar, Sulsel"),
    "Denpasar": ("Denpasar", "Bali", "Denpasar, Bali"),
    "Tangerang": ("Tangerang", "Tangsel", "BSD City"),
    "Bekasi": ("Bekasi", "planet Bekasi", "Bekasi, Jawa Barat"),
    "Depok": ("Depok", "Depok, Jawa Barat"),
    "Malang": ("Malang", "Malang, Jawa Timur"),
    "Palembang": ("Palembang", "Palembang, Sumsel"),
}
JAVANESE_CITIES = ("Yogyakarta", "Semarang", "Surabaya", "Malang")
SUNDANESE_CITIES = ("Bandung",)

FIRST_NAMES_ID = (
    "rina", "dimas", "ayu", "budi", "sari", "fajar", "putri", "andi", "dewi", "rizky", "nadia", "yoga",
    "intan", "bayu", "citra", "galih", "tasya", "reza", "wulan", "arief", "indah", "hendra", "maya",
    "agus", "sinta", "yusuf", "lala", "kevin", "michelle", "stefani", "ucok", "butet", "made", "komang",
    "wayan", "dinda", "gilang", "anisa", "farhan", "salsa", "raka", "nabila", "bagas", "tiara", "rendy",
    "fitri", "ilham", "zahra", "aldi", "vina", "dodi", "meiliana", "hana", "yosua", "ketut", "ratna",
)
LAST_NAMES_ID = (
    "putri", "pratama", "saputra", "wijaya", "santoso", "hidayat", "nugroho", "lestari", "siregar",
    "nasution", "simanjuntak", "tanjung", "harahap", "kusuma", "rahman", "setiawan", "gunawan", "halim",
    "tan", "lim", "sembiring", "ginting", "manurung", "wibowo", "permata", "maharani", "anggraini",
    "firmansyah", "ramadhan", "daulay", "suryadi", "hakim",
)
HANDLE_WORDS_ID = (
    "ngopi", "jajan", "laper", "rebahan", "kuliner", "anakkos", "receh", "senja", "kopi", "mager",
    "bucin", "overthinking", "kerja", "santuy", "misqueen", "ngemil", "begadang", "pejuangkrl",
)
BIO_TAGS_ID = ("anak kos", "pejuang KRL", "budak korporat", "mahasiswa tingkat akhir", "ibu dua anak",
               "tukang jajan", "pecinta kopi", "content creator", "ojol enthusiast", "WFH forever")
FIRST_NAMES_EN = ("tom", "sarah", "james", "emma", "daniel", "chloe", "liam", "olivia", "ben", "hannah",
                  "marcus", "julia", "kenji", "mei", "noah", "grace", "ryan", "priya", "lucas", "anna")
LAST_NAMES_EN = ("walker", "nguyen", "smith", "tanaka", "lee", "brown", "martin", "clarke", "fischer",
                 "rossi", "patel", "evans")
BIO_TAGS_EN = ("expat in JKT", "coffee & code", "eats everything", "digital nomad", "teacher",
               "product designer", "food first", "Jakarta via Melbourne")
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


# ----------------------------------------------------------------------------------- slot vocabulary

FOOD_ID = ("nasi goreng", "ayam geprek", "martabak manis", "martabak telor", "bakso", "mie ayam", "seblak",
           "sate padang", "sate ayam", "kopi susu gula aren", "boba", "pecel lele", "nasi padang",
           "soto betawi", "dimsum", "rice bowl", "ayam bakar", "es teh jumbo", "gado-gado", "bubur ayam",
           "indomie telor kornet", "roti bakar", "nasi uduk", "ketoprak", "pempek", "ayam penyet",
           "nasi kuning", "sop buntut", "es kopi", "cilok", "batagor", "siomay", "lontong sayur", "rawon",
           "mie aceh", "nasi campur", "seafood saus padang", "kwetiau goreng")
FOOD_EN = ("fried rice", "geprek chicken", "martabak", "bakso", "iced coffee", "boba tea", "nasi padang",
           "burger", "pizza", "dim sum", "rice bowl", "satay", "chicken noodles", "iced kopi susu", "lunch",
           "dinner", "breakfast", "groceries", "poke bowl", "pho")
WRONG_ITEMS = ("es teh manis", "nasi putih doang", "pesanan orang lain", "ayam tanpa nasi",
               "minuman yang salah", "sambel doang", "kerupuk sebungkus")

SLOTS: Mapping[str, Sequence[str]] = {
    "emo_neg": ("😡", "😤", "🙄", "😭", "🤬", "😩", "💀", "😑", "🥲", "😒", "😭😭", "🙃", "", "", ""),
    "emo_pos": ("😍", "🔥", "👍", "🥰", "😋", "🤤", "✨", "💯", "🙌", "❤️", "👏", "🙏", "", ""),
    "emo_neu": ("🤔", "👀", "🧐", "", "", ""),
    "laugh": ("wkwk", "wkwkwk", "wkwkwkwk", "haha", "awokawok", "😂", "🤣", "😂😂", "hahaha"),
    "laugh_en": ("lol", "lmao", "😂", "haha", "💀"),
    "bgt": ("bgt", "banget", "bangettt", "parah", "pol", "bgtt"),
    "driver": ("driver", "drivernya", "abang driver", "mas driver", "bang ojol", "mas ojol"),
    "day": ("hari ini", "siang ini", "malam ini", "pagi ini", "sore ini"),
    "hour": ("11", "12", "12.30", "13", "18", "19", "19.30", "20", "21"),
    "wrong": WRONG_ITEMS,
    "tiap": ("tiap", "setiap", "tiap kali"),
    "nth": ("second", "third", "fourth", "fifth"),
    "n_push": ("five", "six", "seven", "ten"),
    "n_months": ("a few", "two", "three", "six"),
    "n_updates": ("2", "3", "4"),
    "wallet": ("paylater", "QRIS", "kartu kredit", "transfer bank", "COD", "e-wallet lain"),
    "feature": ("baru", "jadwal pesan", "pesan bareng", "lacak live", "tip driver", "mode hemat"),
    "account_thing": ("nomor HP", "email", "alamat utama", "PIN", "metode pembayaran"),
}

_SLOT_RE = re.compile(r"\{(\w+)\}")
_SPACES_RE = re.compile(r"[ \t]{2,}")
_SPACE_PUNCT_RE = re.compile(r" +([,.!?])")


# --------------------------------------------------------------------------------------- templates
# Keys: (scenario, language, sentiment). "id+en" is Indonesian-English code-mixing (truth lang "id").

T = dict[tuple[str, str, str], tuple[str, ...]]

TEMPLATES: T = {
    # ---------------------------------------------------------------- everyday chatter, Indonesian
    ("background", "id", "negative"): (
        "{b} kenapa sih {tiap} {gue} pesen {food} selalu telat {mins} menit {emo_neg}",
        "udah {mins} menit nunggu {food} dari {b}, drivernya muter-muter di {area} {emo_neg}",
        "CS {b} balesnya template doang, refund {gue} belum masuk dari {days} hari lalu {emo_neg}",
        "pesen {food} lewat {b} yang dateng malah {wrong} {laugh} capek deh",
        "ongkir {b} ke {area} aja {price}, makin lama makin gak masuk akal",
        "aplikasi {b} force close mulu pas mau checkout {emo_neg} tolong dong {care}",
        "{driver} {b} cancel sepihak 3x berturut-turut, laper {bgt} ini {emo_neg}",
        "kecewa sama {b}, {food} nya tumpah semua di plastik {emo_neg}",
        "sumpah ya {b}, estimasi 20 menit jadinya {mins} menit. {food} udah dingin",
        "{b} tolong lah itu fitur lacak driver, posisinya gak gerak dari tadi di {area}",
        "kapok pesen {food} di {b}, porsinya kecil harganya {price} {emo_neg}",
        "promo {b} cuma buat user baru doang ya? yang setia dari dulu dilupain {emo_neg}",
        "mau komplain ke {b} tapi chat CS nya muter-muter ke bot terus {emo_neg}",
        "{b} {day} lemot {bgt}, buka menu aja loading lama",
        "pesen lewat {b} jam {hour}, nyampe jam segini. {food} nya udah gak enak {emo_neg}",
        "gak lagi-lagi deh pake {b}, udah bayar tapi pesanan dibatalin sama merchant",
        "{driver} {b} minta bintang 5 tapi {food} {gue} ketinggalan satu. gimana sih",
        "voucher {b} gak bisa dipake padahal syaratnya udah dipenuhin semua {emo_neg}",
        "kenapa {b} suka nyasarin alamat? udah pin lokasi di {area} masih aja salah",
        "ini {b} kenapa tiba-tiba saldo berkurang {price} tanpa transaksi?? {care}",
        "{b} makin ke sini makin zonk. mending {o} sih sekarang",
        "tiap hujan dikit {b} langsung gak ada driver {emo_neg}",
        "nungguin {food} dari {b} sampe ketiduran {laugh} bangun-bangun belum dateng juga",
        "minuman dari {b} dateng tumpah setengah, plastiknya bocor {emo_neg}",
        "{b} ngasih estimasi asal-asalan, katanya 15 menit ternyata {mins} menit",
        "udah chat CS {b} dari kemarin soal {food} yang gak lengkap, belum dibales juga",
        "baru sekali ini pesen {food} di {b} dan langsung kecewa {emo_neg}",
    ),
    ("background", "id", "positive"): (
        "makasih {driver} {b} udah nganterin {food} pas ujan deres gini 🙏 bintang 5 deh",
        "{b} {day} cepet {bgt}, pesen jam {hour} nyampe {mins_fast} menit {emo_pos}",
        "promo {b} lagi gila sih, {food} jadi cuma {price_low} {emo_pos}",
        "jujur lebih suka {b} daripada {o}, drivernya ramah-ramah {emo_pos}",
        "mantul {b}, {food} masih anget pas nyampe {emo_pos}",
        "{driver} {b} tadi baik {bgt}, nungguin {gue} turun dari lantai 12 sambil senyum {emo_pos}",
        "langganan {b} tiap malem buat pesen {food}, belum pernah kecewa {emo_pos}",
        "CS {b} fast response, refund langsung masuk ke saldo {emo_pos}",
        "thanks {b}, {food} dari langganan di {area} nyampe rapi {bgt} {emo_pos}",
        "akhir bulan terselamatkan sama voucher {b} {laugh} {emo_pos}",
        "{b} sekarang makin cepet ya, {mins_fast} menit udah sampe depan kos",
        "ngasih tip lebih ke {driver} {b}, udah nyasar tapi tetep sopan {bgt} 🙏",
        "seneng deh {b} ada fitur catatan buat driver, jadi gak salah rumah lagi {emo_pos}",
        "{b} penyelamat anak kos pas tanggal tua {emo_pos}",
        "pertama kali coba {b} di {city}, ternyata lebih murah dari {o} {emo_pos}",
        "pesen {food} di {b} dapet bonus kerupuk dari merchant {laugh} rejeki anak soleh",
        "aplikasi {b} versi baru enak dipake, lebih ringan {emo_pos}",
        "apresiasi buat {b}, {driver} pake jas hujan buat nutupin pesanan {gue} 🥺",
        "{food} dari {b} {day} enak {bgt}, packagingnya juga rapi {emo_pos}",
        "salut sama {driver} {b} yang tetep nganter jam 2 pagi ke {area} 🙏",
    ),
    ("background", "id", "neutral"): (
        "ada yang tau promo {b} {day} apa aja?",
        "{b} atau {o} ya buat pesen {food} malem ini? {emo_neu}",
        "lagi nunggu {food} dari {b}, semoga cepet",
        "baru install {b}, ada kode promo buat user baru gak?",
        "{b} sekarang bisa bayar pake {wallet} ya?",
        "biasanya {b} jam segini rame gak sih di {area}?",
        "mau pesen {food} lewat {b}, rekomendasi tempat di {area} dong",
        "{b} buka pendaftaran driver lagi di {city} katanya, ada yang udah daftar?",
        "update aplikasi {b} dulu ah, katanya ada fitur {feature}",
        "siang ini makan {food}, pesen lewat {b}",
        "pada pake {b} atau {o} buat ke kantor?",
        "{b} ongkir ke {area} berapaan sekarang ya?",
        "cara ganti {account_thing} di akun {b} gimana ya? ada yg tau?",
        "nyobain {b} buat kirim barang ke temen di {area}",
        "{day} {b} ada diskon buat {food} gak sih?",
        "lagi bandingin harga {b} sama {o} buat {food} yang sama {emo_neu}",
        "{b} sama {o} bedanya apa sih sebenernya? mau pesen {food} nih",
    ),
    # ---------------------------------------------------------------- everyday chatter, English
    ("background", "en", "negative"): (
        "{b} has been getting worse, my {food_en} took {mins} minutes and arrived cold {emo_neg}",
        "why does {b} keep cancelling my orders?? {nth} time this week",
        "{b} customer service is a joke. been waiting {days} days for a refund {emo_neg}",
        "the {b} app crashes every single time I try to pay. please fix it {care}",
        "{b} charged me twice for one order and support just sends copy-paste replies",
        "ordered {food_en} on {b}, got someone else's order. not even close {emo_neg}",
        "{b} estimated 20 mins. it's been {mins}. I'm starving",
        "tried {b} again after {n_months} months. same late deliveries, same excuses",
        "the {b} driver marked my order as delivered and just... left with it?",
        "{b} surge pricing in {city} tonight is ridiculous {emo_neg}",
        "can {b} stop sending me {n_push} push notifications a day please",
        "honestly {o} has been way more reliable than {b} lately",
    ),
    ("background", "en", "positive"): (
        "shoutout to the {b} driver who rode through a flood in {area} to bring my {food_en} 🙏",
        "{b} delivery was super quick today, {mins_fast} mins door to door {emo_pos}",
        "honestly {b} > {o} for late night food runs in {city}",
        "{b} support refunded my missing item in like five minutes. impressed {emo_pos}",
        "the new {b} app update is actually really smooth {emo_pos}",
        "got a {price_low} {food_en} deal on {b} today, can't complain {emo_pos}",
        "{b} drivers in {city} are the real MVPs in this weather {emo_pos}",
        "been using {b} daily since I moved to {city}, never had a bad order {emo_pos}",
        "love that {b} lets you leave notes for the driver. no more wrong gates {emo_pos}",
    ),
    ("background", "en", "neutral"): (
        "is {b} cheaper than {o} for rides from {area} to the airport?",
        "trying {b} for the first time in {city}, let's see how it goes",
        "anyone know if {b} delivers to {area} after midnight?",
        "{b} or {o} for groceries? what do people in {city} use",
        "ordering {food_en} on {b} tonight, any recommendations around {area}?",
        "does {b} take credit cards now or still only e-wallets?",
        "new to {city}. which app do locals actually use, {b} or {o}?",
        "comparing {b} and {o} prices for the same {food_en} order, will report back",
    ),
    # ---------------------------------------------------------------- code-mixing
    ("background", "id+en", "negative"): (
        "literally nunggu {mins} menit for one {food}, {b} please do better {emo_neg}",
        "{b} tuh kenapa sih, every time hujan dikit langsung no driver available",
        "so disappointed sama {b}, udah bayar tapi order cancelled by system {emo_neg}",
        "the audacity of {b} ngasih voucher yang gak bisa dipake {laugh}",
        "{b} customer service nya useless {bgt}, chat sama bot doang from morning",
        "not {b} nyasarin order {gue} ke {area} padahal rumah {gue} di {area2} {laugh}",
    ),
    ("background", "id+en", "positive"): (
        "honestly {b} tuh worth it {bgt} buat yg mager kayak {gue} {laugh}",
        "{b} so far oke sih, fast delivery and drivernya friendly {emo_pos}",
        "not me pesen {food} lagi di {b} padahal udah janji diet {laugh}",
        "big thanks buat {driver} {b}, super helpful {day} {emo_pos}",
        "{b} delivery {day} on time banget, love it {emo_pos}",
    ),
    ("background", "id+en", "neutral"): (
        "{b} vs {o}, which one lebih murah buat daily commute dari {area}?",
        "lagi decide mau order {food} via {b} or masak sendiri {laugh}",
        "anyone tau kenapa {b} app nya minta update terus? udah {n_updates}x {day}",
    ),
    # ---------------------------------------------------------------- a little Javanese and Sundanese
    ("background", "jv", "negative"): (
        "{b} ki piye to, pesenanku durung teko wis {mins} menit {emo_neg}",
        "{b} saiki larang tenan, ongkire ra masuk akal",
        "driver {b} ra iso dihubungi, pesenanku ilang ngono wae",
        "kok suwe men to {b}, {food} ku wis adem",
    ),
    ("background", "jv", "positive"): (
        "matur nuwun mas driver {b}, {food} e isih anget 🙏",
        "{b} cepet tenan, ora nganti {mins_fast} menit wis teko {emo_pos}",
        "enak tenan promo {b} dino iki {emo_pos}",
    ),
    ("background", "jv", "neutral"): (
        "{b} opo {o} sing luwih murah nek nang {area}?",
        "lagi ngenteni {food} seko {b}",
    ),
    ("background", "su", "negative"): (
        "{b} mah lami pisan, tos {mins} menit teu dongkap keneh {emo_neg}",
        "ongkir {b} ayeuna mahal pisan, asa teu kabeuli",
        "naha {b} sok dibatalkeun wae pesenan abdi",
    ),
    ("background", "su", "positive"): (
        "hatur nuhun akang driver {b}, gancang pisan 🙏",
        "{b} mah mantap, {food} na masih haneut keneh {emo_pos}",
    ),
    ("background", "su", "neutral"): (
        "aya nu terang promo {food} di {b} dinten ieu teu?",
    ),
    # ---------------------------------------------------------------- the outage
    ("outage", "id", "negative"): (
        "{b} down ya? dari tadi gak bisa pesen {emo_neg}",
        "pesanan {gue} di {b} nyangkut di 'mencari driver' udah {mins} menit",
        "{b} error lagi, saldo udah kepotong tapi order gak masuk {emo_neg} {care}",
        "udah {hrs} jam {food} gak nyampe-nyampe, statusnya masih 'diproses'. {b} kenapa ini",
        "satu kantor di {area} pesen makan siang lewat {b}, gak ada satu pun yang nyampe {laugh}",
        "{driver} {b} bilang sistemnya lagi error jadi gak bisa ambil pesanan. terus {food} {gue} gimana",
        "ini {b} lagi gangguan ya? {food} {gue} gak dateng-dateng padahal udah bayar",
        "gara-gara {b} error {gue} gak makan siang {emo_neg} refundnya kapan??",
        "{b} kok gak bisa dibuka sama sekali? muncul 'terjadi kesalahan' terus",
        "pesanan {b} {gue} tiba-tiba dibatalin sistem, uang belum balik {emo_neg}",
        "ternyata bukan cuma {gue} yang pesanannya gak nyampe. {b} lagi kenapa sih",
        "{b} tolong kasih info dong, ini gangguan sampai jam berapa? laper {bgt}",
        "udah 3x order di {b} siang ini, semua gagal. kapok {emo_neg}",
        "{driver} {b} udah nyampe resto tapi pesanan gak muncul di sistem resto. kacau",
        "{b} parah, {food} pesanan jam {hour} sampe sekarang belum dateng {emo_neg}",
        "map {b} nunjukin driver diem di {area} dari sejam lalu {emo_neg}",
        "yang pesen {b} di {area} juga gak nyampe? apa cuma di tempat {gue}",
        "resto langganan {gue} di {area} bilang orderan {b} lagi numpuk gak ada yang ambil",
        "#KiriminDown beneran deh, dari jam 11 gak bisa order {food} sama sekali",
        "kalo sistemnya error mending tutup dulu {b}, jangan terima order terus dibatalin {emo_neg}",
        "{food} {gue} udah dibayar, drivernya gak ada, CS {b} gak bisa dihubungi. lengkap {emo_neg}",
    ),
    ("outage", "en", "negative"): (
        "{b} app down for anyone else in Jakarta? orders stuck since noon",
        "my {b} order has been 'on the way' for {hrs} hours. the driver hasn't moved on the map {emo_neg}",
        "lunch order via {b} never arrived and now I can't even open the app. great.",
        "{b} outage right now?? payment went through but no order {emo_neg}",
        "is {b} down? getting an error on every order in {area}",
        "the whole office ordered lunch on {b} and nothing showed up. {hrs} hours later still nothing",
        "{b} just cancelled my order after an hour of 'finding driver'. still charged {emo_neg}",
        "{b} please at least post a status update. people are starving out here {care}",
        "{nth} failed order on {b} today. switching to {o} for tonight",
    ),
    ("outage", "id+en", "negative"): (
        "{b} lagi down ya? order {gue} stuck di 'finding driver' for {mins} mins {emo_neg}",
        "literally semua orang di kantor order {b} dan gak ada yang nyampe {laugh}",
        "{b} please, refund dulu lah kalo system lagi error {emo_neg}",
        "so {b} is down and {gue} belum makan dari pagi. nice {emo_neg}",
    ),
    # ---------------------------------------------------------------- the price complaints
    ("price", "id", "negative"): (
        "biaya layanan {b} naik lagi?? sekarang {fee_new}, kemarin masih {fee_old} {emo_neg}",
        "pesen {food} harga {price} tapi total bayar {total} gara-gara biaya layanan {b}. "
        "mending masak sendiri",
        "{b} naikin biaya aplikasi diem-diem, gak ada pengumuman apa-apa {emo_neg}",
        "fix uninstall {b}, ongkir + biaya layanan udah lebih mahal dari makanannya",
        "yang bilang {b} murah coba cek lagi deh, biaya layanannya sekarang {fee_new}",
        "{b} kok jadi mahal {bgt} sih, total {total} cuma buat {food} doang {emo_neg}",
        "harga naik, promo ilang, {b} maunya apa sih {emo_neg}",
        "kata {driver} {b} yang nganter tadi, biaya aplikasinya naik tapi pendapatan mereka gak naik. kasian",
        "biaya layanan {fee_new} per order tuh gak masuk akal {b}. sebulan bisa ratusan ribu sendiri",
        "baru sadar {b} sekarang ada biaya pemesanan kecil juga. double kena {emo_neg}",
        "bye {b}, pindah ke {o} aja yang biaya layanannya masih wajar",
        "checkout di {b} kaget liat rinciannya. ongkir {ongkir}, biaya layanan {fee_new}. buat apa aja sih",
        "{b} tolong dijelasin kenapa biaya layanan jadi {fee_new}? {care}",
        "dulu pake {b} karena murah. sekarang alasannya udah gak ada {emo_neg}",
        "pesen es teh doang di {b} totalnya {total} {laugh} sakit",
    ),
    ("price", "en", "negative"): (
        "{b} service fee went from {fee_old} to {fee_new} overnight. on a {price} order that's wild",
        "switching from {b} to {o}, the new fees just aren't worth it",
        "{b} quietly raised its service fee and didn't tell anyone {emo_neg}",
        "paid {total} for one {food_en} on {b}. the fees are now more than the food",
        "anyone else notice {b} got way more expensive this week? my usual {food_en} is now {total}",
        "{b} fees are getting out of hand. deleting the app",
    ),
    ("price", "id+en", "negative"): (
        "{b} fee naik jadi {fee_new}?? that's literally harga es teh {laugh}",
        "not {b} naikin service fee pas tanggal tua {emo_neg}",
        "honestly udah gak worth it pake {b}, fees nya too much",
    ),
    ("price", "jv", "negative"): (
        "{b} saiki larang pol, biaya layanane {fee_new} {emo_neg}",
    ),
    ("price", "id", "neutral"): (
        "sebenernya biaya layanan {b} {fee_new} masih lebih murah dari {o} sih kalo diitung-itung",
        "biaya layanan {b} naik jadi {fee_new} mulai minggu ini, jangan kaget pas checkout ya",
    ),
    ("price", "en", "neutral"): (
        "{b} service fee is now {fee_new} per order, just FYI if you're budgeting",
    ),
    # ---------------------------------------------------------------- the product buzz
    ("buzz", "id", "positive"): (
        "baru langganan {prod}, gratis ongkir sebulan cuma {plus_price}. worth it {bgt} {emo_pos}",
        "{prod} beneran penyelamat anak kos {laugh} {emo_pos}",
        "ok {prod} ternyata worth it, minggu ini udah hemat {saving} {emo_pos}",
        "cobain {prod} hari pertama, ongkirnya nol semua {emo_pos}",
        "akhirnya {b} punya langganan kayak {o}, dan lebih murah {emo_pos}",
        "langsung daftar {prod} begitu liat harganya {plus_price}. pesen {food} jadi gak mikir ongkir lagi",
        "{prod} + promo merchant = makan enak pas tanggal tua {laugh}",
        "salut sama {b}, {prod} bener-bener gratis ongkir tanpa syarat aneh-aneh {emo_pos}",
        "yang masih mikir-mikir, {prod} tuh balik modal cuma dari 3x order {emo_pos}",
        "suka {bgt} sama {prod}, tiap order ada tulisan 'kamu hemat {ongkir}' {laugh}",
    ),
    ("buzz", "en", "positive"): (
        "just subscribed to {prod}, free delivery on everything for {plus_price} a month. love it {emo_pos}",
        "{prod} is the best thing {b} has done honestly",
        "did the math, {prod} pays for itself after three orders {emo_pos}",
        "{prod} launch went smoother than expected, free delivery applied right away {emo_pos}",
        "ok {prod} is actually great. {o} needs to catch up",
    ),
    ("buzz", "id+en", "positive"): (
        "{prod} is so worth it, ongkir gratis terus {emo_pos}",
        "honestly {prod} bikin {gue} makin boros {laugh} but worth it",
    ),
    ("buzz", "id", "neutral"): (
        "{prod} itu gratis ongkirnya berlaku buat semua resto atau cuma yang tertentu?",
        "{prod} {plus_price} sebulan, worth it gak sih buat yang jarang order?",
    ),
    ("buzz", "en", "neutral"): (
        "is {prod} available outside Jakarta yet?",
    ),
}

REDDIT_TITLES: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("background", "id"): ("{b} vs {o} buat yang tinggal di {city}?", "Pengalaman pake {b} seminggu terakhir",
                           "Rant: {b} lagi", "[Diskusi] Aplikasi antar makanan paling reliable sekarang apa?",
                           "Ada yang kerja jadi driver {b} di {city}?"),
    ("background", "en"): ("Is {b} worth it in {city}?", "{b} or {o} for a newcomer in {city}?",
                           "PSA about {b} refunds"),
    ("outage", "id"): ("{b} down di Jakarta?", "{b} gangguan, pesanan gak nyampe",
                       "Ada yang kena juga? {b} siang ini"),
    ("outage", "en"): ("Is {b} down for everyone?", "{b} outage in Jakarta right now"),
    ("price", "id"): ("{b} naikin biaya layanan jadi {fee_new}", "Masih worth it pake {b} sekarang?"),
    ("price", "en"): ("{b} fee increase, anyone else switching?", "{b} just got a lot more expensive"),
    ("buzz", "id"): ("{prod} worth it gak?", "Review jujur {prod} setelah seminggu"),
    ("buzz", "en"): ("Thoughts on {prod}?", "{prod} first impressions"),
}

CARE_REPLIES: tuple[str, ...] = (
    "{greet}, mohon maaf atas ketidaknyamanannya 🙏 Saat ini sedang ada kendala sistem di area Jakarta dan "
    "tim kami sedang menanganinya. Pesanan yang gagal akan dikembalikan otomatis ke saldo ya, Kak. {sign}",
    "{greet}, kami mohon maaf pesanannya belum sampai. Ada gangguan layanan di wilayah Jabodetabek siang "
    "ini, mohon ditunggu update dari kami. {sign}",
    "{greet}, terima kasih sudah menghubungi kami. Gangguan sedang dalam penanganan, dana untuk pesanan yang "
    "dibatalkan akan kembali maksimal 1x24 jam. {sign}",
    "{greet}, boleh dibantu kirimkan nomor pesanannya via DM? Kami cek segera ya. {sign}",
)
CARE_GREETINGS = ("Hai Kak", "Halo Kak", "Hai Kak {first}", "Halo Kak {first}", "Mohon maaf Kak")
CARE_SIGNS = ("-Rina", "-Dimas", "-Ayu", "-Bima", "-Sekar", "^NS", "^AR")

NEWS: Mapping[tuple[str, str], tuple[tuple[str, str, str], ...]] = {
    # (title, body, sentiment)
    ("background", "id"): (
        ("{b} Perluas Layanan ke {n_cities} Kota Baru",
         "{b} menambah jangkauan layanan antar makanan dan kurir ke {n_cities} kota baru mulai bulan ini. "
         "Perusahaan menyebut permintaan di luar Jawa terus tumbuh.", "neutral"),
        ("Persaingan Layanan Antar Makanan Makin Ketat, {b} dan {o} Adu Promo",
         "{b} dan {o} sama-sama menggelar potongan ongkir menjelang akhir tahun. Pengamat menilai perang "
         "promo belum akan berhenti dalam waktu dekat.", "neutral"),
        ("{b} Gandeng UMKM Kuliner di {city}",
         "{b} bekerja sama dengan ratusan pelaku UMKM kuliner di {city} untuk masuk ke aplikasinya. "
         "Program ini menawarkan komisi lebih rendah selama tiga bulan pertama.", "positive"),
        ("Survei: Ongkir Jadi Pertimbangan Utama Konsumen Pilih Aplikasi",
         "Survei terhadap 1.200 responden di {city} menunjukkan ongkos kirim menjadi alasan utama memilih "
         "antara {b} dan {o}, disusul kecepatan pengantaran.", "neutral"),
        ("Mitra Pengemudi {b} di {city} Keluhkan Skema Insentif Baru",
         "Sejumlah mitra pengemudi {b} di {city} menyampaikan keberatan atas perubahan skema insentif harian "
         "yang dinilai menurunkan pendapatan.", "negative"),
    ),
    ("background", "en"): (
        ("{b} expands to {n_cities} more Indonesian cities",
         "{b} said it will bring food delivery and courier services to {n_cities} additional cities, "
         "betting on demand outside Java.", "neutral"),
        ("Food delivery price war heats up between {b} and {o}",
         "Both apps are offering steep delivery discounts ahead of the holidays, squeezing margins across "
         "the sector.", "neutral"),
    ),
    ("outage", "id"): (
        ("Layanan {b} Gangguan, Pesanan Pelanggan di Jakarta Tak Kunjung Tiba",
         "Sejumlah pengguna {b} di Jakarta mengeluhkan pesanan makanan yang tidak kunjung sampai pada "
         "{weekday} siang. Keluhan ramai di media sosial sejak sekitar pukul 11.30 WIB. Pihak {b} "
         "menyatakan gangguan sistem sedang ditangani dan dana pesanan yang gagal akan dikembalikan.",
         "negative"),
        ("{b} Akui Gangguan Sistem, Pesanan di Jabodetabek Tertunda Berjam-jam",
         "{b} membenarkan adanya gangguan sistem yang membuat banyak pesanan di Jabodetabek tertunda pada "
         "{weekday}. Perusahaan meminta maaf dan menjanjikan pengembalian dana otomatis.", "negative"),
    ),
    ("outage", "en"): (
        ("{b} outage leaves Jakarta customers without lunch",
         "Customers of delivery app {b} across Greater Jakarta reported orders stuck for hours on "
         "{weekday_en}. The company blamed a system fault and promised automatic refunds.", "negative"),
    ),
    ("price", "id"): (
        ("{b} Naikkan Biaya Layanan Jadi Rp4.500, Konsumen Protes",
         "Aplikasi {b} mulai menerapkan biaya layanan baru sebesar Rp4.500 per transaksi, naik dari "
         "sebelumnya Rp2.000. Kenaikan ini memicu keluhan di media sosial, sejumlah pengguna mengaku beralih "
         "ke aplikasi lain.", "negative"),
        ("Biaya Layanan {b} Naik, Pengamat: Konsumen Sensitif Harga",
         "Kenaikan biaya layanan {b} menjadi Rp4.500 dinilai berisiko menggerus loyalitas pengguna di tengah "
         "persaingan dengan {o}.", "negative"),
    ),
    ("price", "en"): (
        ("{b} raises service fee to Rp4,500, users push back",
         "{b} more than doubled its per-order service fee this week. Complaints quickly spread on social "
         "media, with some users saying they would switch to {o}.", "negative"),
    ),
    ("buzz", "id"): (
        ("{b} Luncurkan {prod}, Langganan Gratis Ongkir Rp29 Ribu per Bulan",
         "{b} resmi meluncurkan layanan berlangganan {prod} seharga Rp29.000 per bulan dengan gratis ongkir "
         "tanpa batas untuk jarak hingga 5 km. Layanan ini tersedia di Jakarta, Surabaya, Bandung, dan "
         "Medan.",
         "positive"),
    ),
    ("buzz", "en"): (
        ("{b} launches {prod}, a Rp29,000 monthly free-delivery pass",
         "{b} is betting on subscriptions: {prod} waives delivery fees on orders within 5 km. Early user "
         "reactions have been largely positive.", "positive"),
    ),
}

NEWS_EXTRA: Mapping[str, tuple[str, ...]] = {
    "id": ("Hingga berita ini diturunkan, {o} belum memberikan tanggapan.",
           "Pengamat ekonomi digital menilai persaingan di sektor ini akan makin ketat tahun depan.",
           "Menurut perusahaan, jumlah transaksi di {city} tumbuh {pct} persen dibanding tahun lalu.",
           "Warganet pun ramai membandingkan layanan {b} dengan {o}.",
           "Perusahaan belum merinci jumlah pengguna yang terdampak."),
    "en": ("{o} did not respond to a request for comment.",
           "Analysts expect competition in the sector to intensify next year.",
           "Transactions in {city} grew {pct} percent year on year, according to the company.",
           "The company did not say how many users were affected."),
}

CAMPAIGN_CODE = "GCMAKAN50"
CAMPAIGN_CALLS = ("Buruan sebelum kehabisan!", "Buruan sebelum kuota habis!", "Yuk buruan sebelum kehabisan!")
TAGS_ID = ("#kuliner", "#anakkos", "#jajan", "#makansiang", "#ojol", "#tanggaltua")
TAGS_EN = ("#jakarta", "#foodie", "#indonesia")
# Openers people put in front of a post, by language and mood (mood-neutral, so labels stay true).
OPENERS: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("id", "negative"): ("duh ", "astaga ", "ya ampun ", "hadeh ", "sumpah ", "kesel {bgt}. ", "capek. ",
                         "haduh ", "yaelah "),
    ("id", "positive"): ("wah ", "asik ", "yeay ", "alhamdulillah ", "seneng {bgt}, ", "gila sih, "),
    ("id", "neutral"): ("guys ", "btw ", "eh ", "nanya dong, ", "hmm ", "temen-temen, "),
    ("en", "negative"): ("ugh. ", "wow. ", "seriously, ", "not again. ", "unbelievable. "),
    ("en", "positive"): ("ok ", "wow ", "honestly ", "big thanks: ", "happy customer here: "),
    ("en", "neutral"): ("quick question: ", "hey ", "random q: ", "genuine question, "),
}

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
        first, last = rng.choice(FIRST_NAMES_EN), rng.choice(LAST_NAMES_EN)
        tag = rng.choice(BIO_TAGS_EN)
    else:
        first, last = rng.choice(FIRST_NAMES_ID), rng.choice(LAST_NAMES_ID)
        tag = rng.choice(BIO_TAGS_ID)
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
        handle = f"{first}{rng.choice(HANDLE_WORDS_ID)}"
    elif pattern == 4:
        handle = f"{rng.choice(HANDLE_WORDS_ID)}_{first}"
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

    location = "" if fresh or rng.random() < 0.22 else rng.choice(PROFILE_LOCATIONS[city])
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
            value = rng.choice(SLOTS[key])
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
        area_pool = AREAS.get(city, AREAS["Jakarta"])
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
            "food": r.choice(FOOD_ID),
            "food_en": r.choice(FOOD_EN),
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
        openers = OPENERS.get(("en" if lang == "en" else "id", sentiment))
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
        options = [t for t in TEMPLATES[(story, lang, sentiment)] if t != avoid]
        template = self.rng.choice(options or TEMPLATES[(story, lang, sentiment)])
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
        if (story, lang, sentiment) not in TEMPLATES:
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
                title = _tidy(_fill(r.choice(REDDIT_TITLES[key]), r, ctx))
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
        title_t, body_t, sentiment = r.choice(NEWS[(story, lang)])
        ctx["pct"] = str(r.randrange(8, 46))
        title, body = _tidy(_fill(title_t, r, ctx)), _tidy(_fill(body_t, r, ctx))
        if r.random() < 0.6:
            body = f"{body} {_fill(r.choice(NEWS_EXTRA[lang]), r, ctx)}"
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
            "greet": r.choice(CARE_GREETINGS), "sign": r.choice(CARE_SIGNS),
            "first": r.choice(FIRST_NAMES_ID).title(),
        }
        text = _tidy(_fill(r.choice(CARE_REPLIES), r, ctx))
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
