"""The container image without a container runtime: the Dockerfile read statically, `make image`'s
choice of tool, and the wheel the image installs, installed into a fresh virtual environment where
every service answers `--help`."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("collector", "nlp", "insights", "gateway")


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = f"{pending} {line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        word, _, rest = pending.partition(" ")
        out.append((word.upper(), rest.strip()))
        pending = ""
    return out


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for ins in _instructions():
        if ins[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(ins)
    return stages


def _dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = re.escape(pattern).replace(r"\*\*", "\0").replace(r"\*", "[^/]*").replace("\0", ".*")
        rules.append((include, re.compile(regex.replace(r"\?", "[^/]"))))
    return rules


def in_context(rel: str) -> bool:
    """Whether `rel` reaches the build context (.dockerignore: the last matching rule wins, and a
    directory's rule covers what is below it)."""
    parts = rel.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    kept = True
    for include, regex in _dockerignore_rules():
        if any(regex.fullmatch(c) for c in candidates):
            kept = include
    return kept


def _tracked(under: str) -> list[str]:
    res = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", under],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return res.stdout.split()


def _copies() -> list[tuple[list[str], str, dict[str, str]]]:
    out = []
    for stage in _stages():
        for word, args in stage:
            if word == "COPY":
                tokens = shlex.split(args)
                flags = dict(t[2:].split("=", 1) for t in tokens if t.startswith("--"))
                paths = [t for t in tokens if not t.startswith("--")]
                out.append((paths[:-1], paths[-1], flags))
    return out


def test_every_copy_source_exists_and_is_in_the_build_context() -> None:
    stage_names = {args.split()[-1] for s in _stages() for w, args in s if w == "FROM" and " AS " in args}
    for sources, _, flags in _copies():
        if "from" in flags:
            assert flags["from"] in stage_names, flags
            continue
        for src in sources:
            assert (ROOT / src).exists(), f"COPY {src}: no such file"
            assert in_context(src), f"COPY {src}: excluded by .dockerignore"
    # What the wheel needs reaches the context: every module, the models and the dashboard.
    copied = [s for sources, _, flags in _copies() if "from" not in flags for s in sources]
    needed = [f for d in ("libs", "services") for f in _tracked(d)
              if f.endswith((".py", ".onnx", ".json", ".html", ".js", ".css", "py.typed"))]
    assert any(f.endswith(".onnx") for f in needed)
    for f in needed:
        assert in_context(f) and any(f == s or f.startswith(s.rstrip("/") + "/") for s in copied), f


def test_the_final_stage_is_slim_non_root_and_has_no_build_tools() -> None:
    stages = _stages()
    assert len(stages) >= 2, "multi-stage"
    args = {a.split("=", 1)[0]: a.split("=", 1)[1] for w, a in _instructions()[:1] if w == "ARG"}
    base = args["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.1[1-3]-slim(-\w+)?", base), base
    final = stages[-1]
    assert final[0][1].split()[0] == "${PYTHON_IMAGE}"
    runs = " ".join(a for w, a in final if w == "RUN")
    for tool in ("apt-get install", "apk add", "pip install", "gcc", "build-essential", "make "):
        assert tool not in runs, tool
    # pip itself is removed from the runtime: nothing is installed there.
    assert "pip uninstall -y pip" in runs
    [user] = [a for w, a in final if w == "USER"]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0 and (not gid or int(gid) > 0)
    # The manifests run the image as that same user.
    for path in (ROOT / "deploy" / "k8s" / "base").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            spec = (doc or {}).get("spec", {}).get("template", {}).get("spec", {})
            if any(c.get("image", "").startswith("ghcr.io/dengar/") for c in spec.get("containers", [])):
                assert spec["securityContext"]["runAsUser"] == int(uid), path.name


def test_the_entrypoints_exist() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    [cmd] = [a for w, a in _stages()[-1] if w == "CMD"]
    program = yaml.safe_load(cmd)[0]
    assert program in project["scripts"]
    module, _, _ = project["scripts"][program].partition(":")
    assert (ROOT / "libs" / Path(*module.split("."))).with_suffix(".py").is_file()
    for service in SERVICES:
        assert (ROOT / "services" / service / f"dengar_{service}" / "__main__.py").is_file()
    # The manifests choose the service by its command, in the image `make image` tags.
    make = subprocess.run(["make", "-s", "--no-print-directory", "-n", "image"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout
    image = re.search(r"docker build -t (\S+)", make)
    assert image and image.group(1) == f"ghcr.io/dengar/dengar:{project['version']}"
    seen = set()
    for path in (ROOT / "deploy" / "k8s" / "base").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            spec = (doc or {}).get("spec", {}).get("template", {}).get("spec", {})
            for c in spec.get("containers", []):
                if c.get("image", "").startswith("ghcr.io/dengar/"):
                    assert c["image"] == image.group(1)
                    python, flag, mod = c["command"]
                    assert (python, flag) == ("python", "-m") and mod.startswith("dengar_")
                    seen.add(mod.removeprefix("dengar_"))
    assert seen == set(SERVICES)


def _fake_tool(bin_dir: Path, name: str, log: Path) -> None:
    script = bin_dir / name
    script.write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\n')
    script.chmod(0o755)


@pytest.mark.parametrize("tools,expected", [
    (("docker", "podman", "buildah"), "docker build -t"),
    (("podman", "buildah"), "podman build -t"),
    (("buildah",), "buildah build -t"),
])
def test_make_image_uses_whichever_tool_is_installed(tmp_path: Path, tools: tuple[str, ...],
                                                      expected: str) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    for tool in tools:
        _fake_tool(bin_dir, tool, log)
    # Only the fake tools and the basic utilities: no real container tool may be found.
    for util in ("sed", "sh"):
        os.symlink(shutil.which(util) or f"/bin/{util}", bin_dir / util)
    make = shutil.which("make")
    assert make
    res = subprocess.run([make, "-s", "image"], cwd=ROOT, env={"PATH": str(bin_dir)},
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    [call] = log.read_text().splitlines()
    assert call.startswith(expected) and call.endswith("-f Dockerfile .")


def test_make_image_without_a_tool_says_so(tmp_path: Path) -> None:
    make = shutil.which("make")
    assert make
    res = subprocess.run([make, "-s", "image"], cwd=ROOT, env={"PATH": str(tmp_path)},
                         capture_output=True, text=True)
    assert res.returncode != 0
    assert "install docker, podman or buildah" in res.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel the image builds, from exactly the files the build context gets."""
    src = tmp_path_factory.mktemp("context")
    for f in _tracked("."):
        if in_context(f) and (ROOT / f).is_file():
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, src / f)
    out = tmp_path_factory.mktemp("wheel")
    # No build isolation: the project venv's setuptools (grpcio-tools, a dev dependency, brings it),
    # so nothing is downloaded.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "--wheel-dir", str(out), str(src)], check=True)
    [whl] = out.glob("dengar-*.whl")
    return whl


def test_the_wheel_holds_every_package_and_the_models(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for root in ("libs", "services/collector", "services/nlp", "services/insights", "services/gateway"):
        for init in _tracked(root):
            if init.endswith(("__init__.py", "py.typed")):
                rel = init.removeprefix(root + "/")
                if rel.startswith("dengar"):  # not the build scripts next to the packages
                    assert rel in names, rel
    models = [f for f in _tracked("services/nlp/models") if not f.endswith(".md")]
    assert models
    for f in models:
        assert "dengar_nlp/models/" + f.removeprefix("services/nlp/models/") in names, f
    for f in _tracked("services/gateway/dengar_gateway/static"):
        assert f.removeprefix("services/gateway/") in names, f


def test_the_installed_wheel_runs_every_service_help(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    "--no-index", "--disable-pip-version-check", str(wheel)], check=True)
    # The dependencies (not Dengar: its editable install's own .pth is not read from there) come
    # from the project's environment, after the fresh venv's own site-packages.
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    deps = next(p for p in sys.path if p.endswith("site-packages") and Path(p, "pydantic").is_dir())
    Path(site, "project-deps.pth").write_text(deps + "\n")
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    probe = subprocess.run(
        [str(python), "-c", "import dengar_common, dengar_nlp.settings as s; "
         "print(dengar_common.__file__); print(s.default_models_dir())"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.split()
    for path in probe:
        assert path.startswith(str(venv)), path
    assert (Path(probe[1]) / "encoder" / "model.onnx").is_file()
    for service in SERVICES:
        res = subprocess.run([str(python), "-m", f"dengar_{service}", "--help"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        assert f"DENGAR_{service.upper()}__" in res.stdout and "DENGAR_NATS_URL" in res.stdout
    # The installed models load: the `dengar` console script of the wheel analyses a text.
    res = subprocess.run([str(venv / "bin" / "dengar"), "analyze"], input="Pengiriman telat lagi, kecewa\n",
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert '"sentiment"' in res.stdout
