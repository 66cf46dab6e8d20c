"""Train the hashed char-n-gram language-id model and export it to ONNX.

    .venv/bin/python services/nlp/scripts/train_langid.py --data /work/shared/data \
        --out services/nlp/models/langid

Training data (all from ``--data``, nothing is copied into the repo):
  en  TweetEval sentiment + emotion train, NusaX English train
  id  IndoNLU SmSA, CASA, HoASA train, NusaX Indonesian train
  jv, su and the eight other NusaX languages: NusaX train (500 sentences each)
Every sentence is also used as a few random word windows (1-8 words) so that the model sees
post-sized inputs; small classes get more windows.

Validation: NusaX valid (every language), SmSA valid, TweetEval sentiment val; each full and cut to
its first 8 and first 3 words.  Malay, "foreign Latin-script" and slang-heavy informal posts have no
shared data: they are measured on the small hand-written lists below, which say little beyond "the
rules do what they say".  ``--eval-only`` re-validates the model already in ``--out`` after a change
to the runtime rules in ``dengar_nlp.domain.langid``.

Writes ``langid.onnx`` (inputs ``ids`` int64 [N, L] and ``values`` float32 [N, L], output ``probs``
float32 [N, C]; weights stored as float16), ``langid.json`` (labels, hashing space, metrics) and
prints a per-language report.  scikit-learn, scipy and onnx are needed here, not at run time.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dengar_nlp.domain.langid import (  # noqa: E402
    FIRST_CLASS,
    OTHER,
    LanguageIdentifier,
    clean_for_langid,
    featurize,
)

logger = logging.getLogger("train_langid")

NUSAX = {
    "english": "en",
    "indonesian": "id",
    "javanese": "jv",
    "sundanese": "su",
    "minangkabau": "min",
    "balinese": "ban",
    "acehnese": "ace",
    "banjarese": "bjn",
    "buginese": "bug",
    "madurese": "mad",
    "ngaju": "nij",
    "toba_batak": "bbc",
}
N_BUCKETS = 1 << 17
SEED = 13
MAX_EN = 20000

# Hand-written Malaysian Malay posts (not from any dataset).  Used only for evaluation of the Malay
# lexicon rule; there is no Malay training data.
MALAY_EVAL = [
    "jom lepak mamak malam ni, aku belanja teh tarik",
    "kerajaan patut beri bantuan kepada rakyat yang terjejas banjir",
    "awak dah makan ke belum?",
    "aku tak faham kenapa harga minyak naik lagi",
    "kereta aku rosak kat tengah jalan, penat betul hari ni",
    "saya mahu tanya pasal cuti sekolah bulan depan",
    "korang dah tengok filem baru tu? best gila",
    "pejabat pos tutup awal hari jumaat",
    "terima kasih kerana sudi membantu saya semalam",
    "kedai tu jual nasi lemak sedap, harga pun murah je",
    "polis sedang menyiasat kes kemalangan di lebuh raya",
    "esok aku kena pergi hospital untuk rawatan",
    "syarikat itu akan mengumumkan keputusan kewangan minggu depan",
    "nak pergi mana petang ni?",
    "tak payah risau, semua dah settle",
    "wang saku budak sekolah sekarang mahal betul",
    "boleh tak awak tolong hantar dokumen ni ke jabatan?",
    "macam mana nak daftar akaun baru?",
    "universiti tempatan perlu meningkatkan kualiti penyelidikan",
    "takde siapa yang tahu apa jadi semalam",
    "bas lambat lagi, dah sejam aku tunggu",
    "diorang cakap servis dia teruk sangat",
    "percuma penghantaran untuk pesanan atas RM50",
    "mesyuarat ditangguhkan ke hari khamis",
    "seronok gila dapat jumpa kawan lama",
    "aku nak beli telefon baru tapi duit tak cukup",
    "sebab apa dia marah sangat?",
    "encik, boleh saya dapatkan maklumat lanjut?",
    "kenderaan berat dilarang masuk ke bandar",
    "bilik hotel tu kecil tapi bersih",
]
# Hand-written informal posts (Jakarta slang, Javanese and Sundanese chat), to check that the
# slang boost helps Indonesian without pulling regional-language chat into "id".  Written after the
# slang list, so this is a sanity check, not an independent measurement.
INFORMAL_EVAL = [
    ("id", "duh gue telat lagi gara2 ojol nya muter2"),
    ("id", "sumpah ini film bikin baper parah"),
    ("id", "lu udah makan belom? gue laper bgt"),
    ("id", "mager bgt mau ke kantor hari ini"),
    ("id", "wkwkwk kocak abis sih admin nya"),
    ("id", "gimana sih kok aplikasinya error mulu"),
    ("id", "anjay keren bener konsernya semalem"),
    ("id", "kepo deh lo sama urusan orang"),
    ("id", "otw bandara, doain gak ketinggalan pesawat"),
    ("id", "kalo promo kayak gini mah gas terus"),
    ("id", "nyokap gue marah gara2 paket nya nyasar"),
    ("id", "gabut nih, ada rekomendasi series gak?"),
    ("id", "santuy aja bro, ntar juga beres"),
    ("id", "ongkirnya mahal amat, gak jadi checkout deh"),
    ("id", "kurirnya ramah banget, paketnya juga aman"),
    ("id", "lagi nunggu antrian, lama bener"),
    ("id", "jangan lupa bahagia ya guys"),
    ("id", "udah transfer tapi saldo belum masuk juga"),
    ("id", "semoga cepet sembuh ya kak"),
    ("id", "gue gak ngerti kenapa harga naik terus"),
    ("jv", "aku wis tekan omah, kowe neng endi?"),
    ("jv", "ojo lali mangan yo cah"),
    ("jv", "sing sabar yo, kabeh bakal apik"),
    ("jv", "iki piye to, kok ora iso mbayar"),
    ("jv", "matur nuwun sanget mas, mugi lancar"),
    ("jv", "wes suwe ora ketemu konco lawas"),
    ("jv", "ngopi sik ben ora ngantuk"),
    ("jv", "udane deres banget, aku ora sido metu"),
    ("su", "abdi teu acan tuang ti enjing"),
    ("su", "punten, ieu jalan ka pasar palih mana?"),
    ("su", "hatur nuhun pisan kang kana bantosanna"),
    ("su", "urang mah teu resep kana kopi pait"),
    ("su", "kumaha damang? tos lami teu patepang"),
    ("su", "hayu atuh urang ameng ka bandung"),
    ("su", "ulah hilap nyandak payung, hujan gede"),
    ("su", "sok atuh dahar heula bari nyantai"),
]

# Frequent words of Latin-script languages that have no shared data (hand-written).  Random word
# strings drawn from them train the "xx" (foreign, reported as "other") class: function words carry
# most of a language's char-n-gram profile, which is what keeps Spanish or German out of "en".
FOREIGN_WORDS = {
    "es": "el la los las de del que y en un una por con para es no se lo muy pero como más esta está "
    "este yo tu mi su porque cuando donde también ahora hoy mañana bueno gracias todo nada hay tiene "
    "quiero puedo hacer fue ser estoy eres somos mucho poco siempre nunca algo aquí allí ella ellos "
    "nosotros usted señor vida amor casa comida trabajo dinero tiempo mundo",
    "fr": "le la les de des du et en un une pour avec que qui est pas ne je tu il elle nous vous ils "
    "mais ou donc très bien merci bonjour oui non ce cette sont avoir être fait faire plus tout "
    "aujourd'hui demain toujours jamais rien quelque chose ici là maison travail argent temps monde "
    "vie amour beaucoup peu pourquoi comment quand aussi encore déjà",
    "de": "der die das und ist nicht ich du er sie wir ihr ein eine mit für auf aber auch noch schon "
    "sehr gut danke heute morgen immer nie nichts etwas hier dort haus arbeit geld zeit welt leben "
    "liebe viel wenig warum wie wann wo habe hat sind war werden kann muss will mein dein sein",
    "pt": "o a os as de do da que e em um uma para com não se muito mas como mais este esta isso eu "
    "você ele ela nós eles meu minha porque quando onde também agora hoje amanhã bom obrigado obrigada "
    "tudo nada tem quero posso fazer foi ser estou são casa comida trabalho dinheiro tempo mundo vida",
    "it": "il lo la i gli le di del della che e in un una per con non si molto ma come più questo "
    "questa io tu lui lei noi voi loro mio mia perché quando dove anche adesso oggi domani buono "
    "grazie tutto niente ho hai ha sono sei siamo fare stato essere casa lavoro soldi tempo mondo vita",
    "nl": "de het een en van in is dat niet ik je jij hij zij wij ze met voor op maar ook nog al heel "
    "goed dank bedankt vandaag morgen altijd nooit niets iets hier daar huis werk geld tijd wereld "
    "leven liefde veel weinig waarom hoe wanneer waar heb heeft zijn was worden kan moet wil mijn",
    "tl": "ang ng mga sa na ay at si ni kay ko mo niya namin natin nila ako ikaw siya kami tayo sila "
    "hindi oo po opo salamat maganda mahal talaga lang din rin naman pa ba kasi kung may wala "
    "gusto ayaw ngayon bukas kahapon bahay trabaho pera oras mundo buhay pag-ibig marami konti bakit",
    "vi": "tôi bạn anh em chị ông bà là của và có không được một những các cho với này đó rất "
    "nhiều ít tại sao khi nào đâu cũng đã sẽ đang hôm nay ngày mai cảm ơn tốt đẹp nhà việc tiền "
    "thời gian thế giới cuộc sống yêu muốn biết làm đi ăn uống người",
    "tr": "ve bir bu da de için ile ben sen o biz siz onlar değil var yok çok az ama gibi daha "
    "şimdi bugün yarın her zaman hiç teşekkür ederim iyi güzel ev iş para zaman dünya hayat aşk "
    "neden nasıl ne zaman nerede istiyorum biliyorum yapmak gitmek benim senin olarak kadar sonra",
}
# Hand-written Latin-script posts in languages the model was never trained on.
FOREIGN_EVAL = [
    "me encanta este lugar, la comida es muy buena",
    "no puedo creer que el partido terminó así",
    "je suis vraiment fatigué aujourd'hui",
    "merci beaucoup pour votre aide",
    "ich habe keine Zeit, vielleicht morgen",
    "das Essen war leider kalt und teuer",
    "obrigado pela ajuda, vocês são demais",
    "não gosto desse novo aplicativo",
    "questo ristorante è fantastico",
    "salamat po sa inyong tulong",
    "ang ganda ng panahon ngayon",
    "tôi rất thích món ăn này",
    "bugün hava çok güzel",
    "dit is echt een goed idee",
    "jag älskar den här låten",
]


def _read_nusax(data: Path, split: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for folder, code in NUSAX.items():
        path = data / "nusax_senti" / folder / f"{split}.csv"
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                out[code].append(row["text"])
    return out


def _read_tsv_column(path: Path, column: int, skip_header: bool) -> list[str]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if skip_header and n == 0:
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) > column:
                out.append(parts[column])
    return out


def _read_csv_column(path: Path, column: str) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [row[column] for row in csv.DictReader(fh)]


def load_train(data: Path, rng: random.Random) -> dict[str, list[str]]:
    texts = _read_nusax(data, "train")
    en = _read_tsv_column(data / "tweeteval_sentiment" / "train.tsv", 1, True)
    en += _read_tsv_column(data / "tweeteval_emotion" / "train.tsv", 1, True)
    rng.shuffle(en)
    texts["en"] += en[:MAX_EN]
    texts["id"] += _read_tsv_column(data / "indonlu_smsa" / "train_preprocess.tsv", 0, False)
    texts["id"] += _read_csv_column(data / "indonlu_casa" / "train_preprocess.csv", "sentence")
    hoasa = data / "indonlu_hoasa" / "train_preprocess.csv"
    with hoasa.open(encoding="utf-8", newline="") as fh:
        first_col = next(csv.reader(fh))[0]
    texts["id"] += _read_csv_column(hoasa, first_col)
    wrng = random.Random(SEED + 1)
    vocab = {lang: words.split() for lang, words in FOREIGN_WORDS.items()}
    for lang in sorted(vocab):
        for _ in range(500):
            texts["xx"].append(" ".join(wrng.choices(vocab[lang], k=wrng.randint(2, 12))))
    return texts


def load_valid(data: Path) -> dict[str, list[tuple[str, str]]]:
    """Named validation sets of (gold label, text)."""
    sets: dict[str, list[tuple[str, str]]] = {}
    nusax = _read_nusax(data, "valid")
    sets["nusax"] = [(lab, t) for lab, ts in nusax.items() for t in ts]
    sets["smsa"] = [
        ("id", t) for t in _read_tsv_column(data / "indonlu_smsa" / "valid_preprocess.tsv", 0, False)
    ]
    sets["tweeteval"] = [
        ("en", t) for t in _read_tsv_column(data / "tweeteval_sentiment" / "val.tsv", 1, True)
    ]
    sets["malay-handwritten"] = [("ms", t) for t in MALAY_EVAL]
    sets["informal-handwritten"] = list(INFORMAL_EVAL)
    sets["foreign-handwritten"] = [("other", t) for t in FOREIGN_EVAL]
    return sets


def windows(text: str, count: int, rng: random.Random) -> list[str]:
    words = text.split()
    out = []
    for _ in range(count):
        if len(words) <= 1:
            break
        size = rng.randint(1, min(8, len(words)))
        start = rng.randint(0, len(words) - size)
        out.append(" ".join(words[start : start + size]))
    return out


def build_matrix(cleaned: list[str]):
    from scipy.sparse import csr_matrix

    rows, cols, vals = [], [], []
    step = 4096
    for start in range(0, len(cleaned), step):
        ids, v = featurize(cleaned[start : start + step], N_BUCKETS)
        mask = ids < N_BUCKETS
        r = np.nonzero(mask)[0] + start
        rows.append(r)
        cols.append(ids[mask])
        vals.append(v[mask])
    return csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(cleaned), N_BUCKETS),
        dtype=np.float32,
    )


def export_onnx(coef: np.ndarray, intercept: np.ndarray, path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    n_classes = coef.shape[0]
    # Row N_BUCKETS is the padding id: all zeros.
    table = np.zeros((N_BUCKETS + 1, n_classes), dtype=np.float16)
    table[:N_BUCKETS] = coef.T.astype(np.float16)
    inits = [
        numpy_helper.from_array(table, "W16"),
        numpy_helper.from_array(intercept.astype(np.float32), "b"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
    ]
    nodes = [
        helper.make_node("Gather", ["W16", "ids"], ["g16"], axis=0),
        helper.make_node("Cast", ["g16"], ["g"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["values", "axis2"], ["v3"]),
        helper.make_node("Mul", ["g", "v3"], ["gv"]),
        helper.make_node("ReduceSum", ["gv", "axis1"], ["z"], keepdims=0),
        helper.make_node("Add", ["z", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "dengar_langid",
        [
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", "L"]),
            helper.make_tensor_value_info("values", TensorProto.FLOAT, ["N", "L"]),
        ],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", n_classes])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="dengar")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def truncate(text: str, n_words: int = 8) -> str:
    return " ".join(text.split()[:n_words])


def evaluate(ident: LanguageIdentifier, sets: dict[str, list[tuple[str, str]]]) -> dict[str, dict]:
    report: dict[str, dict] = {}
    for name, rows in sets.items():
        for mode, n_words in (("full", 0), ("8words", 8), ("3words", 3)):
            texts = [truncate(t, n_words) if n_words else t for _, t in rows]
            gold = [FIRST_CLASS_OR_OTHER(g) for g, _ in rows]
            preds = [r.language for r in ident.identify_many(texts)]
            per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            confusion: dict[str, Counter] = defaultdict(Counter)
            for g, p in zip(gold, preds, strict=True):
                per[g][0] += int(g == p)
                per[g][1] += 1
                if g != p:
                    confusion[g][p] += 1
            total = sum(c for c, _ in per.values()) / max(1, len(gold))
            report[f"{name}/{mode}"] = {
                "accuracy": round(total, 4),
                "per_language": {g: round(c / n, 4) for g, (c, n) in sorted(per.items())},
                "n": {g: n for g, (_, n) in sorted(per.items())},
                "top_confusions": {g: dict(c.most_common(3)) for g, c in confusion.items()},
            }
    return report


def FIRST_CLASS_OR_OTHER(label: str) -> str:
    return label if label in FIRST_CLASS else OTHER


def train_and_export(args: argparse.Namespace, onnx_path: Path) -> tuple[list[str], int]:
    from sklearn.linear_model import LogisticRegression

    rng = random.Random(SEED)
    train = load_train(args.data, rng)
    labels = sorted(train)
    x_text: list[str] = []
    y: list[int] = []
    for lab in labels:
        texts = train[lab]
        # Small NusaX classes get more windows so that every class has comparable short-text mass.
        n_win = 2 if len(texts) > 5000 else 8
        if lab == "xx":
            # Already random word strings of random length: windows would add nothing.
            n_win = 0
        for t in texts:
            for variant in [t, *windows(t, n_win, rng)]:
                c = clean_for_langid(variant)
                if c:
                    x_text.append(c)
                    y.append(labels.index(lab))
    logger.info("training examples: %d; per class %s", len(y), dict(Counter(labels[i] for i in y)))
    t0 = time.perf_counter()
    x = build_matrix(x_text)
    logger.info("features built in %.1fs, nnz=%d", time.perf_counter() - t0, x.nnz)
    t0 = time.perf_counter()
    clf = LogisticRegression(C=args.C, max_iter=args.max_iter, class_weight="balanced", solver="lbfgs")
    clf.fit(x, np.asarray(y))
    logger.info("fitted in %.1fs", time.perf_counter() - t0)

    args.out.mkdir(parents=True, exist_ok=True)
    export_onnx(clf.coef_, clf.intercept_, onnx_path)
    return labels, len(y)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--C", type=float, default=20.0)
    parser.add_argument("--max-iter", type=int, default=300)
    parser.add_argument(
        "--eval-only",
        action="store_true",
        help="re-run validation of the model already in --out (after a change to the runtime rules)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    onnx_path = args.out / "langid.onnx"
    meta_path = args.out / "langid.json"
    if args.eval_only:
        old = json.loads(meta_path.read_text(encoding="utf-8"))
        labels = old["labels"]
        train_examples = old.get("train_examples", 0)
        c_value = float(old.get("C", args.C))
    else:
        labels, train_examples = train_and_export(args, onnx_path)
        c_value = args.C

    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])

    def scorer(ids: np.ndarray, vals: np.ndarray) -> np.ndarray:
        return sess.run(["probs"], {"ids": ids, "values": vals})[0]

    # Evaluated exactly as served: default class prior, Malay lexicon and und/script rules included.
    ident = LanguageIdentifier(scorer, labels, N_BUCKETS)
    sets = load_valid(args.data)
    report = evaluate(ident, sets)
    for name, r in report.items():
        logger.info(
            "%-28s acc=%.4f per=%s confusions=%s", name, r["accuracy"], r["per_language"], r["top_confusions"]
        )
    meta = {
        "version": "langid-hash-lr-1",
        "labels": labels,
        "n_buckets": N_BUCKETS,
        "char_ngrams": [1, 2, 3, 4],
        "C": c_value,
        "train_examples": train_examples,
        "validation": report,
    }
    meta_path.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    logger.info("wrote %s (%.2f MB)", onnx_path, onnx_path.stat().st_size / 1e6)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
