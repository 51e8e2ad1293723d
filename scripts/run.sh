#!/usr/bin/env bash
# Start the web server and the background worker together; Ctrl+C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${PORT:-8000}"
HOST="${HOST:-127.0.0.1}"

$PY manage.py db_worker --interval 1 --no-reload &
WORKER=$!
$PY manage.py scheduler &
SCHEDULER=$!
trap 'kill $WORKER $SCHEDULER 2>/dev/null || true; wait $WORKER $SCHEDULER 2>/dev/null || true' EXIT INT TERM

cat <<INFO

  CRM is running at http://$HOST:$PORT/
  Demo sign-ins (password for all: demo-password-2026):
    admin      — administrator
    head       — head of sales (team «Москва»)
    ivanova    — manager          petrov — manager
    smirnov    — manager (team «Санкт-Петербург»)
    viewer     — read-only
  Database: ${DATABASE_URL:-SQLite in var/crm.sqlite3}
  Stop with Ctrl+C.

INFO
$PY manage.py runserver "$HOST:$PORT" --noreload
