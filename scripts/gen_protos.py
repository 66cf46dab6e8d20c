"""Regenerate the Python gRPC stubs from protos/ into libs/dengar/v1 (committed)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "protos"


def generate(out_dir: Path) -> list[Path]:
    protos = sorted(PROTO_DIR.rglob("*.proto"))
    include = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(p) for p in protos],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    generated = []
    for proto in protos:
        pkg_dir = out_dir / proto.relative_to(PROTO_DIR).parent
        for parent in [pkg_dir, *pkg_dir.relative_to(out_dir).parents]:
            init = out_dir / parent if parent != pkg_dir else pkg_dir
            if init == out_dir:
                continue
            (init / "__init__.py").touch()
        generated.extend(sorted(pkg_dir.glob(f"{proto.stem}_pb2*")))
    return generated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "libs")
    ns = parser.parse_args()
    files = generate(ns.out)
    sys.stderr.write(f"generated {len(files)} files under {ns.out}\n")


if __name__ == "__main__":
    main()
