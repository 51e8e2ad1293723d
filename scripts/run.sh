#!/usr/bin/env bash
# Start the web server and the background worker together; Ctrl+C stops both.
#
# Debug pages are on only on a loopback address (HOST 127.x, localhost, ::1); on any other
# address the development server runs without them. Links in e-mails go to the address the
# server listens on unless CRM_BASE_URL says otherwise. Every request thread of the
# development server closes its database connection (CRM_DB_CONN_MAX_AGE=0).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${PORT:-8000}"
HOST="${HOST:-127.0.0.1}"

# Nothing starts when the port is taken (make run checked too, before migrating).
$PY scripts/check_port.py "$HOST" "$PORT"

. scripts/dev_env.sh

# manage.py demo (make run) has just run the system checks. The worker and the scheduler start
# at a lower priority, so the web server is up first on a busy laptop.
nice -n 10 $PY manage.py db_worker --interval 1 --no-reload --skip-checks &
WORKER=$!
nice -n 10 $PY manage.py scheduler --skip-checks &
SCHEDULER=$!
trap 'kill $WORKER $SCHEDULER 2>/dev/null || true; wait $WORKER $SCHEDULER 2>/dev/null || true' EXIT INT TERM

cat <<INFO

  CRM is running at $CRM_BASE_URL/   (debug pages: $([ "$CRM_DEBUG" = 1 ] && echo on || echo off))
  Demo sign-ins (password for all: demo-password-2026):
    admin      — administrator
    head       — head of sales (team «Москва»)
    ivanova    — manager          petrov — manager
    smirnov    — manager (team «Санкт-Петербург»)
    viewer     — read-only
  Database: ${DATABASE_URL:-SQLite in var/crm.sqlite3}
  Stop with Ctrl+C.

INFO
$PY manage.py runserver "$BIND" "${RUNSERVER_ARGS[@]}" --skip-checks
