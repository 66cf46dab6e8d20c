"""English and Indonesian stop words: one module for the term drivers and the topic labels.

Two sets, one source (the topics code moved here from the nlp service with its longer list, which
became ``LABEL_ONLY``; nlp keeps no copy):

* ``STOPWORDS`` (+ ``PHRASE_WORDS``) serve the term drivers and are small on purpose. Negations and
  a few complaint-bearing function words ("belum", "tidak", "gak", "sampai", "not", "never") are
  *phrase words*: no driver on their own, but they may form two-word phrases, so that "belum
  sampai" or "not delivered" can surface. Words such as "lama" (slow), "banyak" (many)
  or "kecil" may be a driver's signal, so they stay out of this set.
* ``LABEL_STOPWORDS`` serve topic labels (c-TF-IDF keywords, ``topics.py``): everything above plus
  ``LABEL_ONLY`` (formal Indonesian function words, slang fillers and English contractions), since
  a label wants content words only and never a phrase.

Everything is lower case; match against lower-cased tokens.
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

# Function words and fillers that are noise in a topic label but stay possible drivers (see above).
LABEL_ONLY: frozenset[str] = frozenset("""
adanya agak aj ajah ak akhirnya akulah almost although always amat amatlah among ampe andalah anjay
anjir another antara anybody anyone anything anyway apaan apabila apalagi apatah aq aren't ataukah
ataupun away bagai bagaimanakah bagaimanapun bahwasanya baik bakal banyak barangkali bawah became
become begini beginian begitupun belumlah benar bener beneran berapa berbagai beri berikan berikut
berkata bersama besar betul biasa biasanya bila bilakah bisakah blm bngt boleh bolehkah bukankah
bukanlah bukannya can't couldn't cuman dahulu dapat daripada datang dehh demi demikian depan dg
diakah dialah diantara didn't diri dirinya disini disitu doesn't don't dunk either elo else elu emg
enough entar everyone everything few getting gmn gmna gonna gotta gua hadn't hal hampir hanyalah
hasn't haven't he'd he'll he's hendak here's herself hihi himself hingga how's however huhu i'd i'll
i'm i've ia ialah ibarat id ikut inikah inilah isn't it's itukah itulah iyaa jangankan janganlah jgn
jika jikalau justru kalaulah kalian kamilah kamulah kapan kapankah karenanya kata kaya kayaknya
kebetulan kecil kemudian kenapa kepada kepadanya ketika khususnya kini kinilah kira kitalah kl kmu
lagian lain lainnya lalu lama lamanya least lebih less let let's lewat likely loe made make makin
malah malahan mampu mana manakala manalagi many masa masing maupun may maybe melainkan melalui
memang mengapa merekalah meski meskipun might mimin mine mungkin mungkinkah must mustn't nah namun
nantinya neither ni nobody none nor nyaa often okey olehnya others otherwise ought ourselves padahal
padanya pakai paling pasti per perhaps pernah pula punya quite rather said sajalah saling sambil
sampe sana sangat sangatlah say sayalah says sebab sebagaimana sebagian sebaliknya sebelum
sebelumnya sebenarnya secara sedangkan sedikit see seem seems segala sehingga sejak sekadar sekalian
sekitar selain selalu selama seluruh semakin semua semuanya sendiri sendirinya sering serta sesudah
setelah setiap shall shan't she'd she'll she's shouldn't si siapa siapakah since sini situ somebody
someone something sometimes suatu sudahlah supaya tadi tahu tdk telah tentang tentu tentunya
terhadap terlalu termasuk terus that's themselves there's they'd they'll they're they've theyre
thing things though thus tiap tidakkah tidaklah toh toward towards tu upon us waduh wah walau
walaupun wasn't way we'd we'll we're we've well weren't what's whatever when's where's whether who's
whoever whose why's within without wk wkwkwkwk won't wouldn't yaitu yakni yet you'd you'll you're
you've yourselves
""".split())

LABEL_STOPWORDS: frozenset[str] = STOPWORDS | PHRASE_WORDS | LABEL_ONLY


def is_stopword(token: str) -> bool:
    """Whether a normalised token is no driver and may not be part of a phrase either."""
    return token in STOPWORDS


def is_content_word(token: str) -> bool:
    """Whether a normalised token may be a one-word driver."""
    return token not in STOPWORDS and token not in PHRASE_WORDS and len(token) > 1 \
        and not token.isdigit()


def is_label_stopword(token: str) -> bool:
    """Whether a lower-cased token may not be a topic keyword."""
    return token in LABEL_STOPWORDS
