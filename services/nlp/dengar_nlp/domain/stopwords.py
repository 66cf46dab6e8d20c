"""English and Indonesian stop words for keyword extraction (hand-written for Dengar).

Indonesian includes the informal spellings and fillers that dominate posts ("yg", "gak", "aja",
"nya", "sih", "wkwk"), because c-TF-IDF would otherwise label every Indonesian topic with them.
Social-media noise tokens (rt, amp, http) are a third list.  Everything is lower case; match against
lower-cased tokens.
"""

from __future__ import annotations

ENGLISH: frozenset[str] = frozenset(
    """
a about above after again against all almost also although always am among an and another any anybody
anyone anything anyway are aren't around as at away be became because become been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't done down
during each either else enough even ever every everyone everything few for from further get gets
getting got gotta gonna had hadn't has hasn't have haven't having he he'd he'll he's her here here's
hers herself him himself his how how's however i i'd i'll i'm i've if in into is isn't it it's its
itself just least less let let's like likely made make many may maybe me might mine more most much
must mustn't my myself neither never no nobody none nor not nothing now of off often oh ok okay on
once one only or other others otherwise ought our ours ourselves out over own perhaps quite rather
really said same say says see seem seems shall shan't she she'd she'll she's should shouldn't since
so some somebody someone something sometimes still such than that that's the their theirs them
themselves then there there's these they they'd they'll they're they've thing things this those
though through thus to too toward towards under until up upon us very via was wasn't way we we'd
we'll we're we've well were weren't what what's whatever when when's where where's whether which
while who who's whoever whom whose why why's will with within without won't would wouldn't yeah yes
yet you you'd you'll you're you've your yours yourself yourselves u ur im dont cant wont didnt doesnt
isnt thats ive youre theyre lol lmao omg pls plz thx tho
""".split()
)

INDONESIAN: frozenset[str] = frozenset(
    """
ada adalah adanya agak agar akan akhirnya aku akulah amat amatlah anda andalah antara apa apaan
apabila apakah apalagi apatah atau ataukah ataupun bagai bagaimana bagaimanakah bagaimanapun bagi
bahkan bahwa bahwasanya baik bakal banyak barangkali baru bawah beberapa begini beginian begitu
begitupun belum belumlah benar berapa berbagai beri berikan berikut berkata bersama besar betul
biasa biasanya bila bilakah bisa bisakah boleh bolehkah buat bukan bukankah bukanlah bukannya
cuma dahulu dalam dan dapat dari daripada datang demi demikian dengan depan di dia diakah dialah
diantara diri dirinya disini disitu dong dulu enggak gak ga gk ngga nggak engga harus hal hampir
hanya hanyalah hari harus hendak hingga ia ialah ibarat ikut ini inikah inilah itu itukah itulah
jadi jangan jangankan janganlah jika jikalau juga justru kalau kalaulah kalian kami kamilah kamu
kamulah kan kapan kapankah karena karenanya kata ke kebetulan kecil kemudian kenapa kepada kepadanya
ketika khususnya kini kinilah kira kita kitalah kok lagi lagian lah lain lainnya lalu lama lamanya
lebih lewat maka makin malah malahan mampu mana manakala manalagi masa masih masing mau maupun
melainkan melalui memang mengapa mereka merekalah meski meskipun mungkin mungkinkah nah namun nanti
nantinya nya oleh olehnya pada padahal padanya paling pasti per pernah pula pun punya saat saja
sajalah saling sama sambil sampai sana sangat sangatlah saya sayalah se sebab sebagai sebagaimana
sebagian sebaliknya sebelum sebelumnya sebenarnya secara sedang sedangkan sedikit segala sehingga
sejak sekadar sekali sekalian sekarang sekitar selain selalu selama seluruh semakin semua semuanya
sendiri sendirinya seperti sering serta sesudah setelah setiap siapa siapakah sini situ suatu sudah
sudahlah supaya tadi tahu tak tanpa tapi telah tentang tentu tentunya terhadap terlalu termasuk
terus tetapi tiap tidak tidakkah tidaklah toh untuk waduh wah walau walaupun ya yaitu yakni yang
yg dgn dg utk tdk tdk sdh blm krn jg aja ajah aj udah udh dah sih si deh dehh kok kan kayak kyk
kaya kayaknya emang emg gitu gini gimana gmn gmna banget bgt bngt bener beneran nih tuh tu ni gue
gua gw lu lo loe elu elo km kmu sy ak aq klo kalo kl trs terus jd jgn tp tpi pake pakai sama sm
doang dong dunk lho loh mah mah kah pun lah nya nyaa ama ntar entar nanti bikin sampe ampe cuman
cuma kek kok yaa yah iya iyaa oke ok okey sip wkwk wkwkwk wkwkwkwk wk haha hahaha hehe hihi huhu
anjir anjay btw bro sis gan kak min mimin admin
""".split()
)

SOCIAL: frozenset[str] = frozenset("rt amp http https www com co id html via cc dm".split())

ALL: frozenset[str] = ENGLISH | INDONESIAN | SOCIAL


def is_stopword(token: str) -> bool:
    """Whether a lower-cased token is a stop word in English, Indonesian or social-media noise."""
    return token in ALL
