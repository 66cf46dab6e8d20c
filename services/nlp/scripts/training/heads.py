"""The three training runs (sentiment, emotion, aspects): data, grid, choice, validation."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from pathlib import Path

import numpy as np

from dengar_nlp.domain.aspects import (
    ASPECT_NAMES,
    TAXONOMY,
    default_lexicon,
    detect_aspects,
    plan_aspects,
    resolve_aspects,
)
from dengar_nlp.domain.results import EMOTION_LABELS, SENTIMENT_LABELS
from dengar_nlp.domain.text import prepare_text

from . import EMOTION_SANITY, NUSAX_LANGS, SEED
from .data import (
    CASA_MAP,
    COVERAGE,
    HOASA_MAP,
    AbsaRow,
    EmbeddingCache,
    Limits,
    Rows,
    cap_absa,
    cap_rows,
    dedup_sentiment,
    load_casa,
    load_hoasa,
    load_nusax,
    load_semeval,
    load_smsa,
    load_tweeteval,
)
from .fit import (
    AspectHead,
    SentimentStack,
    SoftmaxHead,
    _aspect_matrix,
    ece,
    eval_sentiment,
    fit_aspect_lr,
    fit_sentiment_stack,
    fit_softmax_head,
    fit_temperature,
    macro_f1,
    prf,
    sentiment_weights,
    softmax,
    stratified_holdout,
)

logger = logging.getLogger(__name__)


# --- sentiment -----------------------------------------------------------------------------------


def train_sentiment(
    data: Path, cache: EmbeddingCache, quick: bool, limits: Limits | None = None
) -> tuple[SentimentStack, dict]:
    lim = limits or Limits()
    lab = {name: i for i, name in enumerate(SENTIMENT_LABELS)}
    te_train = load_tweeteval(data / "tweeteval_sentiment" / "train.tsv")
    te_val = load_tweeteval(data / "tweeteval_sentiment" / "val.tsv")
    smsa_train = load_smsa(data / "indonlu_smsa" / "train_preprocess.tsv")
    smsa_val = load_smsa(data / "indonlu_smsa" / "valid_preprocess.tsv")
    nusax_train = load_nusax(data, "train")
    nusax_val = load_nusax(data, "valid")
    # De-duplication against the full validation splits first, so a capped run drops the same rows.
    smsa_train, nusax_train, dedup = dedup_sentiment(smsa_train, nusax_train, smsa_val, nusax_val)
    te_train, smsa_train, nusax_train = (cap_rows(r, lim.train) for r in (te_train, smsa_train, nusax_train))
    te_val, smsa_val, nusax_val = (cap_rows(r, lim.val) for r in (te_val, smsa_val, nusax_val))
    train = Rows()
    for r in (te_train, smsa_train, nusax_train):
        train.extend(r)
    x = cache.embed(train.texts)
    y = np.array([lab[v] for v in train.labels])
    val: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    val_texts: dict[str, list[str]] = {}
    for rows in (te_val, smsa_val):
        val[rows.groups[0]] = (cache.embed(rows.texts), np.array([lab[v] for v in rows.labels]))
        val_texts[rows.groups[0]] = [prepare_text(t) for t in rows.texts]
    xv = cache.embed(nusax_val.texts)
    for lang in NUSAX_LANGS:
        m = np.array([g == f"nusax-{lang}" for g in nusax_val.groups])
        val[f"nusax-{lang}"] = (
            xv[m],
            np.array([lab[v] for v, k in zip(nusax_val.labels, m, strict=True) if k]),
        )
        val_texts[f"nusax-{lang}"] = [prepare_text(t) for t, k in zip(nusax_val.texts, m, strict=True) if k]

    # Temperature (and MLP early stopping) never see validation: 10% of train is held out for it.
    held = stratified_holdout([f"{g}|{v}" for g, v in zip(train.groups, train.labels, strict=True)], 0.10)
    fit_idx, cal_idx = np.flatnonzero(~held), np.flatnonzero(held)
    base = {"tweeteval": 0.4, "smsa": 0.25, "nusax": 0.35}
    nusax_heavy = {"tweeteval": 0.3, "smsa": 0.2, "nusax": 0.5}
    # (kind, params, class_power, family shares): a deliberately small grid.
    grid: list[tuple[str, dict[str, float], float, dict[str, float]]] = [
        ("lr", {"C": 1.0}, 1.0, base),
        ("lr", {"C": 1.0}, 0.5, base),
        ("mlp", {"hidden": 256, "alpha": 1e-3}, 1.0, base),
        ("mlp", {"hidden": 256, "alpha": 1e-3}, 0.5, base),
        ("mlp", {"hidden": 512, "alpha": 1e-2}, 0.5, base),
        ("mlp", {"hidden": 512, "alpha": 1e-2}, 0.5, nusax_heavy),
    ]
    if quick:
        grid = grid[:1]
    results = []
    best: tuple[float, SoftmaxHead, dict] | None = None
    for kind, params, cpow, shares in grid:
        t0 = time.time()
        w = sentiment_weights([train.groups[i] for i in fit_idx], y[fit_idx], shares, cpow)
        head = fit_softmax_head(x[fit_idx], y[fit_idx], w, kind, 3, **params)
        logits_cal = head.logits(x[cal_idx])
        head.temperature = fit_temperature(logits_cal, y[cal_idx])
        m = eval_sentiment(head, val)
        m["ece_heldout_before"] = ece(softmax(logits_cal), y[cal_idx])
        m["ece_heldout_after"] = ece(softmax(logits_cal / head.temperature), y[cal_idx])
        m["temperature"] = head.temperature
        cfg = {
            "kind": kind,
            **params,
            "class_power": cpow,
            "shares": shares,
            "seconds": round(time.time() - t0, 1),
        }
        results.append({"config": cfg, "metrics": {k: round(v, 4) for k, v in m.items()}})
        logger.info(
            "sentiment %s: TE rec %.4f  SmSA F1 %.4f  NusaX F1 %.4f  (T %.3f, %.0fs)",
            cfg,
            m["tweeteval_macro_recall"],
            m["smsa_macro_f1"],
            m["nusax_avg_macro_f1"],
            head.temperature,
            time.time() - t0,
        )
        if best is None or m["selection_score"] > best[0]:
            best = (m["selection_score"], head, {"config": cfg, "metrics": m})
    assert best is not None
    _, emb_head, emb_chosen = best
    # ECE on validation too (reported, not used for anything).
    xs = np.concatenate([v[0] for v in val.values()])
    ys = np.concatenate([v[1] for v in val.values()])
    emb_chosen["metrics"]["ece_val_before"] = ece(softmax(emb_head.logits(xs)), ys)
    emb_chosen["metrics"]["ece_val_after"] = ece(emb_head.proba(xs), ys)
    # The served model: the chosen embedding head stacked with the lexical model.
    head, chosen = fit_sentiment_stack(
        emb_head, emb_chosen["config"], x, y, [prepare_text(t) for t in train.texts], train.groups,
        fit_idx, cal_idx, val, val_texts,
    )
    info = {
        "chosen": chosen,
        "embedding_head": emb_chosen,
        "grid": results,
        "dedup": dedup,
        "train_rows": dict(Counter("nusax" if g.startswith("nusax-") else g for g in train.groups)),
        "calibration_rows": len(cal_idx),
    }
    return head, info


# --- emotion -------------------------------------------------------------------------------------


def train_emotion(
    data: Path, cache: EmbeddingCache, quick: bool, limits: Limits | None = None
) -> tuple[SoftmaxHead, dict]:
    lim = limits or Limits()
    lab = {name: i for i, name in enumerate(EMOTION_LABELS)}
    tr = cap_rows(load_tweeteval(data / "tweeteval_emotion" / "train.tsv", "emotion"), lim.train)
    va = cap_rows(load_tweeteval(data / "tweeteval_emotion" / "val.tsv", "emotion"), lim.val)
    x, y = cache.embed(tr.texts), np.array([lab[v] for v in tr.labels])
    xv, yv = cache.embed(va.texts), np.array([lab[v] for v in va.labels])
    held = stratified_holdout(tr.labels, 0.15)
    fit_idx, cal_idx = np.flatnonzero(~held), np.flatnonzero(held)
    counts = np.bincount(y[fit_idx], minlength=4).astype(np.float64)
    grid = [
        ("lr", {"C": 1.0}),
        ("lr", {"C": 4.0}),
        ("mlp", {"hidden": 256, "alpha": 1e-2}),
        ("mlp", {"hidden": 128, "alpha": 1e-1}),
    ]
    if quick:
        grid = grid[:1]
    results = []
    best: tuple[float, SoftmaxHead, dict] | None = None
    sanity = json.loads(EMOTION_SANITY.read_text(encoding="utf-8")) if EMOTION_SANITY.exists() else []
    xs = cache.embed([s["text"] for s in sanity]) if sanity else None
    for kind, params in grid:
        w = (1.0 / counts[y[fit_idx]]) * len(fit_idx) / 4
        head = fit_softmax_head(x[fit_idx], y[fit_idx], w, kind, 4, **params)
        logits_cal = head.logits(x[cal_idx])
        head.temperature = fit_temperature(logits_cal, y[cal_idx])
        pred = head.proba(xv).argmax(1)
        m = {
            "val_macro_f1": macro_f1(yv, pred, 4),
            "val_accuracy": float((pred == yv).mean()),
            "ece_heldout_before": ece(softmax(logits_cal), y[cal_idx]),
            "ece_heldout_after": ece(softmax(logits_cal / head.temperature), y[cal_idx]),
            "ece_val_before": ece(softmax(head.logits(xv)), yv),
            "ece_val_after": ece(head.proba(xv), yv),
            "temperature": head.temperature,
        }
        if xs is not None:
            sp = head.proba(xs).argmax(1)
            m["id_sanity_accuracy"] = float(
                np.mean([EMOTION_LABELS[p] == s["label"] for p, s in zip(sp, sanity, strict=True)])
            )
        cfg = {"kind": kind, **params}
        results.append({"config": cfg, "metrics": {k: round(v, 4) for k, v in m.items()}})
        logger.info("emotion %s: %s", cfg, {k: round(v, 4) for k, v in m.items()})
        if best is None or m["val_macro_f1"] > best[0]:
            best = (m["val_macro_f1"], head, {"config": cfg, "metrics": m})
    assert best is not None
    _, head, chosen = best
    return head, {
        "chosen": chosen,
        "grid": results,
        "train_rows": len(fit_idx),
        "calibration_rows": len(cal_idx),
        "id_sanity_n": len(sanity),
    }


# --- aspects -------------------------------------------------------------------------------------



def train_aspects(
    data: Path, cache: EmbeddingCache, sentiment: SentimentStack, quick: bool, limits: Limits | None = None
) -> tuple[AspectHead, dict]:
    lim = limits or Limits()
    lex = default_lexicon()
    rest = load_semeval(data / "semeval2014_absa" / "Restaurants_Train_v2.xml", "semeval-restaurants")
    lap = load_semeval(data / "semeval2014_absa" / "Laptop_Train_v2.xml", "semeval-laptops")
    semeval = rest + lap
    hold = stratified_holdout([r.source for r in semeval], 0.15)
    train_rows = [r for r, h in zip(semeval, hold, strict=True) if not h]
    val_sets = {
        "semeval-restaurants": [
            r for r, h in zip(semeval, hold, strict=True) if h and r.source == "semeval-restaurants"
        ],
        "semeval-laptops": [
            r for r, h in zip(semeval, hold, strict=True) if h and r.source == "semeval-laptops"
        ],
        "casa": load_casa(data / "indonlu_casa" / "valid_preprocess.csv"),
        "hoasa": load_hoasa(data / "indonlu_hoasa" / "valid_preprocess.csv"),
    }
    val_sets = {k: cap_absa(v, lim.val) for k, v in val_sets.items()}
    train_rows += load_casa(data / "indonlu_casa" / "train_preprocess.csv")
    train_rows += load_hoasa(data / "indonlu_hoasa" / "train_preprocess.csv")
    train_rows = cap_absa(train_rows, lim.train)
    # Seed phrases: positives for their aspect, unknown for the others' keywords, negatives otherwise.
    proto_rows = [AbsaRow(p, "prototype", {a.name: "positive"}) for a in TAXONOMY for p in a.prototypes]
    # Background: tweets and Indonesian news/comments with no aspect keyword at all.
    rng = np.random.default_rng(SEED)
    te = load_tweeteval(data / "tweeteval_sentiment" / "train.tsv")
    smsa = load_smsa(data / "indonlu_smsa" / "train_preprocess.tsv")
    n_bg_tweets, n_bg_smsa = (min(n, lim.train) if lim.train else n for n in (4000, 1000))
    bg = [
        t for t in (te.texts[i] for i in rng.permutation(len(te))[:6000]) if not lex.aspects(prepare_text(t))
    ][: n_bg_tweets]
    bg += [
        t
        for t, lab in zip(smsa.texts, smsa.labels, strict=True)
        if lab == "neutral" and not lex.aspects(prepare_text(t))
    ][: n_bg_smsa]
    bg_rows = [AbsaRow(t, "background", {}) for t in bg]
    all_rows = train_rows + proto_rows + bg_rows
    prepared = [prepare_text(r.text) for r in all_rows]
    kw = [lex.aspects(t) for t in prepared]
    y, mask = _aspect_matrix(all_rows, kw)
    x = cache.embed(prepared, prepared=True)
    src = np.array([r.source for r in all_rows])
    w_row = np.ones(len(all_rows))
    w_row[src == "prototype"] = 3.0
    w_row[src == "background"] = 0.5

    # Thresholds from 3-fold out-of-fold probabilities on train (never on validation).
    folds = rng.permutation(len(all_rows)) % 3
    c_reg = 4.0
    oof = np.zeros(y.shape, dtype=np.float64)
    for k in range(3):
        tr = folds != k
        w, b = fit_aspect_lr(x[tr], y[tr], mask[tr], w_row[tr], c_reg)
        oof[~tr] = 1 / (1 + np.exp(-(x[~tr] @ w + b)))
    thresholds = np.zeros(len(ASPECT_NAMES), dtype=np.float32)
    thr_info = {}
    for j, name in enumerate(ASPECT_NAMES):
        m = mask[:, j] & (src != "prototype")
        pos = int(y[m, j].sum())
        if pos >= 30:
            best_t, best_f = 0.5, -1.0
            for t in np.arange(0.2, 0.95, 0.025):
                pred = oof[m, j] >= t
                tp = int((pred & (y[m, j] == 1)).sum())
                f = 2 * tp / max(int(pred.sum()) + pos, 1)
                if f > best_f:
                    best_t, best_f = float(t), f
            thresholds[j] = best_t
            thr_info[name] = {
                "rule": "max out-of-fold F1 on train",
                "oof_f1": round(best_f, 4),
                "positives": pos,
            }
        else:
            # Seed phrases only (or nearly): fire only above what 99.5% of the negatives reach.
            neg = oof[m & (y[:, j] == 0), j]
            thresholds[j] = float(max(0.5, np.quantile(neg, 0.995)))
            thr_info[name] = {
                "rule": "max(0.5, 99.5th pct of out-of-fold negatives)",
                "positives": pos,
                "prototype_oof_recall": round(
                    float((oof[(src == "prototype") & (y[:, j] == 1), j] >= thresholds[j]).mean()), 4
                ),
            }
    w, b = fit_aspect_lr(x, y, mask, w_row, c_reg)
    head = AspectHead(w, b, thresholds)
    metrics = evaluate_aspects(head, sentiment, cache, val_sets)
    info = {
        "train_rows": dict(Counter(r.source for r in all_rows)),
        "positives_per_aspect": {n: int(y[:, j].sum()) for j, n in enumerate(ASPECT_NAMES)},
        "thresholds_by_name": {n: round(float(t), 4) for n, t in zip(ASPECT_NAMES, thresholds, strict=True)},
        "threshold_rule": thr_info,
        "C": c_reg,
        "validation": metrics,
        "mapping": {
            "casa": CASA_MAP,
            "hoasa": HOASA_MAP,
            "semeval-restaurants": "food->product_quality, price->price, ambience->ambience, "
            "service->customer_service (staff when the aspect terms are people), terms: "
            "reservation->booking, delivery/takeout->delivery",
            "semeval-laptops": "aspect terms: price/cost/value->price, warranty/support/service->"
            "customer_service, shipping->delivery, refund/rebate->payment, people->staff, "
            "everything else->product_quality",
        },
        "coverage": {k: sorted(v) for k, v in COVERAGE.items()},
    }
    return head, info


def evaluate_aspects(
    head: AspectHead, sentiment: SentimentStack, cache: EmbeddingCache, val_sets: dict[str, list[AbsaRow]]
) -> dict:
    """Detection P/R/F1 on the aspects each set covers, and polarity accuracy on gold aspects (the
    serving rule ``plan_aspects``/``resolve_aspects`` vs. clause-only and post-only polarity)."""
    lex = default_lexicon()
    names = list(ASPECT_NAMES)
    out: dict[str, dict] = {}
    for ds, rows in val_sets.items():
        prepared = [prepare_text(r.text) for r in rows]
        x = cache.embed(prepared, prepared=True)
        probs = head.proba(x)
        sent_post = sentiment.proba_texts(prepared, x)
        cov = sorted(COVERAGE[ds])
        counts = {mode: {a: [0, 0, 0] for a in cov} for mode in ("model", "keywords", "combined")}
        extra_fp: Counter[str] = Counter()  # uncovered aspects the model fires with no gold and no keyword
        n_pol: Counter[str] = Counter()
        pol_ok: Counter[tuple[str, str]] = Counter()
        for i, (r, text) in enumerate(zip(rows, prepared, strict=True)):
            kw = lex.aspects(text)
            modes = {
                "model": {n for j, n in enumerate(names) if probs[i, j] >= head.thresholds[j]},
                "keywords": kw,
                "combined": set(detect_aspects(probs[i], head.thresholds, names, kw)),
            }
            for mode, found in modes.items():
                for a in cov:
                    g, p = a in r.aspects, a in found
                    counts[mode][a][0] += g and p
                    counts[mode][a][1] += p and not g
                    counts[mode][a][2] += g and not p
            for a in modes["model"] - set(cov) - set(r.aspects) - kw:
                extra_fp[a] += 1
        # Polarity of gold aspects, with the serving rule; clause texts embedded in one batch.
        plans = []
        for i, (r, text) in enumerate(zip(rows, prepared, strict=True)):
            gold = {a: p for a, p in r.aspects.items() if p != "conflict"}
            if gold:
                plan = plan_aspects(
                    text, probs[i], head.thresholds, names, lex, detected=dict.fromkeys(gold, 1.0)
                )
                plans.append((i, gold, plan))
        cache.embed([plan.clauses[k].text for _, _, plan in plans for k in plan.encode], prepared=True)
        for i, gold, plan in plans:
            clause_texts = [plan.clauses[k].text for k in plan.encode]
            cs = sentiment.proba_texts(clause_texts, cache.embed(clause_texts, prepared=True))
            variants = {
                "served": resolve_aspects(plan, sent_post[i], cs, SENTIMENT_LABELS),
                "clause": resolve_aspects(plan, sent_post[i], cs, SENTIMENT_LABELS, clause_weight=1.0),
                "post": resolve_aspects(plan, sent_post[i], cs, SENTIMENT_LABELS, clause_weight=0.0),
            }
            for v, resolved in variants.items():
                for name, pol, _ in resolved:
                    pol_ok[(v, gold[name])] += pol == gold[name]
            for name in gold:
                n_pol[gold[name]] += 1
        res: dict[str, object] = {"n_sentences": len(rows)}
        for mode, c in counts.items():
            per = {a: prf(*v) for a, v in c.items()}
            tp, fp, fn = (sum(v[k] for v in c.values()) for k in range(3))
            res[mode] = {
                "micro": prf(tp, fp, fn),
                "macro_f1": round(float(np.mean([p["f1"] for p in per.values()])), 4),
                "per_aspect": per,
            }
        res["uncovered_model_fires_per_100"] = {
            a: round(100 * v / len(rows), 2) for a, v in sorted(extra_fp.items())
        }
        total = sum(n_pol.values())
        res["polarity"] = {"n": total, "gold": dict(n_pol)}
        for v in ("served", "clause", "post"):
            res["polarity"][f"accuracy_{v}"] = round(sum(pol_ok[(v, g)] for g in n_pol) / max(total, 1), 4)
        out[ds] = res
        logger.info(
            "aspects %s: combined micro %s macro %.4f | model micro %s | polarity %s",
            ds,
            res["combined"]["micro"],
            res["combined"]["macro_f1"],
            res["model"]["micro"],
            res["polarity"],
        )
    return out
