# The two commands of the README, and the steps they are made of. Each target installs
# what it needs: a fresh machine with Python 3.11 and Go needs nothing else by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.requirements-installed

.PHONY: run run-3.0 test test-random postgres lint typecheck models verify-models sandbox-build sandbox-up sandbox-down browser bench bench-scale bench-store image-test clean gettext compilemessages messages

## make run: the console at http://127.0.0.1:8000 on two throwaway sandbox clusters with demo data,
## prod-2-3 (emqx-operator 2.3) and legacy-2-2 (2.2); more options with DEMO_ARGS="--pace 0.5 ...".
DEMO_ARGS ?=
run: $(STAMP) sandbox-build compilemessages
	$(PY) manage.py demo $(DEMO_ARGS)

## make run-3.0: the same, plus a third cluster next-3-0 on operator 3.0 (EMQX v3beta1, EMQXAPIKey)
run-3.0: $(STAMP) sandbox-build compilemessages
	$(PY) manage.py demo --with-3.0 $(DEMO_ARGS)

## make test: every test (lint, type check, generated-code check, unit, integration against the sandbox)
## pytest runs in TEST_WORKERS processes (pytest-xdist), each test file whole in one of them, each
## process with sandbox clusters of its own; TEST_WORKERS=0 runs it in this one process.
TEST_WORKERS ?= 2
PYTEST_PROCESSES = $(if $(filter 0,$(TEST_WORKERS)),-p no:xdist,-n $(TEST_WORKERS) --dist loadfile)
test: $(STAMP) sandbox-build browser postgres compilemessages
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m emqx.codegen --verify
	$(PY) -m pytest $(PYTEST_PROCESSES)

## make test-random: pytest alone, in a random order; pytest-randomly prints the seed first ("Using --randomly-seed=N").
## Repeat an order with SEED=N (or SEED=last): make test-random SEED=N
SEED ?=
test-random: $(STAMP) sandbox-build browser postgres compilemessages
	$(PY) -m pytest $(PYTEST_PROCESSES) -p randomly $(if $(SEED),--randomly-seed=$(SEED))

## make bench: the console's speed and its load on the API server (own sandbox; writes nothing)
bench: $(STAMP) sandbox-build
	$(PY) -m bench

## make bench-scale: the console at the issue-18 scale (10 sandbox API servers, 10,000 EMQX, 1,000 EmqxBroker,
## 1,000 Rebalance; about 11 GiB of RAM for the API servers, 20-25 minutes; not part of make test). Smaller, and writing
## docs/benchmarks.md: make bench-scale BENCH_SCALE_ARGS="--clusters 3 --emqx 3000 --brokers 300 --rebalances 300 --write-docs"
BENCH_SCALE_ARGS ?=
bench-scale: $(STAMP) sandbox-build
	$(PY) -m bench.scale $(BENCH_SCALE_ARGS)

## make bench-store: the candidate stores for issue 18's fleet (today's models per worker, compact records per
## worker, one SQLite WAL file with one writer and N readers), on the same synthetic 10,000 EMQX + 1,000 + 1,000 in
## memory and on disk (no sandbox; 3-5 minutes; docs/benchmarks.md "Choosing the store"). Options: BENCH_STORE_ARGS
BENCH_STORE_ARGS ?=
bench-store: $(STAMP)
	$(PY) -m bench.store_alternatives $(BENCH_STORE_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .

# mypy --strict on emqx/, sandbox/ and console/ (pyproject.toml [tool.mypy]; console/ through the django-stubs
# plugin). Cold about 16 s, a re-run (.mypy_cache) about 1 s.
typecheck: $(STAMP)
	$(PY) -m mypy

## make models: regenerate emqx/models/ from the vendored CRDs
models: $(STAMP)
	$(PY) -m emqx.codegen

verify-models: $(STAMP)
	$(PY) -m emqx.codegen --verify

# Browser tests drive Debian's Chromium (Playwright's own browser download cannot be used).
browser:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The translations (issue 19) need GNU gettext's msgfmt, xgettext and msgmerge: Debian's gettext.
gettext:
	@command -v msgfmt >/dev/null && command -v xgettext >/dev/null && command -v msgmerge >/dev/null || { \
	  echo "Installing Debian's gettext for the translations (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null; }

# The compiled catalogues (locale/<lang>/LC_MESSAGES/django.mo), built from the committed .po files and never
# committed themselves (.gitignore). Only the project's locale/ is compiled, not the virtualenv's.
compilemessages: $(STAMP) gettext
	$(PY) manage.py compilemessages --ignore '.*' --ignore sandbox --ignore bench --ignore tests --verbosity 0

## make messages: after marking new strings, add them to locale/zh_Hans/LC_MESSAGES/django.po (then translate
## them there, in the terms of docs/glossary-zh.md); tests/console/test_i18n.py fails while one is missing.
## The options (locale, which folders) are console/management/commands/makemessages.py's defaults.
messages: $(STAMP) gettext
	$(PY) manage.py makemessages

# The console's database tests also run on PostgreSQL (tests/test_postgres.py starts its own server).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { \
	  echo "Installing Debian's postgresql for the database tests (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# kube-apiserver, etcd and kubectl for the sandbox, and helm for the chart's tests (tests/deploy/).
sandbox-build: $(STAMP)
	$(PY) -m sandbox build >/dev/null
	$(PY) -c 'from sandbox.build import ensure_helm; ensure_helm()' >/dev/null

## make image-test: build the console's image (deploy/Containerfile) on a Debian bookworm made with debootstrap,
## with buildah, and smoke-test it (check --deploy, gunicorn); minutes, so not part of make test.
image-test: $(STAMP)
	@command -v buildah >/dev/null && command -v debootstrap >/dev/null || { \
	  echo "Installing Debian's buildah and debootstrap for the image test (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah debootstrap >/dev/null; }
	CONSOLE_IMAGE_TEST=1 $(PY) -m pytest tests/deploy/test_image.py -s -p no:cacheprovider

sandbox-up: $(STAMP) sandbox-build
	$(PY) -m sandbox up

sandbox-down: $(STAMP)
	$(PY) -m sandbox down

# The virtualenv is rebuilt when the pinned requirements change.
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

clean:
	-$(PY) -m sandbox down
	rm -rf $(VENV) .sandbox .pytest_cache .ruff_cache .mypy_cache
