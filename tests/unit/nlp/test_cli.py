"""`dengar analyze`: input parsing, output shape and error handling.

Most tests run `main()` in-process with a deterministic fake analyzer (fast, exact assertions); the
tests at the end run the real command as a subprocess against the shipped models.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from dengar_nlp.domain.results import Analysis, Emotion, Sentiment, Signals
from dengar_nlp.entrypoints import cli

ROOT = Path(__file__).resolve().parents[3]
MODELS_DIR = ROOT / "services" / "nlp" / "models"


class FakeAnalyzer:
    """Echoes each text's length in the embedding so tests can tell which text produced which row."""

    model_version = "fake:1"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def analyze(self, texts: Sequence[str], *, include_embedding: bool = False) -> list[Analysis]:
        self.calls.append(list(texts))
        return [
            Analysis(
                language="en",
                language_confidence=0.9,
                sentiment=Sentiment("neutral", {"negative": 0.1, "neutral": 0.8, "positive": 0.1}),
                emotion=Emotion("joy", {"anger": 0.1, "joy": 0.7, "optimism": 0.1, "sadness": 0.1}),
                aspects=(),
                signals=Signals(hashtags=tuple(w for w in t.split() if w.startswith("#"))),
                embedding=np.array([float(len(t)), 0.5], dtype=np.float32) if include_embedding else None,
                model_version=self.model_version,
            )
            for t in texts
        ]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeAnalyzer:
    analyzer = FakeAnalyzer()
    monkeypatch.setattr(cli, "load_analyzer", lambda *a, **k: analyzer)
    return analyzer


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stdin: bytes, *args: str
) -> tuple[int, list[dict[str, object]], str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    code = cli.main(["--models-dir", str(MODELS_DIR), *args])
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    return code, rows, captured.err


def test_plain_lines(
    fake: FakeAnalyzer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, rows, err = run_cli(monkeypatch, capsys, b"hello world #x\nsecond line\r\n")
    assert code == 0, err
    assert [r["line"] for r in rows] == [1, 2]
    assert fake.calls == [["hello world #x", "second line"]]  # \r\n stripped
    first = rows[0]
    assert first["language"] == "en"
    assert first["sentiment"] == {
        "label": "neutral",
        "scores": {"negative": 0.1, "neutral": 0.8, "positive": 0.1},
    }
    assert first["emotion"]["label"] == "joy"
    assert first["aspects"] == []
    assert first["hashtags"] == ["#x"]
    assert "embedding" not in first


def test_jsonl_echoes_other_fields(
    fake: FakeAnalyzer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = (
        b'{"id": "a1", "text": "first", "meta": {"k": [1, 2]}}\n'
        b'{"id": 7, "text": "second"}\n'
        b"not json {\n"
        b'{"id": "no-text-field"}\n'
        b'["text", "an array"]\n'
    )
    code, rows, err = run_cli(monkeypatch, capsys, data)
    assert code == 0, err
    assert fake.calls == [
        ["first", "second", "not json {", '{"id": "no-text-field"}', '["text", "an array"]']
    ]
    assert rows[0]["id"] == "a1" and rows[0]["meta"] == {"k": [1, 2]} and "text" not in rows[0]
    assert rows[1]["id"] == 7
    # Lines that are not a JSON object with "text" are plain text: nothing echoed.
    assert [set(r) & {"id", "meta"} for r in rows[2:]] == [set(), set(), set()]


def test_empty_and_blank_lines_are_skipped(
    fake: FakeAnalyzer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, rows, _ = run_cli(monkeypatch, capsys, b"\n\none\n   \n\t\r\ntwo\n\n")
    assert code == 0
    assert [r["line"] for r in rows] == [3, 6]
    assert fake.calls == [["one", "two"]]


def test_empty_input(
    fake: FakeAnalyzer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, rows, _ = run_cli(monkeypatch, capsys, b"")
    assert (code, rows, fake.calls) == (0, [], [])


def test_invalid_utf8_is_replaced(
    fake: FakeAnalyzer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = b"caf\xe9 \xff\xfe ok\n\xef\xbb\xbfnot first line bom\n" + "enak 😋\n".encode()
    code, rows, _ = run_cli(monkeypatch, capsys, data)
    assert code == 0
    assert len(rows) == 3
    texts = fake.calls[0]
    assert texts[0] == "caf\ufffd \ufffd\ufffd ok"
    assert texts[2] == "enak 😋"


def test_bom_on_first_line_is_dropped(
    fake: FakeAnalyzer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run_cli(monkeypatch, capsys, b'\xef\xbb\xbf{"id": 1, "text": "hi"}\n')
    assert code == 0
    assert fake.calls == [["hi"]]


def test_lone_surrogates_in_jsonl(
    fake: FakeAnalyzer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, rows, _ = run_cli(monkeypatch, capsys, b'{"id": "x\\ud800", "text": "a\\udc00b"}\n')
    assert code == 0
    assert fake.calls == [["a\ufffdb"]]
    # The echoed id keeps its surrogate exactly (written as a \u escape).
    assert rows[0]["id"] == "x\ud800"


def test_non_string_text_gives_error_record(
    fake: FakeAnalyzer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, rows, err = run_cli(monkeypatch, capsys, b'{"id": 1, "text": null}\n{"id": 2, "text": "ok"}\n')
    assert code == 0
    assert rows[0] == {"line": 1, "id": 1, "error": '"text" must be a string, got null'}
    assert rows[1]["id"] == 2 and rows[1]["language"] == "en"
    assert fake.calls == [["ok"]]
    assert "not analysed" in err


def test_embedding_flag(
    fake: FakeAnalyzer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, rows, _ = run_cli(monkeypatch, capsys, b"abc\nlonger text\n", "--embedding")
    assert code == 0
    assert [r["embedding"] for r in rows] == [[3.0, 0.5], [11.0, 0.5]]


def test_batches_stream_in_order(
    fake: FakeAnalyzer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = "".join(f'{{"id": {i}, "text": "t{i}"}}\n' for i in range(10)).encode()
    code, rows, _ = run_cli(monkeypatch, capsys, data, "--batch-size", "4")
    assert code == 0
    assert [len(c) for c in fake.calls] == [4, 4, 2]
    assert [r["id"] for r in rows] == list(range(10))


def test_reads_file_argument(
    fake: FakeAnalyzer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "posts.txt"
    f.write_bytes(b"one\ntwo")  # no trailing newline
    code = cli.main(["--models-dir", str(MODELS_DIR), str(f)])
    out = capsys.readouterr().out
    assert code == 0
    assert fake.calls == [["one", "two"]]
    assert len(out.splitlines()) == 2


def test_missing_file_exit_2(fake: FakeAnalyzer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main([str(tmp_path / "nope.txt")])
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot read" in err and "nope.txt" in err
    assert fake.calls == []


def test_missing_models_dir_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "posts.txt"
    f.write_text("hello\n")
    code = cli.main(["--models-dir", str(tmp_path / "no-models"), str(f)])
    err = capsys.readouterr().err
    assert code == 2
    assert "no-models" in err and "make models" in err


def test_bad_models_dir_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A directory that exists but holds no models: the real loader must fail, and cleanly.
    f = tmp_path / "posts.txt"
    f.write_text("hello\n")
    (tmp_path / "empty").mkdir()
    code = cli.main(["--models-dir", str(tmp_path / "empty"), str(f)])
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot load models" in err and "Traceback" not in err


def test_bad_batch_size_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--batch-size", "0"])
    assert exc.value.code == 2


def test_no_progress_bar_when_stderr_is_not_a_tty(
    fake: FakeAnalyzer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    big = b"".join(b"post number %d with some words\n" for i in range(40_000))  # > 1 MiB
    code, rows, err = run_cli(monkeypatch, capsys, big)
    assert code == 0 and len(rows) == 40_000
    assert "analyze:" not in err and "it/s" not in err and "B/s" not in err


def test_progress_decision() -> None:
    assert cli._want_progress(True, 10) is True
    assert cli._want_progress(False, None) is False


# --- the real command, real models ------------------------------------------------------------------


def _dengar(args: list[str], stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "dengar_cli", "analyze", *args],
        input=stdin,
        capture_output=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )


@pytest.fixture(scope="module")
def real_output() -> list[dict[str, object]]:
    data = (
        b"I love this airline, the crew was amazing! #happy @united\n"
        b"\n"
        b'{"id": "p2", "text": "Pelayanannya buruk sekali, saya kecewa https://example.com/x"}\n'
        b"invalid \xff\xfe bytes but still text\n"
        b'{"id": "p4", "text": ""}\n'
    )
    proc = _dengar(["--threads", "1", "--embedding"], data)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]


def test_real_models_end_to_end(real_output: list[dict[str, object]]) -> None:
    rows = real_output
    assert [r["line"] for r in rows] == [1, 3, 4, 5]
    en, idn, bad, empty = rows
    assert en["language"] == "en"
    assert en["sentiment"]["label"] == "positive"
    assert en["hashtags"] == ["happy"] and en["mentions"] == ["united"]
    assert idn["id"] == "p2" and idn["language"] == "id"
    assert idn["sentiment"]["label"] == "negative"
    assert idn["domains"] == ["example.com"]
    assert bad["language"] in {"en", "und", "other"}
    assert empty["id"] == "p4" and empty["language"] == "und"
    assert empty["emotion"]["label"] == ""  # type: ignore[index]  # nothing to feel about
    for r in rows:
        scores = r["sentiment"]["scores"]
        assert set(scores) == {"negative", "neutral", "positive"}
        assert abs(sum(scores.values()) - 1.0) < 1e-3
        assert r["emotion"]["label"] in {"", "anger", "joy", "optimism", "sadness"}
        assert isinstance(r["aspects"], list)
        emb = r["embedding"]
        assert isinstance(emb, list) and len(emb) == 384
        # Unit vectors, except the empty text's, which is all zeros (nothing was encoded).
        expected_norm = 0.0 if r is empty else 1.0
        assert abs(float(np.linalg.norm(np.asarray(emb))) - expected_norm) < 1e-3


def test_real_missing_file_exit_2(tmp_path: Path) -> None:
    proc = _dengar([str(tmp_path / "missing.jsonl")], b"")
    assert proc.returncode == 2
    assert b"cannot read" in proc.stderr and b"Traceback" not in proc.stderr


# --- --profile (issue 13): the model set, as DENGAR_NLP__PROFILE picks it for the service ------------------


@pytest.fixture
def loaded(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The models_dir each run loads from, with the fake analyzer."""
    seen: list[Path] = []

    def load(models_dir: Path, **_: object) -> FakeAnalyzer:
        seen.append(models_dir)
        return FakeAnalyzer()

    monkeypatch.setattr(cli, "load_analyzer", load)
    monkeypatch.delenv("DENGAR_NLP__PROFILE", raising=False)
    monkeypatch.delenv("DENGAR_NLP__QUALITY_MODELS_DIR", raising=False)
    return seen


def _quality_set(root: Path) -> Path:
    from dengar_nlp.settings import REQUIRED_MODEL_FILES

    for name in REQUIRED_MODEL_FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    return root


def test_profile_fast_is_the_default_and_loads_the_bundled_models(
    loaded: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dengar_nlp.settings import default_models_dir

    f = tmp_path / "posts.txt"
    f.write_text("hello\n")
    assert cli.main([str(f)]) == 0
    assert cli.main(["--profile", "fast", str(f)]) == 0
    assert loaded == [default_models_dir(), default_models_dir()]


def test_profile_quality_from_flag_or_env_loads_the_quality_set(
    loaded: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    quality = _quality_set(tmp_path / "teacher")
    monkeypatch.setenv("DENGAR_NLP__QUALITY_MODELS_DIR", str(quality))
    f = tmp_path / "posts.txt"
    f.write_text("hello\n")
    assert cli.main(["--profile", "quality", str(f)]) == 0
    monkeypatch.setenv("DENGAR_NLP__PROFILE", "quality")
    assert cli.main([str(f)]) == 0
    # The flag wins over the environment, and --models-dir over both.
    assert cli.main(["--profile", "fast", "--models-dir", str(MODELS_DIR), str(f)]) == 0
    assert cli.main(["--models-dir", str(MODELS_DIR), str(f)]) == 0
    assert loaded == [quality, quality, MODELS_DIR, MODELS_DIR]


def test_profile_quality_without_its_set_is_a_usage_error(
    loaded: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "posts.txt"
    f.write_text("hello\n")
    monkeypatch.setenv("DENGAR_NLP__QUALITY_MODELS_DIR", str(tmp_path / "nowhere"))
    assert cli.main(["--profile", "quality", str(f)]) == 2
    assert "nowhere" in capsys.readouterr().err
    partial = tmp_path / "partial"
    (partial / "encoder").mkdir(parents=True)
    monkeypatch.setenv("DENGAR_NLP__QUALITY_MODELS_DIR", str(partial))
    assert cli.main(["--profile", "quality", str(f)]) == 2
    assert "lacks encoder/model.onnx" in capsys.readouterr().err
    monkeypatch.setenv("DENGAR_NLP__PROFILE", "turbo")
    assert cli.main([str(f)]) == 2
    assert "turbo" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["--profile", "turbo", str(f)])
    assert loaded == []


def test_parallelism_flag_reaches_the_loader(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[object] = []

    def load(models_dir: Path, **kwargs: object) -> FakeAnalyzer:
        seen.append(kwargs["parallelism"])
        return FakeAnalyzer()

    monkeypatch.setattr(cli, "load_analyzer", load)
    f = tmp_path / "posts.txt"
    f.write_text("hello\n")
    assert cli.main([str(f)]) == 0
    assert cli.main(["--parallelism", "operators", str(f)]) == 0
    assert seen == ["posts", "operators"]
    with pytest.raises(SystemExit):
        cli.main(["--parallelism", "cores", str(f)])
