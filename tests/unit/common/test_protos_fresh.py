"""The committed gRPC stubs must match what protos/ generates."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "scripts" / "gen_protos.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_stubs_are_up_to_date(tmp_path: Path) -> None:
    generated = _load_generator().generate(tmp_path)
    assert generated, "no protos found"
    committed_dir = ROOT / "libs"
    stale = []
    for path in generated:
        rel = path.relative_to(tmp_path)
        committed = committed_dir / rel
        if not committed.exists() or committed.read_bytes() != path.read_bytes():
            stale.append(str(rel))
    assert not stale, f"stale generated stubs (run `make protos`): {stale}"


def test_enums_have_unspecified_zero() -> None:
    from dengar.v1 import common_pb2, insights_pb2

    for enum in [common_pb2.Platform, common_pb2.Sentiment, insights_pb2.SortOrder,
                 insights_pb2.Metric, insights_pb2.Interval]:
        zero = enum.Name(0)
        assert zero.endswith("_UNSPECIFIED"), zero
