"""Switchboard settings: the only settings module.

Every value comes from the environment (or a local, git-ignored ``.env``)
through django-environ, with a default that is safe for production: DEBUG is
off unless turned on, and without DEBUG a SECRET_KEY must be given.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from core.commandline import started_as

BASE_DIR = Path(__file__).resolve().parent.parent
# Where local state lives (.env, the default SQLite file, STATIC_ROOT): the checkout
# when running from one (manage.py beside config/), else the working directory. An
# installed wheel has BASE_DIR inside site-packages, which is no place for a database.
RUN_DIR = BASE_DIR if (BASE_DIR / "manage.py").is_file() else Path.cwd()

env = environ.Env()
if (RUN_DIR / ".env").is_file():
    # Values already in the process environment win over the file.
    env.read_env(RUN_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# Commands that only read models and migrations sign nothing, so a fresh checkout
# can run `manage.py makemigrations --check` before any .env exists.
KEYLESS_COMMANDS = frozenset({"makemigrations", "showmigrations", "sqlmigrate"})

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "insecure-debug-only-key"  # noqa: S105 - only ever used with DEBUG on
    elif started_as() in KEYLESS_COMMANDS:
        SECRET_KEY = secrets.token_urlsafe(50)  # thrown away with the process
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off: set it in the environment, or run "
            "`make demo` once, which writes a .env with one (see README)."
        )

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Fernet keys for AccountConnection credentials, newest first. The first one
# encrypts; every one listed can still decrypt (rotation).
CREDENTIAL_KEYS = env.list("CREDENTIAL_KEYS", default=[])

INSTALLED_APPS = [
    "axes",
    # Django's admin with our site class: sign-in through /login/ and the second factor.
    "users.second_factor.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "core",
    "users",
    "agents",
    "phone_numbers",
    "audit",
    "jobs",
    "console",
    "api",
    # The database task queue (TASKS_BACKEND=database): its table and `db_worker`.
    "django_tasks_db",
]
# seed_demo, demo_logins and bench (devtools/): development only, never shipped in the
# wheel. On with DEBUG; SWITCHBOARD_DEVTOOLS=true adds them with DEBUG off (make bench).
if env.bool("SWITCHBOARD_DEVTOOLS", default=DEBUG):
    INSTALLED_APPS.append("devtools")

MIDDLEWARE = [
    # First: /metrics' request latency and status counts cover the whole stack.
    "core.metrics.MetricsMiddleware",
    "core.middleware.RequestIdMiddleware",
    "core.middleware.RequestLogMiddleware",
    # Before anything reads the query string: a NUL or an oversize value is a 400.
    "core.middleware.RequestGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.middleware.NoStoreMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # OTPMiddleware gives request.user.is_verified(); ours then keeps a staff member
    # who still owes a second factor on its pages (users.second_factor).
    "django_otp.middleware.OTPMiddleware",
    "users.second_factor.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Which database this request reads from (a replica, or the primary after the
    # user's own write): after authentication, before anything reads data.
    "core.replicas.ReplicaRoutingMiddleware",
    # ETag and If-None-Match (304) for API reads: a hash of the whole answer.
    "api.etags.ApiETagMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

# Templates live in the packages that own them (<app>/templates/, <app>/jinja2/) and
# ship in the wheel; no project-level template directory.
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "builtins": [
                "console.templatetags.switchboard",
                "django.contrib.humanize.templatetags.humanize",
            ],
        },
    },
    {
        # The inventory's table rows (the hot loop of the busiest page:
        # console.number_rows.render_rows) and the inline edits, whose responses
        # carry a row (console.number_edits). Autoescaped like the rest.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "NAME": "jinja2",
        # console/jinja2/ (the backend's APP_DIRS looks in <app>/jinja2/).
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "autoescape": True,
            "auto_reload": DEBUG,
            # Adds timestamp() (console.times), the Django templates' |timestamp.
            "environment": "console.jinja2env.environment",
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{RUN_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DB_SERVER_SIDE_BINDING", default=True
):
    # Server-side parameters let psycopg prepare a statement it has run 5 times on
    # a connection: the API list's join costs more to plan than to run
    # (docs/benchmarks.md). Turn off (DB_SERVER_SIDE_BINDING=false) behind PgBouncer
    # in transaction pooling mode, which cannot keep prepared statements.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=env.int("DB_PREPARE_THRESHOLD", default=5)
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A stalled database costs a request seconds, not a worker (issue 13): give up
    # connecting after DB_CONNECT_TIMEOUT s (libpq's minimum is 2), and let TCP
    # keepalives find a dead network path under an open connection within
    # idle + interval x count = 25 s, inside gunicorn's 30 s worker timeout.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        connect_timeout=env.int("DB_CONNECT_TIMEOUT", default=3),
        keepalives=1,
        keepalives_idle=env.int("DB_KEEPALIVES_IDLE", default=10),
        keepalives_interval=env.int("DB_KEEPALIVES_INTERVAL", default=5),
        keepalives_count=env.int("DB_KEEPALIVES_COUNT", default=3),
    )
# Statement and lock timeouts in ms (0 = none) per kind of work, set on each new
# PostgreSQL connection by core.dbtimeouts with SET, not the `options` startup
# parameter: PgBouncer refuses that (issue 20), and a plain setting can also live
# on the role (ALTER ROLE ... SET), which DB_TIMEOUTS_PER_SESSION=false leaves alone.
DATABASE_TIMEOUTS = {
    # A person or an API client is waiting: 503 + Retry-After within seconds.
    "web": {
        "statement_timeout": env.int("DB_STATEMENT_TIMEOUT_MS", default=5_000),
        "lock_timeout": env.int("DB_LOCK_TIMEOUT_MS", default=3_000),
    },
    # migrate, import_numbers, seed_demo, rotate_encryption_keys: minutes of work,
    # and a lock held briefly by a deploy is worth waiting for.
    "command": {
        "statement_timeout": env.int("DB_COMMAND_STATEMENT_TIMEOUT_MS", default=30 * 60_000),
        "lock_timeout": env.int("DB_COMMAND_LOCK_TIMEOUT_MS", default=60_000),
    },
    # /healthz answers a load balancer within the balancer's own probe timeout.
    "healthz": {
        "statement_timeout": env.int("DB_HEALTHZ_TIMEOUT_MS", default=1_000),
        "lock_timeout": env.int("DB_HEALTHZ_TIMEOUT_MS", default=1_000),
    },
}
DATABASE_TIMEOUTS_PER_SESSION = env.bool("DB_TIMEOUTS_PER_SESSION", default=True)

# Read replicas (core.replicas): streaming standbys of the primary, as aliases replica1,
# replica2... The router sends the reads of read-only requests there, unless the
# request's user or token wrote in the last REPLICA_PIN_SECONDS (read-your-writes, the
# pin kept in the shared cache), or the replica lags more than REPLICA_MAX_LAG_SECONDS
# or is down (checked by each process at most every REPLICA_CHECK_SECONDS).
# Each replica connects like the primary: same options, timeouts and prepared statements.
DATABASE_REPLICAS: list[str] = []
for _number, _url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[]), start=1):
    _replica = {**DATABASES["default"], **env.db_url_config(_url)}
    _replica["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        **env.db_url_config(_url).get("OPTIONS", {}),
    }
    # Under test a replica is the primary's test database (nothing to create).
    _replica["TEST"] = {"MIRROR": "default"}
    # libpq's minimum: a frozen standby costs a request 2 s, then is skipped a while.
    _replica["OPTIONS"]["connect_timeout"] = min(_replica["OPTIONS"].get("connect_timeout", 2), 2)
    # Django's health check (a SELECT 1 before a request's first query) runs outside
    # the watchdog (core.replicas) and would wait forever on a frozen standby; a dead
    # replica connection fails the first query instead, and the view runs again.
    _replica["CONN_HEALTH_CHECKS"] = False
    DATABASES[f"replica{_number}"] = _replica
    DATABASE_REPLICAS.append(f"replica{_number}")
if DATABASE_REPLICAS and DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_REPLICA_URLS needs a PostgreSQL DATABASE_URL.")
DATABASE_ROUTERS = ["core.replicas.ReplicaRouter"]
REPLICA_PIN_SECONDS = env.int("REPLICA_PIN_SECONDS", default=10)
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=10.0)
REPLICA_CHECK_SECONDS = env.float("REPLICA_CHECK_SECONDS", default=2.0)
# A replica statement still running after this long is cut off by the client (the
# replica stopped answering): past the web statement timeout, which a live replica
# enforces itself, and well inside gunicorn's worker timeout.
_WEB_STATEMENT_MS = DATABASE_TIMEOUTS["web"]["statement_timeout"]
REPLICA_STALL_SECONDS = env.float(
    "REPLICA_STALL_SECONDS", default=_WEB_STATEMENT_MS / 1000 + 1 if _WEB_STATEMENT_MS else 25.0
)
# X-Read-Database: the alias a response's routed reads used (the cluster's tests, and
# operators tracing a stale read). Off by default: it names internal topology.
DB_ROUTING_HEADER = env.bool("DB_ROUTING_HEADER", default=False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "users.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"  # the overview: what support staff look for first
LOGOUT_REDIRECT_URL = "login"
# Superusers and number admins (who can reroute every customer's calls) must
# sign in with a TOTP code as well; off only for the demo and the tests.
STAFF_TOTP_REQUIRED = env.bool("STAFF_TOTP_REQUIRED", default=not DEBUG)
OTP_TOTP_ISSUER = "Switchboard"  # the account's name in the authenticator app
# Wrong codes lock a device for 1, 2, 4 ... seconds (django-otp's default, spelt out).
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# Device admins are not registered (users.admin), but never show a TOTP key anyway.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- Security. Every default is the production one; DEBUG relaxes only transport.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers probe, and Prometheus scrapes, over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
# /metrics (core.metrics) answers a scraper sending `Authorization: Bearer <this>`;
# unset, /metrics is off (404).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Staff sessions last a working day.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=10 * 60 * 60)

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],  # no inline scripts: htmx is configured by meta tag
        "style-src": ["'self'", "'unsafe-inline'"],  # the admin and Swagger UI set style attributes
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Five wrong passwords for one username from one address lock that pair for
# 15 minutes: nobody can lock a staff member out from elsewhere.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AXES_USERNAME_CALLABLE = "core.auth.axes_username"
# Behind a proxy the socket's address is the proxy's: lockouts key on the client's
# address from X-Forwarded-For instead (core.client_address has the rule).
AXES_CLIENT_IP_CALLABLE = "core.client_address.client_address"
# Proxies in front of the app that append to X-Forwarded-For (a load balancer: 1).
# 0 ignores the header: a client could write anything in it.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Django's own Redis backend, made fail-soft (core.cache): Redis away means cache
    # misses and a logged warning, never a 5xx; half-second timeouts bound the wait.
    CACHES["default"]["BACKEND"] = "core.cache.ResilientRedisCache"
    CACHES["default"]["OPTIONS"] = {
        "socket_connect_timeout": 0.5,
        "socket_timeout": 0.5,
        **CACHES["default"].get("OPTIONS", {}),
    }
if DATABASE_REPLICAS and CACHES["default"]["BACKEND"] != "core.cache.ResilientRedisCache":
    # A pin in one process's memory (or one machine's files) would not follow the user
    # to the next server; a database cache would be read from the replica itself.
    raise ImproperlyConfigured(
        "DATABASE_REPLICA_URLS needs a shared CACHE_URL (Redis) for read-your-writes pins."
    )
# Sessions stay in the database (the default engine), not cached_db: a session read is
# one indexed lookup (~0.5-1 ms), logging out or a permission change never depends on the
# cache, and a Redis outage cannot bring back a session deleted while it was away.
# The API's answers, per account and data version (api.pagecache): in the shared cache
# when CACHE_URL is given, else in each worker's memory, at most 200 answers (a page
# of 100 numbers is about 350 KB).
API_PAGE_CACHE = env.bool("API_PAGE_CACHE", default=True)
API_PAGE_CACHE_SECONDS = env.int("API_PAGE_CACHE_SECONDS", default=300)
CACHES["api_pages"] = (
    {**CACHES["default"], "KEY_PREFIX": "api-pages"}
    if env.str("CACHE_URL", default="")
    else {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "api-pages",
        "OPTIONS": {"MAX_ENTRIES": 200},
    }
)
# Background jobs' progress and cancel marks while their work runs inside one
# transaction (jobs.services): shared by the web and the workers, so Redis when
# CACHE_URL is given, else files on this machine's disk.
CACHES["jobs"] = (
    {**CACHES["default"], "KEY_PREFIX": "jobs"}
    if env.str("CACHE_URL", default="")
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(env.path("JOBS_CACHE_DIR", default=RUN_DIR / "jobs-cache")),
    }
)
# API rate-limit counters (api.throttling): in Redis when given, shared by every
# app server; otherwise in the database (core.RateCounter), shared by every worker.
_CACHE_URL = env.str("CACHE_URL", default="")
RATELIMIT_REDIS_URL = env.str(
    "RATELIMIT_REDIS_URL",
    default=_CACHE_URL if _CACHE_URL.startswith(("redis://", "rediss://")) else "",
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = RUN_DIR / "staticfiles"
# Static files live in console/static/ (the app directories finder); no STATICFILES_DIRS.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}
# Default storage holds job output (exports/<job id>.csv). Private: nothing serves
# MEDIA_URL; a file leaves only through its owner's /jobs/<id>/download.
# S3 or an S3-compatible store (MinIO, R2...) through django-storages, when several
# machines run workers: `pip install "django-storages[s3]"`, JOBS_STORAGE=s3 and the
# bucket below; boto3 reads its credentials from the environment (AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY) or the machine's role. Files stay private (no public ACL;
# downloads stream through the owner's view, never a bucket URL).
if env.str("JOBS_STORAGE", default="filesystem") == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("JOBS_S3_BUCKET"),
            "endpoint_url": env.str("JOBS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("JOBS_S3_REGION", default="") or None,
            "default_acl": "private",
            "file_overwrite": False,
        },
    }
MEDIA_ROOT = env.path("MEDIA_ROOT", default=RUN_DIR / "media")

# The inventory's streamed CSV (a web request) for views up to this many numbers;
# bigger views export as a background job (console.jobs).
EXPORT_STREAM_MAX_ROWS = env.int("EXPORT_STREAM_MAX_ROWS", default=100_000)
# The largest file an import takes (console.imports); uploads past 2.5 MB go to a
# temporary file as they arrive (Django's default), never into memory.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=100 * 1024 * 1024)

# Background jobs (jobs/, django.tasks). "database" (the default) queues in our own
# database for `manage.py db_worker`: nothing more to run, right for one machine.
# "rq" queues in Redis (TASKS_REDIS_URL) for `manage.py rqworker --job-class
# django_tasks_rq.Job`: production beside several app servers, and the queue's polling
# stays off the database. "immediate" runs the task inside the request (tests).
# `make worker` starts the worker this setting needs.
TASKS_BACKEND = env.str("TASKS_BACKEND", default="database")
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
if TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"TASKS_BACKEND must be one of {', '.join(_TASK_BACKENDS)} (got {TASKS_BACKEND!r})."
    )
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASKS_BACKEND]}}
if TASKS_BACKEND == "rq":
    # django-rq owns the Redis connection and the rqworker command (its admin page
    # lists the queue for superusers); django_tasks_rq's check needs it installed.
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    RQ_QUEUES = {
        "default": {
            "URL": env.str("TASKS_REDIS_URL", default="redis://127.0.0.1:6379/0"),
            # RQ kills a job that runs longer (its default is 180 s: a large export
            # or import takes longer). Our jobs stop themselves when cancelled.
            "DEFAULT_TIMEOUT": env.int("TASKS_RQ_JOB_TIMEOUT", default=6 * 3600),
        }
    }
# A running job with no heartbeat for this long shows "Stalled" and may be retried
# (its worker died or hangs); longer than the slowest batch between two beats.
JOBS_HEARTBEAT_TIMEOUT = env.int("JOBS_HEARTBEAT_TIMEOUT", default=120)
# How long an export's file may be downloaded; `manage.py purge_exports` (cron)
# deletes the files of expired jobs.
JOBS_EXPORT_TTL_HOURS = env.int("JOBS_EXPORT_TTL_HOURS", default=168)
if JOBS_HEARTBEAT_TIMEOUT < 1 or JOBS_EXPORT_TTL_HOURS < 1:
    raise ImproperlyConfigured("JOBS_HEARTBEAT_TIMEOUT and JOBS_EXPORT_TTL_HOURS must be >= 1.")

# Without collectstatic (demo, tests) WhiteNoise serves straight from the finders.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["api.etags.CompactJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.base.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "api.base.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_RATE_LIMIT", default="3000/min")},
    # For any address-based throttle: the same proxy rule as core.client_address.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Switchboard numbers API",
    "VERSION": "1.0.0",
    "DESCRIPTION": "Your phone numbers and the agents that answer them. Compatible with "
    "the upstream platform's GET /v1/numbers/list. Credentials are always masked.",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # Escapes control characters: a %0a in a logged path cannot forge a line.
        "plain": {
            "()": "core.logging.EscapingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
    "loggers": {
        # One line per request comes from switchboard.requests; Django's own
        # 4xx warnings would repeat it.
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
