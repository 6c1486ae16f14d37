# Sirkel — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
DEV := scripts/dev.sh

# DATABASE_URL wins; otherwise the project-local cluster in .data/ is started and used.
define with_db
	if [ -n "$${DATABASE_URL:-}" ]; then url="$$DATABASE_URL"; else $(DEV) db-start; url="$$($(DEV) db-url)"; fi; \
	export SIRKEL_DATABASE__URL="$$url";
endef

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: venv
venv: ## create .venv and install the locked dependencies (Python, and the map's npm assets)
	@$(DEV) venv
	@$(DEV) web

.PHONY: db
db: venv ## start the project-local PostGIS (if DATABASE_URL is unset), migrate, load reference data
	@$(with_db) \
	$(PY) -m alembic upgrade head; \
	$(PY) -m app.cli load-reference

.PHONY: run
run: db ## bring up the API on http://$(HOST):$(PORT) and the outbox worker, with a local PostGIS
	@$(DEV) browser-packages
	@$(with_db) \
	echo "==> Sirkel on http://$(HOST):$(PORT)  (docs: http://$(HOST):$(PORT)/docs, schema: /openapi.json)"; \
	$(PY) -m app.cli worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) -m uvicorn app.main:create_app --factory --host $(HOST) --port $(PORT) --no-access-log --no-proxy-headers

.PHONY: demo-data
demo-data: db ## fill the database with a realistic demo set
	@$(with_db) $(PY) -m app.cli demo-data

.PHONY: stop
stop: ## stop the project-local PostgreSQL cluster
	@$(DEV) db-stop

.PHONY: lint
lint: venv ## ruff (lint + format check) and mypy --strict
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy app tests migrations bench

# Two workers (each with its own database in the tests' cluster): the machines have two cores.
TEST_WORKERS ?= 2

.PHONY: test
test: venv ## the whole check: lint, types, and the test suite on a PostGIS the tests start
	@$(DEV) packages
	@$(DEV) test-packages
	$(MAKE) --no-print-directory lint
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --durations=15

.PHONY: format
format: venv ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: lock
lock: ## regenerate constraints.txt from the current .venv (after changing pyproject.toml)
	@{ echo "# Exact versions every machine installs: pip install -c constraints.txt -e '.[dev]'"; \
	   echo "# Regenerate after changing pyproject.toml: make lock"; \
	   $(VENV)/bin/pip freeze --exclude-editable | grep -v '^sirkel'; } > constraints.txt
	@echo "constraints.txt updated"

.PHONY: bench
bench: ## the benchmark of issue #7 on 1,000,000 listings; writes docs/benchmarks.md (< 20 min)
	@bench/run.sh

.PHONY: bench-quick
bench-quick: ## the same benchmark on 10,000 listings with short rounds (a few minutes)
	@BENCH_SIZE=$${BENCH_SIZE:-10000} BENCH_DURATION=$${BENCH_DURATION:-3} BENCH_WARMUP=$${BENCH_WARMUP:-1} bench/run.sh

.PHONY: bench-impact
bench-impact: ## impact queries on 10,000,000 evidence records vs direct SQL; writes its section of docs/benchmarks.md
	@$(DEV) venv && $(DEV) packages
	@$(PY) -m bench.impact_run

.PHONY: bench-outbox
bench-outbox: ## the outbox under 200 events/s: notification and webhook lag, the write path's cost
	@$(DEV) venv && $(DEV) packages
	@$(PY) -m bench.outbox

.PHONY: bench-impact-quick
bench-impact-quick: ## the same on 200,000 evidence records with fewer rounds (a few minutes)
	@$(DEV) venv && $(DEV) packages
	@BENCH_IMPACT_SIZE=$${BENCH_IMPACT_SIZE:-200000} BENCH_IMPACT_ROUNDS=$${BENCH_IMPACT_ROUNDS:-20} $(PY) -m bench.impact_run

.PHONY: bench-libraries
bench-libraries: ## availability and placing a hold on the 1,000,000 listings bench-matching made; writes its section of docs/benchmarks.md
	@$(DEV) venv && $(DEV) packages
	@$(PY) -m bench.libraries

.PHONY: bench-matching
bench-matching: ## matching and alerts on 1,000,000 listings and 100,000 saved searches; writes its section of docs/benchmarks.md
	@$(DEV) venv && $(DEV) packages
	@$(PY) -m bench.matching

.PHONY: bench-photos
bench-photos: ## photos: a 12 MP JPEG and HEIC through the pipeline and the API, uploads/s, the API's memory
	@$(DEV) venv && $(DEV) packages
	@$(PY) -m bench.photos

.PHONY: bench-imports
bench-imports: ## ORDS imports: a 300,000-row file's rows/s by phase, and single repairs' latency meanwhile (~10 min)
	@$(DEV) venv && $(DEV) packages
	@$(PY) -m bench.imports

.PHONY: bench-imports-quick
bench-imports-quick: ## the same on 30,000 rows with a shorter baseline (a few minutes)
	@$(DEV) venv && $(DEV) packages
	@$(PY) -m bench.imports --quick
