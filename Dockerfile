# syntax=docker/dockerfile:1
# One image for every Dengar service; the command chooses which one runs:
#   python -m dengar_collector | dengar_nlp | dengar_insights | dengar_gateway   (and `dengar` for the CLI)
# Build with `make image` (docker, podman or buildah). The NLP models are inside the wheel.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: the wheel and a virtual environment with its pinned dependencies --------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Dependencies first, so that a source change does not reinstall them.
COPY requirements/constraints.txt requirements/constraints.txt
COPY pyproject.toml setup.py README.md ./
RUN python -m venv /opt/dengar \
 && /opt/dengar/bin/pip install --upgrade pip==25.3 \
 && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && /opt/dengar/bin/pip install -c requirements/constraints.txt -r /tmp/requirements.txt
COPY libs libs
COPY services services
RUN /opt/dengar/bin/pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/dengar/bin/pip install --no-deps /wheels/dengar-*.whl \
 && /opt/dengar/bin/python -m compileall -q /opt/dengar/lib \
 && /opt/dengar/bin/pip uninstall -y pip

# --- runtime: the interpreter and the virtual environment, nothing to build with ----------------
FROM ${PYTHON_IMAGE} AS runtime
# The same base as the build stage, so /opt/dengar's interpreter links are valid. pip, setuptools
# and wheel of the base image go too: nothing is installed at run time.
RUN python -m pip uninstall -y pip setuptools wheel \
 && groupadd --system --gid 10001 dengar \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin dengar
COPY --from=build /opt/dengar /opt/dengar
ENV PATH=/opt/dengar/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DENGAR_BIND_HOST=0.0.0.0 \
    DENGAR_LOG_JSON=true
# Numeric, so that Kubernetes' runAsNonRoot can verify it without a passwd lookup.
USER 10001:10001
WORKDIR /tmp
EXPOSE 8080 50051 50052 50053
CMD ["dengar", "--help"]
