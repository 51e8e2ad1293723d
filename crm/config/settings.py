"""Django settings for the CRM, read from the environment.

Every deployment knob is a ``CRM_*`` variable (or ``DATABASE_URL``); the defaults give a
laptop install on SQLite under ``var/``. ``CRM_PRODUCTION=1`` switches on the hardened
defaults that ``manage.py check --deploy`` expects.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from crm.config.env import env_bool, env_int, env_list, env_str, secret_key
from crm.core.csp import parse_policy, parse_report_uri

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("CRM_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

PRODUCTION = env_bool("CRM_PRODUCTION")
# Debug pages show tracebacks and settings to whoever triggers an error: only when asked for
# (``make run`` asks on a loopback address only), never by default.
DEBUG = env_bool("CRM_DEBUG")
SECRET_KEY = secret_key(VAR_DIR)
ALLOWED_HOSTS = env_list("CRM_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CRM_CSRF_TRUSTED_ORIGINS")
# Reverse proxies (addresses, CIDR networks) whose X-Forwarded-For is believed (crm.core.http).
TRUSTED_PROXIES = env_list("CRM_TRUSTED_PROXIES")
# Where users reach the CRM: links in e-mails (no request to take the host from) start here.
CRM_BASE_URL = env_str("CRM_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # serves the API docs' Swagger UI from local static files, never a CDN
    "crm.core",
    "crm.accounts",
    "crm.notifications",
    "crm.planner",
    "crm.customers",
    "crm.sales",
    "crm.leads",
    "crm.activities",
    "crm.mailings",
    "crm.analytics",
    "crm.correspondence",
    "crm.transfer",
    "crm.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "crm.core.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "crm.accounts.middleware.UserLanguageMiddleware",
    "crm.accounts.middleware.ActiveUserMiddleware",
    "crm.accounts.devices.KnownDeviceMiddleware",
    "crm.accounts.middleware.SessionEndAuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "crm.core.middleware.SessionLifetimeMiddleware",
    # After the session's clocks: an expired session signs out before the obligation applies.
    "crm.accounts.middleware.TwoFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

if PRODUCTION:
    # In production gunicorn serves the collected, hashed static files through WhiteNoise;
    # the development server and the tests serve them from the app folders.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "crm.config.urls"
WSGI_APPLICATION = "crm.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "crm" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    # A connection is kept between requests only when asked for: that suits servers whose
    # threads live long (gunicorn's sync and gthread workers, bounded by workers x threads),
    # never the development server, which starts a thread per connection. A kept connection
    # is checked before reuse, so a restarted database costs no failed request.
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("CRM_DB_CONN_MAX_AGE", 0),
            conn_health_checks=True,
        )
    }
    # No JIT compilation: the reports' aggregations cost enough to trigger it, and compiling
    # took 1-2 s per query against tens of milliseconds of execution (bench/RESULTS.md,
    # "Analytics at full size"). An ``options`` given in DATABASE_URL wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "crm.sqlite3"),
            "OPTIONS": {
                # WAL lets the worker write while the web server reads; the busy timeout
                # makes a writer wait for the lock instead of failing at once.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                ),
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
            },
            "TEST": {"NAME": env_str("CRM_TEST_SQLITE_NAME") or None},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The covering indexes (INCLUDE columns: MatchKey's, and the report indexes of deals,
    # stage visits and timeline entries) are a PostgreSQL feature; on SQLite each is a plain
    # index on its keys, which is what we want there.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

# --- cache and jobs ---------------------------------------------------------------------------
REDIS_URL = env_str("CRM_REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    # A database cache is shared by every process (web and worker), which the login
    # throttle needs; a per-process memory cache would let each process count alone.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "crm_cache",
        }
    }

# Progress of long jobs (the bulk reassignment) must be readable by other processes while
# the job's database transaction is still open, so it never lives in the database.
CACHES["progress"] = (
    {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "progress",
    }
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "progress"),
    }
)

TASKS = {"default": {"BACKEND": env_str("CRM_TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}

# --- auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["crm.accounts.backends.ThrottledModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in throttle (crm.accounts.throttle): strict limits per account and address and per
# address; past the per-account limit only the owner's known devices and addresses may try.
LOGIN_THROTTLE_ACCOUNT_LIMIT = env_int("CRM_LOGIN_THROTTLE_ACCOUNT_LIMIT", 5)
LOGIN_THROTTLE_ADDRESS_LIMIT = env_int("CRM_LOGIN_THROTTLE_ADDRESS_LIMIT", 20)
LOGIN_THROTTLE_ACCOUNT_WIDE_LIMIT = env_int("CRM_LOGIN_THROTTLE_ACCOUNT_WIDE_LIMIT", 10)
LOGIN_THROTTLE_WINDOW_SECONDS = env_int("CRM_LOGIN_THROTTLE_WINDOW_SECONDS", 15 * 60)
LOGIN_KNOWN_DEVICE_DAYS = env_int("CRM_LOGIN_KNOWN_DEVICE_DAYS", 180)
LOGIN_KNOWN_ADDRESS_DAYS = env_int("CRM_LOGIN_KNOWN_ADDRESS_DAYS", 30)
# Two-factor sign-in (TOTP): who must turn it on — "none", "admins" or "all". Production
# requires it of administrators; a laptop or demo install (make run, the tests) of nobody.
CRM_2FA_REQUIRED = env_str("CRM_2FA_REQUIRED", "admins" if PRODUCTION else "none").strip().lower()
if CRM_2FA_REQUIRED not in {"none", "admins", "all"}:
    raise ImproperlyConfigured("CRM_2FA_REQUIRED must be none, admins or all")
# The name the authenticator app shows; wrong codes allowed per user per window (then 429).
CRM_2FA_ISSUER = env_str("CRM_2FA_ISSUER", "CRM")
CRM_2FA_THROTTLE_LIMIT = env_int("CRM_2FA_THROTTLE_LIMIT", 5)
CRM_2FA_THROTTLE_WINDOW_SECONDS = env_int("CRM_2FA_THROTTLE_WINDOW_SECONDS", 15 * 60)

# --- e-mail -----------------------------------------------------------------------------------
# Outgoing mail (notifications, reminders). Without CRM_EMAIL_HOST on a laptop the messages are
# printed to the console instead of being sent.
EMAIL_HOST = env_str("CRM_EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("CRM_EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("CRM_EMAIL_USER")
EMAIL_HOST_PASSWORD = env_str("CRM_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("CRM_EMAIL_TLS", EMAIL_PORT == 587)
EMAIL_USE_SSL = env_bool("CRM_EMAIL_SSL", EMAIL_PORT == 465)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env_str("CRM_EMAIL_FROM", "CRM <crm@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# E-mail written from a card (crm.correspondence): CRM_MAIL_FROM is the company's sales
# address ("Name <address>"; the default is CRM_EMAIL_FROM), CRM_MAIL_REPLY_TO where replies
# should go (the sales mailbox the leads poller reads, so they come back to the thread; empty:
# no Reply-To), CRM_MAIL_ATTACHMENTS_MAX_BYTES the most the files of one e-mail may weigh.
CRM_MAIL_FROM = env_str("CRM_MAIL_FROM", DEFAULT_FROM_EMAIL)
CRM_MAIL_REPLY_TO = env_str("CRM_MAIL_REPLY_TO")
CRM_MAIL_ATTACHMENTS_MAX_BYTES = env_int("CRM_MAIL_ATTACHMENTS_MAX_BYTES", 15 * 1024 * 1024)

# SMS written from a card or sent by a mailing (crm.correspondence.sms): the gateway ("none":
# sending is refused; "smsru": SMS.ru's HTTP API at CRM_SMS_BASE_URL), its secret key
# CRM_SMS_API_ID (never logged), the sender name (empty: the provider's default), the token
# that makes the delivery callback's address secret (/mail/sms/callback/<token>/; empty:
# no callback, statuses are polled), and the most parts one message may take.
CRM_SMS_PROVIDER = env_str("CRM_SMS_PROVIDER", "none").strip().lower()
if CRM_SMS_PROVIDER not in {"none", "smsru"}:
    raise ImproperlyConfigured("CRM_SMS_PROVIDER must be none or smsru")
CRM_SMS_API_ID = env_str("CRM_SMS_API_ID")
CRM_SMS_SENDER = env_str("CRM_SMS_SENDER")
CRM_SMS_BASE_URL = env_str("CRM_SMS_BASE_URL", "https://sms.ru").rstrip("/")
CRM_SMS_CALLBACK_TOKEN = env_str("CRM_SMS_CALLBACK_TOKEN")
CRM_SMS_MAX_PARTS = env_int("CRM_SMS_MAX_PARTS", 6)

# --- i18n -------------------------------------------------------------------------------------
LANGUAGE_CODE = env_str("CRM_LANGUAGE", "ru")
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "crm" / "locale"]
TIME_ZONE = env_str("CRM_TIME_ZONE", "Europe/Moscow")
USE_I18N = True
USE_TZ = True
PHONE_DEFAULT_REGION = env_str("CRM_PHONE_REGION", "RU")
# The default working calendar (deadlines in working hours and days): ISO weekdays, the
# daily hours, and extra days off (ISO dates, e.g. the public holidays of the year).
WORK_DAYS = env_str("CRM_WORK_DAYS", "1-5")
WORK_HOURS = env_str("CRM_WORK_HOURS", "09:00-18:00")
WORK_HOLIDAYS = env_list("CRM_HOLIDAYS")
# Contacts: a name needs a last name or a first name (either may be missing: real data has
# "Иванов" alone); CRM_CONTACT_FIRST_NAME_REQUIRED=1 makes the first name itself required.
CRM_CONTACT_FIRST_NAME_REQUIRED = env_bool("CRM_CONTACT_FIRST_NAME_REQUIRED")
# Web-form submissions accepted per client address per minute (more answer 429).
LEADS_FORM_RATE_LIMIT = env_int("CRM_LEADS_FORM_RATE_LIMIT", 20)
# Mailings: the address of the "mailto:" in List-Unsubscribe (empty: the one-click link
# alone), and one-click unsubscribe requests accepted per client address per minute.
CRM_UNSUBSCRIBE_MAILTO = env_str("CRM_UNSUBSCRIBE_MAILTO")
CRM_UNSUBSCRIBE_RATE_LIMIT = env_int("CRM_UNSUBSCRIBE_RATE_LIMIT", 30)
# Who may send mailings (roles), the default sending rate (messages per minute; each
# mailing may set its own), the messages one job sends over one SMTP connection, and the
# segment size over which starting a mailing needs an explicit confirmation.
CRM_MAILING_ROLES = env_list("CRM_MAILING_ROLES", ["admin", "head"])
CRM_MAILING_RATE_PER_MINUTE = env_int("CRM_MAILING_RATE_PER_MINUTE", 600)
CRM_MAILING_BATCH = env_int("CRM_MAILING_BATCH", 100)
CRM_MAILING_CONFIRM_OVER = env_int("CRM_MAILING_CONFIRM_OVER", 1000)
# How long a worker holds the batch it took: a dead worker's batch is taken again after it.
CRM_MAILING_LEASE_SECONDS = env_int("CRM_MAILING_LEASE_SECONDS", 300)
# Leads by e-mail: the sales mailbox the poller reads every minute (no host: no polling).
# CRM_LEADS_IMAP_SSL: "on" (TLS from the start, port 993), "starttls" (port 143, then TLS)
# or "off" (plain, for a relay on this machine only); CRM_LEADS_IMAP_CAFILE trusts a private
# CA. CRM_LEADS_INBOUND_EMAIL_SECRET is the X-CRM-Secret of POST /leads/inbound/email/.
CRM_LEADS_IMAP_HOST = env_str("CRM_LEADS_IMAP_HOST")
CRM_LEADS_IMAP_SSL = env_str("CRM_LEADS_IMAP_SSL", "on").strip().lower()
CRM_LEADS_IMAP_PORT = env_int("CRM_LEADS_IMAP_PORT", 993 if CRM_LEADS_IMAP_SSL == "on" else 143)
CRM_LEADS_IMAP_USER = env_str("CRM_LEADS_IMAP_USER")
CRM_LEADS_IMAP_PASSWORD = env_str("CRM_LEADS_IMAP_PASSWORD")
CRM_LEADS_IMAP_FOLDER = env_str("CRM_LEADS_IMAP_FOLDER", "INBOX")
CRM_LEADS_IMAP_CAFILE = env_str("CRM_LEADS_IMAP_CAFILE")
CRM_LEADS_INBOUND_EMAIL_SECRET = env_str("CRM_LEADS_INBOUND_EMAIL_SECRET")
# Telephony: the shared secret of POST /leads/inbound/telephony/ (X-CRM-Signature HMAC or
# X-CRM-Secret) and the Zadarma API secret that signs its notifications. Empty: 503.
CRM_TELEPHONY_SECRET = env_str("CRM_TELEPHONY_SECRET")
CRM_TELEPHONY_ZADARMA_SECRET = env_str("CRM_TELEPHONY_ZADARMA_SECRET")

# Outgoing webhooks (stage actions) may reach addresses on this machine or the private network
# only when this is on: off in production, so a webhook cannot probe internal services.
CRM_WEBHOOK_ALLOW_PRIVATE = env_bool("CRM_WEBHOOK_ALLOW_PRIVATE", not PRODUCTION)

# Tasks: a task overdue by more than this many hours goes to the head of sales and a
# colleague (0: never); users in no team get the overdue digest at this time (teams set
# their own time and zone).
CRM_TASK_ESCALATE_AFTER_HOURS = env_int("CRM_TASK_ESCALATE_AFTER_HOURS", 24)
CRM_TASK_DIGEST_TIME = env_str("CRM_TASK_DIGEST_TIME", "09:00")

# Duplicate tiers (``core.person_match``): a pair scoring at least the first is "likely"
# (merge one click away; never when first names or surnames are different names), at least
# the second "possible". Defaults from bench/RESULTS.md, "Duplicate matching, the new matcher".
CRM_DUPLICATES_LIKELY_SCORE = env_int("CRM_DUPLICATES_LIKELY_SCORE", 80)
CRM_DUPLICATES_POSSIBLE_SCORE = env_int("CRM_DUPLICATES_POSSIBLE_SCORE", 60)
# How often (seconds) the scheduler queues a scan of the contacts created or changed since the
# last duplicate scan, when there are any (0: never; run manage.py scan_duplicates instead).
CRM_DUPLICATES_SCAN_EVERY = env_int("CRM_DUPLICATES_SCAN_EVERY", 3600)
# Processes that compare the candidate pairs of a large duplicate scan (forked by the scan
# for its length; 1: in the scan's own process). Default: the machine's cores, at most 4.
CRM_DUPLICATES_SCAN_PROCESSES = env_int(
    "CRM_DUPLICATES_SCAN_PROCESSES", min(4, len(os.sched_getaffinity(0)))
)

# --- export -----------------------------------------------------------------------------------
# The roles that may export lists to CSV, Excel and vCard (admin, head, manager, readonly);
# the full export of the base is the administrators' alone.
CRM_EXPORT_ROLES = env_list("CRM_EXPORT_ROLES", ["admin", "head"])
# A list export of more rows runs as a background job with progress; smaller ones stream
# at once. Finished files are kept CRM_EXPORT_KEEP_SECONDS, then removed.
CRM_EXPORT_JOB_ROWS = env_int("CRM_EXPORT_JOB_ROWS", 20_000)
CRM_EXPORT_KEEP_SECONDS = env_int("CRM_EXPORT_KEEP_SECONDS", 24 * 3600)

# --- static and uploads -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "crm" / "static"]
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(env_str("CRM_MEDIA_ROOT", str(VAR_DIR / "media")))
UPLOAD_MAX_BYTES = env_int("CRM_UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("CRM_REQUEST_MAX_BYTES", 2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The import's upload is limited while it streams (CRM_IMPORT_MAX_MB), before Django's own.
FILE_UPLOAD_HANDLERS = [
    "crm.transfer.uploads.ImportUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# A session ends after CRM_SESSION_IDLE_SECONDS without activity (4 h: lunch or a long meeting
# does not sign anyone out, a computer left for the afternoon is) and at the latest
# CRM_SESSION_AGE_SECONDS after signing in (12 h: one working day, so a stolen cookie dies
# by the evening and everyone signs in, with the second factor, once a day). 0 turns either
# off. Enforced by crm.core.middleware.SessionLifetimeMiddleware.
CRM_SESSION_IDLE_SECONDS = env_int("CRM_SESSION_IDLE_SECONDS", 4 * 3600)
CRM_SESSION_AGE_SECONDS = env_int("CRM_SESSION_AGE_SECONDS", 12 * 3600)
SESSION_COOKIE_AGE = CRM_SESSION_AGE_SECONDS or 14 * 24 * 3600
# Content-Security-Policy (crm.core.csp): the strict default plus CRM_CSP_EXTRA
# ("img-src https://maps.example; connect-src …", added to the default, never replacing it);
# CRM_CSP_REPORT_ONLY=1 sends it as Content-Security-Policy-Report-Only, CRM_CSP_REPORT_URI
# collects the violation reports.
CRM_CSP_EXTRA = parse_policy(env_str("CRM_CSP_EXTRA"))
CRM_CSP_REPORT_ONLY = env_bool("CRM_CSP_REPORT_ONLY")
CRM_CSP_REPORT_URI = parse_report_uri(env_str("CRM_CSP_REPORT_URI"))
# The API's interactive docs and schema: public on a laptop, behind sign-in (a session or an
# API token) in production.
CRM_API_DOCS_PUBLIC = env_bool("CRM_API_DOCS_PUBLIC", not PRODUCTION)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # __Host-: the browser keeps these cookies only if Secure, Path=/ and without Domain,
    # so neither a sibling subdomain nor plain HTTP can plant or read them.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = env_bool("CRM_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("CRM_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- logging ----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "crm": {"handlers": ["console"], "level": env_str("CRM_LOG_LEVEL", "INFO")},
        "crm.security": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

NINJA_PAGINATION_PER_PAGE = 50
# How long the API keeps the answer of a POST sent with an Idempotency-Key (a retry within
# this time gets the stored answer; the periodic sweep deletes older ones).
CRM_API_IDEMPOTENCY_HOURS = env_int("CRM_API_IDEMPOTENCY_HOURS", 24)

# --- payment webhook --------------------------------------------------------------------------
# The shared secret of POST /sales/webhooks/payments/: the body's HMAC-SHA256 key
# (X-CRM-Signature) or the ?token= value. Empty: the endpoint answers 503 "not configured".
CRM_PAYMENT_WEBHOOK_SECRET = env_str("CRM_PAYMENT_WEBHOOK_SECRET")

# --- import -----------------------------------------------------------------------------------
# Who may import files (roles, comma-separated), the largest upload accepted (checked while
# it streams to disk; the web server should limit too), the rows written per transaction,
# and for how many days an import may be undone.
CRM_IMPORT_ROLES = env_list("CRM_IMPORT_ROLES", ["admin", "head"])
CRM_IMPORT_MAX_BYTES = env_int("CRM_IMPORT_MAX_MB", 200) * 1024 * 1024
CRM_IMPORT_BATCH_ROWS = env_int("CRM_IMPORT_BATCH_ROWS", 1000)
CRM_IMPORT_UNDO_DAYS = env_int("CRM_IMPORT_UNDO_DAYS", 30)
# A restored full export of the base (manage.py import_base) may unpack to this much at most.
CRM_RESTORE_MAX_MB = env_int("CRM_RESTORE_MAX_MB", 51200)
# A running import whose worker has not committed a batch for this long is resumed by the
# scheduler's sweep in another worker.
CRM_IMPORT_STALE_SECONDS = env_int("CRM_IMPORT_STALE_SECONDS", 300)
