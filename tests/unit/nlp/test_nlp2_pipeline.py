"""The chain after the fine-tune (issue 13), without torch: heads for another encoder, smoke caps,
and ``build_nlp2.py`` (``make nlp2-models``) planning export -> langid -> heads -> bench."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPTS = ROOT / "services" / "nlp" / "scripts"
MODELS = ROOT / "services" / "nlp" / "models"
sys.path.insert(0, str(SCRIPTS))

import build_models  # noqa: E402
import build_nlp2  # noqa: E402
import train_heads  # noqa: E402
from training import FIXTURE  # noqa: E402
from training.data import AbsaRow, EmbeddingCache, Rows, cap_absa, cap_rows  # noqa: E402

# --- train_heads.py --encoder ---------------------------------------------------------------------------


def test_train_heads_reads_the_bundled_encoder_by_default() -> None:
    args = train_heads.parse_args(["--data", "d"])
    assert args.encoder == MODELS / "encoder"
    assert args.out == MODELS / "heads"
    assert args.fixture == FIXTURE
    assert (args.train_limit, args.val_limit) == (0, 0)


def test_train_heads_takes_another_encoder_and_keeps_the_committed_fixture(tmp_path: Path) -> None:
    enc, out = tmp_path / "teacher" / "encoder", tmp_path / "teacher" / "heads"
    args = train_heads.parse_args(["--data", "d", "--encoder", str(enc), "--out", str(out),
                                   "--train-limit", "50", "--val-limit", "10"])
    assert args.encoder == enc
    assert (args.train_limit, args.val_limit) == (50, 10)
    # The committed heads' parity fixture is only rewritten by a run that rewrites those heads.
    assert args.fixture == out / "heads_parity.npz"


@pytest.mark.parametrize(("encoder", "out"), [
    (MODELS / "encoder", Path("elsewhere/heads")),  # bundled encoder, heads written elsewhere
    (Path("other/encoder"), MODELS / "heads"),  # another encoder into the bundled folder
    (MODELS / "encoder", MODELS / "quality" / "heads"),  # the fast encoder into the quality folder
    (MODELS / "quality" / "encoder", MODELS / "heads"),  # the quality encoder into the fast folder
])
def test_fixture_stays_put_unless_both_are_bundled(encoder: Path, out: Path) -> None:
    assert train_heads.fixture_path(encoder, out, None) == out / "heads_parity.npz"
    assert train_heads.fixture_path(encoder, out, Path("x.npz")) == Path("x.npz")


def test_each_committed_set_rewrites_its_own_fixture() -> None:
    assert train_heads.fixture_path(MODELS / "encoder", MODELS / "heads", None) == FIXTURE
    quality = MODELS / "quality"
    assert train_heads.fixture_path(quality / "encoder", quality / "heads", None) == \
        FIXTURE.with_name("heads_parity_quality.npz")


def test_make_models_trains_the_heads_on_its_own_encoder(tmp_path: Path) -> None:
    heads = next(s for s in build_models.STEPS if s.name == "heads")
    args = heads.args(Path("data"), tmp_path)
    assert args[args.index("--encoder") + 1] == str(tmp_path / "encoder")
    assert args[args.index("--out") + 1] == str(tmp_path / "heads")


# --- smoke caps ---------------------------------------------------------------------------------------


def _rows(groups: dict[str, int]) -> Rows:
    rows = Rows()
    for g, n in groups.items():
        for i in range(n):
            rows.add(f"{g} text {i}", "neutral", g, f"{g}{i}")
    return rows


def test_cap_rows_caps_every_group_and_is_seeded() -> None:
    rows = _rows({"nusax-english": 30, "nusax-javanese": 5, "smsa": 12})
    capped = cap_rows(rows, 10)
    assert {g: capped.groups.count(g) for g in set(capped.groups)} == {
        "nusax-english": 10, "nusax-javanese": 5, "smsa": 10}
    assert capped.texts == cap_rows(rows, 10).texts  # same rows on every run
    # The original order is kept, and a sample, not just the first rows.
    english = [t for t, g in zip(capped.texts, capped.groups, strict=True) if g == "nusax-english"]
    assert english == sorted(english, key=rows.texts.index)
    assert english != [f"nusax-english text {i}" for i in range(10)]
    assert cap_rows(rows, 0) is rows


def test_cap_absa_caps_per_source() -> None:
    rows = [AbsaRow(f"r{i}", "casa", {}) for i in range(7)]
    rows += [AbsaRow(f"h{i}", "hoasa", {}) for i in range(2)]
    capped = cap_absa(rows, 3)
    assert [r.source for r in capped].count("casa") == 3
    assert [r.source for r in capped].count("hoasa") == 2
    assert cap_absa(rows, 0) is rows


# --- build_nlp2.py ------------------------------------------------------------------------------------


def test_candidates_are_named_and_ordered() -> None:
    cands = build_nlp2.candidates("runs/teacher/best.pt", ["s6=runs/s6/best.pt", "runs/s4/best.pt"])
    assert [(c.name, c.checkpoint) for c in cands] == [
        ("teacher", Path("runs/teacher/best.pt")), ("s6", Path("runs/s6/best.pt")),
        ("student2", Path("runs/s4/best.pt"))]
    assert [c.name for c in build_nlp2.candidates(None, ["a/b.pt"])] == ["student"]
    with pytest.raises(build_nlp2.BuildError, match="differ"):
        build_nlp2.candidates("x=a.pt", ["x=b.pt"])
    with pytest.raises(build_nlp2.BuildError, match="current"):
        build_nlp2.candidates("current=a.pt", [])


def test_plan_chains_export_langid_heads_then_one_bench(tmp_path: Path) -> None:
    args = build_nlp2.parse_args(["--data", "d", "--teacher", "t.pt", "--student", "s6=s.pt",
                                  "--out", str(tmp_path), "--bench-args", "--threads-list 2"])
    steps = build_nlp2.plan(args, build_nlp2.candidates(args.teacher, args.student))
    assert [(s, w) for s, w, _ in steps] == [
        ("export", "teacher"), ("langid", "teacher"), ("heads", "teacher"),
        ("export", "s6"), ("langid", "s6"), ("heads", "s6"), ("bench", "all")]
    export = steps[0][2]
    assert export[1].endswith("export_finetuned.py")
    assert export[export.index("--out") + 1] == str(tmp_path / "teacher" / "encoder")
    heads = steps[2][2]
    assert heads[heads.index("--encoder") + 1] == str(tmp_path / "teacher" / "encoder")
    assert heads[heads.index("--out") + 1] == str(tmp_path / "teacher" / "heads")
    assert "--train-limit" not in heads and "--quick" not in heads
    bench = steps[-1][2]
    assert bench[1].endswith("bench_nlp.py")
    assert [bench[i + 1] for i, a in enumerate(bench) if a == "--candidate"] == [
        f"teacher={tmp_path / 'teacher'}", f"s6={tmp_path / 's6'}"]
    assert bench[-2:] == ["--threads-list", "2"]


def test_smoke_caps_heads_and_bench(tmp_path: Path) -> None:
    args = build_nlp2.parse_args(["--data", "d", "--teacher", "t.pt", "--out", str(tmp_path), "--smoke",
                                  "--steps", "heads", "bench"])
    steps = build_nlp2.plan(args, build_nlp2.candidates(args.teacher, args.student))
    assert [s for s, _, _ in steps] == ["heads", "bench"]
    heads, bench = steps[0][2], steps[1][2]
    assert "--quick" in heads
    assert heads[heads.index("--train-limit") + 1] == str(build_nlp2.SMOKE_TRAIN_LIMIT)
    assert heads[heads.index("--val-limit") + 1] == str(build_nlp2.SMOKE_VAL_LIMIT)
    assert bench[bench.index("--val-limit") + 1] == str(build_nlp2.SMOKE_VAL_LIMIT)
    assert "--speed-posts" in bench


def test_langid_step_copies_the_bundled_model(tmp_path: Path) -> None:
    build_nlp2.run("langid", "teacher", [], tmp_path, "teacher")
    copied = tmp_path / "teacher" / "langid" / "langid.onnx"
    assert copied.read_bytes() == (MODELS / "langid" / "langid.onnx").read_bytes()


def _bundled_heads_with_fixture(tmp_path: Path) -> Path:
    heads = tmp_path / "heads"
    shutil.copytree(MODELS / "heads", heads)
    shutil.copyfile(FIXTURE, heads / "heads_parity.npz")
    return heads


def test_parity_check_passes_on_heads_and_their_fixture(tmp_path: Path) -> None:
    diffs = build_nlp2.check_heads_parity(_bundled_heads_with_fixture(tmp_path))
    assert set(diffs) == {"sentiment", "emotion", "aspects"}
    assert max(diffs.values()) <= build_nlp2.PARITY_ATOL


def test_parity_check_fails_on_heads_that_do_not_match(tmp_path: Path) -> None:
    heads = _bundled_heads_with_fixture(tmp_path)
    with np.load(heads / "heads_parity.npz") as z:
        fx = {k: z[k] for k in z.files}
    fx["emotion_probs"] = fx["emotion_probs"][:, ::-1].copy()
    np.savez(heads / "heads_parity.npz", **fx)
    with pytest.raises(build_nlp2.BuildError, match="emotion"):
        build_nlp2.check_heads_parity(heads)
    (heads / "heads_parity.npz").unlink()
    with pytest.raises(build_nlp2.BuildError, match="no parity fixture"):
        build_nlp2.check_heads_parity(heads)


def test_missing_checkpoint_stops_before_any_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    for name in build_models.REQUIRED_DATA:
        (data / name).mkdir(parents=True)
    code = build_nlp2.main(["--data", str(data), "--teacher", str(tmp_path / "no.pt"),
                            "--out", str(tmp_path / "out")])
    assert code == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_embedding_cache_encodes_in_parallel_to_the_same_vectors(tmp_path: Path) -> None:
    from dengar_nlp.adapters.encoder import OnnxEncoder

    encoder = OnnxEncoder(ROOT / "services" / "nlp" / "models" / "encoder", threads=1)
    texts = [f"post {i}: the courier was {'late' if i % 2 else 'early'} again 😅" for i in range(7)]
    serial = EmbeddingCache(tmp_path / "a", encoder).embed(texts)
    parallel_cache = EmbeddingCache(tmp_path / "b", encoder, workers=3)
    parallel = parallel_cache.embed(texts, chunk=4)  # chunks of 4 and 3 over 3 workers
    np.testing.assert_array_equal(parallel, serial)
    np.testing.assert_array_equal(serial, encoder.encode_features(texts, batch_size=1))  # what heads read
    # Read back from its shards by a new cache: nothing is encoded again.
    again = EmbeddingCache(tmp_path / "b", encoder, workers=3)
    assert len(again._index) == len(texts)
    np.testing.assert_array_equal(again.embed(texts), serial)


# --- make models keeps a committed fine-tuned encoder ----------------------------------------------------


def test_make_models_keeps_a_fine_tuned_encoder(tmp_path: Path) -> None:
    import json

    out = tmp_path / "models"

    def names(frozen_encoder: bool = False) -> list[str]:
        steps = build_models.steps_to_run(list(build_models.STEP_NAMES), out, frozen_encoder=frozen_encoder)
        return [s.name for s in steps]

    assert names() == ["encoder", "langid", "heads"]  # nothing there yet
    (out / "encoder").mkdir(parents=True)
    meta = json.loads((MODELS / "encoder" / "encoder.json").read_text(encoding="utf-8"))
    for key in ("finetune", "levers"):  # as export_encoder.py writes the frozen e5
        meta.pop(key, None)
    (out / "encoder" / "encoder.json").write_text(json.dumps(meta), encoding="utf-8")
    assert build_models.finetuned_encoder(out) is None
    assert names() == ["encoder", "langid", "heads"]
    meta["finetune"] = {"layers": 4, "meta": {"teacher": "t.pt"}}
    meta["levers"] = {"weights": "distilled"}
    (out / "encoder" / "encoder.json").write_text(json.dumps(meta), encoding="utf-8")
    assert build_models.finetuned_encoder(out) == "distilled 4-layer encoder"
    assert names() == ["langid", "heads"]
    assert names(frozen_encoder=True) == ["encoder", "langid", "heads"]
    assert build_models.parse_args(["--data", "d", "--frozen-encoder"]).frozen_encoder


def test_make_models_retrains_the_quality_sets_heads_and_copies_language_id(tmp_path: Path) -> None:
    out = tmp_path / "models"

    def names() -> list[str]:
        return [s.name for s in build_models.steps_to_run(list(build_models.STEP_NAMES), out)]

    assert names() == ["encoder", "langid", "heads"]  # no quality set: nothing to do for it
    (out / "quality" / "encoder").mkdir(parents=True)
    meta = "quality/encoder/encoder.json"
    shutil.copyfile(MODELS / meta, out / meta)
    assert names() == ["encoder", "langid", "heads", "quality"]
    step = next(s for s in build_models.STEPS if s.name == "quality")
    args = step.args(Path("data"), out)
    assert args[args.index("--encoder") + 1] == str(out / "quality" / "encoder")
    assert args[args.index("--out") + 1] == str(out / "quality" / "heads")
    shutil.copytree(MODELS / "langid", out / "langid")
    (out / "quality" / "langid").mkdir()
    (out / "quality" / "langid" / "langid.onnx").write_bytes(b"stale")
    assert step.prepare is not None
    step.prepare(out)
    for name in ("langid.onnx", "langid.json"):
        assert (out / "quality" / "langid" / name).read_bytes() == (MODELS / "langid" / name).read_bytes()


# --- promote_models.py ------------------------------------------------------------------------------------


def _built_set(tmp_path: Path) -> Path:
    """A set laid out as build_nlp2.py writes it (the bundled files, with their parity fixture)."""
    src = tmp_path / "built" / "teacher"
    shutil.copytree(MODELS / "encoder", src / "encoder")
    shutil.copytree(MODELS / "langid", src / "langid")
    _bundled_heads_with_fixture(src)
    return src


def _bundled_copy(tmp_path: Path) -> tuple[Path, Path]:
    bundled = tmp_path / "bundled"
    shutil.copytree(MODELS, bundled)
    fixture = tmp_path / "fixtures" / "heads_parity.npz"
    fixture.parent.mkdir()
    fixture.write_bytes(b"old")
    return bundled, fixture


def test_promote_copies_encoder_heads_and_the_parity_fixture(tmp_path: Path) -> None:
    import promote_models

    src = _built_set(tmp_path)
    (src / "encoder" / "encoder.json").write_text('{"name": "promoted"}\n', encoding="utf-8")
    bundled, fixture = _bundled_copy(tmp_path)
    (bundled / "heads" / "emotion.onnx").write_bytes(b"stale")
    written = promote_models.promote(src, "bundled", bundled=bundled, fixture=fixture)
    assert (bundled / "encoder" / "encoder.json").read_text(encoding="utf-8") == '{"name": "promoted"}\n'
    emotion = (MODELS / "heads" / "emotion.onnx").read_bytes()
    assert (bundled / "heads" / "emotion.onnx").read_bytes() == emotion
    assert fixture.read_bytes() == FIXTURE.read_bytes()
    assert not (bundled / "heads" / "heads_parity.npz").exists()  # the fixture lives with the tests
    assert fixture in written and len(written) == 3 + 6 + 1 + 1  # encoder, heads, METRICS.md, fixture

    quality = tmp_path / "quality"
    quality_fixture = fixture.with_name("heads_parity_quality.npz")
    written = promote_models.promote(src, "quality", bundled=bundled, quality=quality,
                                     fixture=quality_fixture)
    assert quality_fixture in written and quality_fixture.read_bytes() == FIXTURE.read_bytes()
    assert fixture.read_bytes() == FIXTURE.read_bytes()  # the fast set's fixture is left alone
    # The quality set carries the bundled language id, so both load on their own.
    langid = "langid/langid.onnx"
    assert (quality / langid).read_bytes() == (bundled / langid).read_bytes()
    assert sorted(p.relative_to(quality).as_posix() for p in quality.rglob("*") if p.is_file()) == sorted(
        p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file() and p.name != "heads_parity.npz")


def test_promote_refuses_an_incomplete_or_mismatched_set_and_writes_nothing(tmp_path: Path) -> None:
    import promote_models

    src = _built_set(tmp_path)
    bundled, fixture = _bundled_copy(tmp_path)
    before = {p: p.read_bytes() for p in bundled.rglob("*") if p.is_file()}
    (src / "heads" / "aspects.json").unlink()
    with pytest.raises(build_nlp2.BuildError, match=r"missing heads/aspects\.json"):
        promote_models.promote(src, "bundled", bundled=bundled, fixture=fixture)
    shutil.copyfile(MODELS / "heads" / "aspects.json", src / "heads" / "aspects.json")
    with np.load(src / "heads" / "heads_parity.npz") as z:
        fx = {k: z[k] for k in z.files}
    fx["emotion_probs"] = fx["emotion_probs"][:, ::-1].copy()
    np.savez(src / "heads" / "heads_parity.npz", **fx)
    with pytest.raises(build_nlp2.BuildError, match="emotion"):
        promote_models.promote(src, "bundled", bundled=bundled, fixture=fixture)
    assert {p: p.read_bytes() for p in bundled.rglob("*") if p.is_file()} == before
    assert fixture.read_bytes() == b"old"
    assert promote_models.main([str(tmp_path / "nowhere")]) == 2
