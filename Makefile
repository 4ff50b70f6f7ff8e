# Every target creates .venv and installs what it needs first, so a fresh
# machine with python3 and make is enough.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo serve worker test lint format check check-deploy wheel-check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

.env:
	$(PYTHON) scripts/write_env.py .env

# seed_demo and demo_logins live in devtools/, installed with DEBUG (.env sets it)
# or SWITCHBOARD_DEVTOOLS: set here too, so an older .env or DEBUG=false still works.
demo: export SWITCHBOARD_DEVTOOLS = true
demo: $(STAMP) .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py setup_roles
	$(BIN)/python manage.py demo_logins
	@echo "Second factor: off in the demo (STAFF_TOTP_REQUIRED=false); production asks superusers and number admins for a TOTP code"
	@echo "Serving http://127.0.0.1:8000 with a background-job worker beside it (Ctrl-C stops both)"
	( $(call run_worker,--verbosity 0) ) & worker=$$!; \
	    trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	    env STAFF_TOTP_REQUIRED=false $(BIN)/python manage.py runserver 127.0.0.1:8000

serve: $(STAMP) .env
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# The background-job worker that TASKS_BACKEND (environment, else .env, else
# "database") needs, asked of the settings themselves: db_worker takes tasks from
# our database; rqworker takes them from Redis (TASKS_REDIS_URL) and needs
# django-tasks-rq's job class. "immediate" runs tasks in the request: no worker.
# It replaces the shell (exec), so the caller's kill reaches the worker itself.
define run_worker
backend=$$($(BIN)/python manage.py shell --no-imports -c \
    'from django.conf import settings; print(settings.TASKS_BACKEND)') || exit 1; \
case "$$backend" in \
    database) exec $(BIN)/python manage.py db_worker --no-reload $(1) ;; \
    rq) exec $(BIN)/python manage.py rqworker --job-class django_tasks_rq.Job $(1) default ;; \
    *) echo "TASKS_BACKEND=$$backend runs each task inside its request: no worker to start" ;; \
esac
endef

worker: $(STAMP) .env
	@$(call run_worker,$(WORKER_ARGS))

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Models and migrations agree (CI runs this).
check: $(STAMP)
	SECRET_KEY=$${SECRET_KEY:-check-only} $(BIN)/python manage.py makemigrations --check --dry-run

# Production settings pass Django's deployment checklist (CI runs this).
check-deploy: $(STAMP)
	env DEBUG=false SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(60))') \
	    ALLOWED_HOSTS=switchboard.example.com \
	    CREDENTIAL_KEYS=$$($(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
	    $(BIN)/python manage.py check --deploy --fail-level WARNING

# The built wheel runs on its own (CI runs this): installed into a fresh venv outside
# the checkout, it passes check --deploy, migrates, collects static files and serves
# /login/ and a static file it links under gunicorn (scripts/wheel_check.sh).
wheel-check: $(STAMP)
	scripts/wheel_check.sh $(BIN)/python

# The million-number benchmark (PostgreSQL; not part of make test).
# DATABASE_URL must name a database the benchmark may fill (it seeds 1M numbers).
# .env supplies SECRET_KEY and the credential key the seeded rows are sealed with.
# DEBUG is off, so SWITCHBOARD_DEVTOOLS=true installs devtools/ (the bench command),
# and STAFF_TOTP_REQUIRED=false: the bench's superuser has no TOTP device, and
# every timed console page would otherwise be a redirect to the second-factor setup;
# the API rate limit is raised so that no timed request is a 429.
bench: $(STAMP) .env
	@test -n "$$DATABASE_URL" || { echo "make bench needs DATABASE_URL (PostgreSQL)"; exit 2; }
	@command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null 2>&1 || \
	    echo "wrk could not be installed: the load run falls back to Python threads"
	$(BIN)/python manage.py migrate --noinput
	env DEBUG=false SWITCHBOARD_DEVTOOLS=true LOG_LEVEL=WARNING SECURE_SSL_REDIRECT=false \
	    STAFF_TOTP_REQUIRED=false API_RATE_LIMIT=100000000/min \
	    ALLOWED_HOSTS=testserver,127.0.0.1,localhost \
	    $(BIN)/python manage.py bench $(BENCH_ARGS)

# make bench of OLD (a commit) and NEW (default HEAD) side by side in one session:
# two clones, databases bench_old and bench_new (seeded once, kept), a table of the
# ratios against the peers and new/old (scripts/bench_compare.sh; docs/benchmarks.md).
.PHONY: bench-compare
bench-compare:
	@test -n "$(OLD)" || { echo "usage: make bench-compare OLD=<commit> [NEW=HEAD] [BENCH_COMPARE_ARGS=...]"; exit 2; }
	scripts/bench_compare.sh $(BENCH_COMPARE_ARGS) $(OLD) $(or $(NEW),HEAD)

# Several servers on one machine (issue 20; scripts/cluster.py): a PostgreSQL primary
# and a streaming standby, Redis, two gunicorn app servers, an RQ worker and HAProxy,
# all on loopback in CLUSTER_DIR (default run/cluster). Ports: CLUSTER_*_PORT.
CLUSTER_DIR ?= run/cluster
.PHONY: cluster cluster-down test-cluster cluster-bench

cluster: $(STAMP)
	env CLUSTER_DIR=$(CLUSTER_DIR) $(BIN)/python scripts/cluster.py up

cluster-down:
	env CLUSTER_DIR=$(CLUSTER_DIR) $(BIN)/python scripts/cluster.py down

# The tests marked `cluster` against a cluster of their own (its own directory, free
# ports, rate limit 20/min, stalled jobs seen after 10 s), always taken down after;
# the exit status is pytest's. A `make cluster` left running is not touched.
TEST_CLUSTER := env CLUSTER_DIR=run/test-cluster $(BIN)/python scripts/cluster.py
test-cluster: $(STAMP)
	@$(TEST_CLUSTER) down >/dev/null
	API_RATE_LIMIT=20/min JOBS_HEARTBEAT_TIMEOUT=10 $(TEST_CLUSTER) up --free-ports \
	    || { $(TEST_CLUSTER) down; exit 1; }
	SWITCHBOARD_CLUSTER=$(CURDIR)/run/test-cluster/cluster.json \
	    $(BIN)/python -m pytest -p no:cacheprovider -m cluster tests/cluster $(PYTEST_ARGS); \
	    status=$$?; $(TEST_CLUSTER) down; exit $$status

# wrk through the balancer with the standby on, then off (not CI): scripts/cluster_bench.py.
cluster-bench: $(STAMP)
	@command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
	$(BIN)/python scripts/cluster_bench.py $(CLUSTER_BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache dist build
