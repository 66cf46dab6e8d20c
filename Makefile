# Dengar developer entry points. Every target installs what it needs first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DATA ?= ../shared/data
PYTEST_ARGS ?=

# The container image (Dockerfile): one image, every service chosen by its command.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
IMAGE ?= ghcr.io/dengar/dengar:$(VERSION)

.PHONY: install finetune nlp2-models run test test-unit test-integration test-e2e chaos lint typecheck importlint protos models bench bench-nlp bench-collector bench-insights bench-topics bench-stream bench-matching bench-pipeline clean

$(STAMP): pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip==25.3
	$(BIN)/python -m pip install -q --disable-pip-version-check -c requirements/constraints.txt -e '.[local,dev,train]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m dengar_cli run

lint: install
	$(BIN)/ruff check .

# Strict mypy on libs/ and every service's domain/ and service_layer/ (pyproject [tool.mypy]).
typecheck: install
	$(BIN)/mypy

# Architecture contracts (pyproject [tool.importlinter]).
importlint: install
	$(BIN)/lint-imports

test: install lint typecheck importlint
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) tests

test-unit: install
	$(BIN)/python -m pytest -q tests/unit

test-integration: install
	$(BIN)/python -m pytest -q tests/integration

test-e2e: install
	$(BIN)/python -m pytest -q tests/e2e

# The chaos test (tests/e2e/test_chaos.py) with more rounds of faults than `make test`'s one.
CHAOS_ROUNDS ?= 5
chaos: install
	DENGAR_CHAOS_ROUNDS=$(CHAOS_ROUNDS) $(BIN)/python -m pytest -q -p no:cacheprovider tests/e2e/test_chaos.py

# The API fuzzer (tests/e2e/test_api_fuzz.py) with many more cases than `make test` runs.
FUZZ_EXAMPLES ?= 200
.PHONY: fuzz
fuzz: install
	DENGAR_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -p no:cacheprovider tests/e2e/test_api_fuzz.py

protos: install
	$(BIN)/python scripts/gen_protos.py

models: install
	$(BIN)/python services/nlp/scripts/build_models.py --data $(DATA)

# Fine-tunes the 12-layer e5-small teacher on every NLP task (issue 13): hours on a small CPU, so run it
# in the background (`nohup nice -n 19 make finetune >/dev/null 2>&1 &`) and follow $(FINETUNE_OUT)/train.log.
# Checkpoints and logs go to FINETUNE_OUT, outside the repository; the same command resumes a stopped run.
# The `finetune` extra (torch, CPU) is installed only here, never by `make install` / `make test`.
# FINETUNE_PIP_ARGS: e.g. --extra-index-url https://download.pytorch.org/whl/cpu where no CPU wheel is local.
FINETUNE_OUT ?= ../nlp2-runs/teacher
FINETUNE_ARGS ?=
FINETUNE_PIP_ARGS ?=
FINETUNE_STAMP := $(VENV)/.finetune-stamp
$(FINETUNE_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c requirements/constraints.txt \
		$(FINETUNE_PIP_ARGS) -e '.[local,dev,train,finetune]'
	touch $(FINETUNE_STAMP)

finetune: $(FINETUNE_STAMP)
	$(BIN)/python services/nlp/scripts/finetune.py --data $(DATA) --out $(FINETUNE_OUT) $(FINETUNE_ARGS)

# After the fine-tune (issue 13): export the teacher (and students), retrain the heads on each, copy
# language id, and bench them next to the committed models in one run. Model sets and the report go to
# NLP2_OUT (`OUT=` on the command line works too), outside the repository:
#   make nlp2-models TEACHER=../nlp2-runs/teacher/best.pt [STUDENT=../nlp2-runs/student6/best.pt] OUT=dir
# STUDENT may list several (space-separated, NAME=PATH to name them); NLP2_ARGS e.g. --smoke (minutes,
# capped data: checks the chain, not for use) or --steps heads bench.
TEACHER ?=
STUDENT ?=
NLP2_OUT ?= $(if $(filter command line,$(origin OUT)),$(OUT),../nlp2-runs/models)
NLP2_ARGS ?=
nlp2-models: $(FINETUNE_STAMP)
	@test -n "$(TEACHER)$(STUDENT)" || { echo "make nlp2-models: pass TEACHER=<run>/best.pt (and/or STUDENT=...)" >&2; exit 2; }
	$(BIN)/python services/nlp/scripts/build_nlp2.py --data $(DATA) --out $(NLP2_OUT) \
		$(if $(TEACHER),--teacher $(TEACHER)) $(foreach s,$(STUDENT),--student $(s)) $(NLP2_ARGS)

bench: bench-nlp bench-collector bench-matching bench-insights bench-topics bench-stream bench-pipeline

# CANDIDATES: model sets to bench next to the committed fast set (default: the committed quality set),
# e.g. CANDIDATES="quality=services/nlp/models/quality student6=../nlp2-runs/models/student6"
CANDIDATES ?= quality=services/nlp/models/quality
BENCH_NLP_ARGS ?=
bench-nlp: install
	$(BIN)/python bench/bench_nlp.py --data $(DATA) --out bench/results \
		$(foreach c,$(CANDIDATES),--candidate $(c)) $(BENCH_NLP_ARGS)

bench-collector: install
	$(BIN)/python bench/bench_collector.py --out bench/results

# The query matcher before and after the linear NEAR (issue 12): normal workload and the attack.
bench-matching: install
	$(BIN)/python bench/bench_matching.py --out bench/results

bench-insights: install
	$(BIN)/python bench/bench_insights.py --out bench/results

bench-stream: install
	$(BIN)/python bench/bench_stream.py --out bench/results

# The whole pipeline on the real platform (issue 14): e2e / NLP-only, store ops and CPU per post.
# BENCH_PIPELINE_ARGS: e.g. --label before, or smaller sizes (--nlp-posts 300 --e2e-posts 300).
bench-pipeline: install
	$(BIN)/python bench/bench_pipeline.py --out bench/results $(BENCH_PIPELINE_ARGS)

# Embeds the airline tweets once (a few minutes) into TOPICS_CACHE, outside the repository.
TOPICS_CACHE ?= /tmp/dengar-topics-cache
bench-topics: install
	$(BIN)/python bench/bench_topics.py --data $(DATA) --cache $(TOPICS_CACHE) --out bench/results

# Whichever container tool is installed builds it; none is needed by any other target.
.PHONY: image
image:
	@if command -v docker >/dev/null 2>&1; then set -x; docker build -t $(IMAGE) -f Dockerfile .; \
	elif command -v podman >/dev/null 2>&1; then set -x; podman build -t $(IMAGE) -f Dockerfile .; \
	elif command -v buildah >/dev/null 2>&1; then set -x; buildah build -t $(IMAGE) -f Dockerfile .; \
	else echo "make image: no container tool found; install docker, podman or buildah" >&2; exit 1; fi

clean:
	rm -rf $(VENV) .dengar .pytest_cache .ruff_cache
