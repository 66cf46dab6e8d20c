"""English and Indonesian stop words for the term drivers (insights' own list).

Insights may not import the nlp service, whose list (dengar_nlp.domain.stopwords) serves topic
labels; this one is smaller on purpose and differs in one way that matters for explaining spikes:
negations and a few complaint-bearing function words ("belum", "tidak", "gak", "sampai", "not",
"never") are *phrase words*. They are no driver on their own, but they may form two-word phrases,
so that "belum sampai" or "not delivered" can surface. A later cleanup can move a shared core to
libs/dengar_common.
"""

from __future__ import annotations

ENGLISH: frozenset[str] = frozenset("""
a about above after again against all also am an and any are around as at be because been before
being below between both but by can could did do does doing done down during each even ever every
for from further get gets got had has have having he her here hers him his how i if in into is it
its itself just me more most much my myself now of off on once only or other our ours out over own
same she should so some such than that the their theirs them then there these they this those
through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself u ur im ive youre thats its lol lmao omg pls plz thx tho yeah yes ok
okay oh really like one still already today
""".split())

INDONESIAN: frozenset[str] = frozenset("""
ada adalah agar akan aku anda apa apakah atau bagaimana bagi bahwa bahkan baru beberapa begitu
bisa buat cuma dalam dan dari dengan di dia dong dulu hanya harus hari ini itu jadi juga kalau
kami kamu karena ke kita kok lagi lah mau maka masih mereka nya oleh pada para pun saat saja
saya se sebagai sedang sekali sekarang seperti sih sudah tapi tetapi untuk ya yang yg dgn utk
sdh krn jg aja udah udh dah deh kan kayak kyk emang gitu gini gimana banget bgt nih tuh gue gw
lu lo km sy klo kalo trs jd tp tpi pake sama sm doang lho loh mah kah ama ntar nanti bikin kek
yaa yah iya oke sip wkwk wkwkwk haha hahaha hehe btw bro sis gan kak min admin
""".split())

SOCIAL: frozenset[str] = frozenset("rt amp http https www com co html via cc dm".split())

# Not drivers alone, but allowed inside a two-word phrase ("belum sampai", "not delivered").
PHRASE_WORDS: frozenset[str] = frozenset("""
not no never nothing cannot cant dont didnt doesnt wont isnt
belum tidak tak gak ga gk nggak ngga enggak engga bukan sampai tanpa jangan
""".split())

STOPWORDS: frozenset[str] = ENGLISH | INDONESIAN | SOCIAL


def is_stopword(token: str) -> bool:
    """Whether a normalised token is no driver and may not be part of a phrase either."""
    return token in STOPWORDS


def is_content_word(token: str) -> bool:
    """Whether a normalised token may be a one-word driver."""
    return token not in STOPWORDS and token not in PHRASE_WORDS and len(token) > 1 \
        and not token.isdigit()
