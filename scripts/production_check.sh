#!/usr/bin/env bash
# CI: deploy as docs/operations.md says and check it in a browser (scripts/production_check.py).
#
# A fresh PostgreSQL database, collectstatic, migrate, the first administrator, gunicorn with
# CRM_PRODUCTION=1 (its command line and the nginx server block are read from
# docs/operations.md), the worker and the scheduler, Debian's nginx with its own main
# configuration and a self-signed certificate in a temporary folder; then Chromium signs in
# through nginx and opens every main page. Everything it started is stopped and the database
# dropped on exit. Ports: nginx 8443 (TLS) and 8103 (the redirect to TLS), gunicorn 8101.
#
# CI_PRODUCTION_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/crm_production_check)
# and CI_PRODUCTION_REDIS_URL (default redis://127.0.0.1:6379/1) choose the services.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PY="$ROOT/.venv/bin/python"
DOCS="$ROOT/docs/operations.md"
APP_PORT="${CI_PRODUCTION_APP_PORT:-8101}"
TLS_PORT="${CI_PRODUCTION_TLS_PORT:-8443}"
HTTP_PORT="${CI_PRODUCTION_HTTP_PORT:-8103}"
SITE=crm.example.com
DB_URL="${CI_PRODUCTION_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/crm_production_check}"
DB_NAME="${DB_URL##*/}"
DB_SERVER="${DB_URL%/*}"

step() { echo "--- production: $*"; }

MISSING=()
[ -x /usr/sbin/nginx ] || MISSING+=(nginx)
command -v openssl >/dev/null || MISSING+=(openssl)
command -v curl >/dev/null || MISSING+=(curl)
if [ "${#MISSING[@]}" != 0 ]; then
  step "installing Debian's ${MISSING[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${MISSING[@]}" >/dev/null
fi

# Everything stays on the loopback: the browser connects from 127.0.0.1, nginx connects to
# gunicorn from 127.0.0.2 (proxy_bind), which is the only trusted proxy. So the address the
# security log records tells the browser (127.0.0.1) from the proxy (127.0.0.2).
CLIENT_ADDRESS=127.0.0.1
PROXY_ADDRESS=127.0.0.2

WORK="$(mktemp -d /tmp/crm-production-check.XXXXXX)"
chmod 755 "$WORK"
PIDS=()
cleanup() {
  status=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$status" != 0 ]; then
    for log in gunicorn nginx-error worker scheduler; do
      [ -s "$WORK/$log.log" ] && { echo "--- $log.log (last lines)"; tail -n 30 "$WORK/$log.log"; }
    done
  fi
  "$PY" - "$DB_SERVER/postgres" "$DB_NAME" <<'PY' || true
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    conn.execute(f'DROP DATABASE IF EXISTS "{sys.argv[2]}" WITH (FORCE)')
PY
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT INT TERM

for port in "$APP_PORT" "$TLS_PORT" "$HTTP_PORT"; do
  python3 scripts/check_port.py 0.0.0.0 "$port"
done

step "a fresh PostgreSQL database ($DB_NAME)"
"$PY" - "$DB_SERVER/postgres" "$DB_NAME" <<'PY'
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    conn.execute(f'DROP DATABASE IF EXISTS "{sys.argv[2]}" WITH (FORCE)')
    conn.execute(f'CREATE DATABASE "{sys.argv[2]}"')
PY

step "settings (docs/operations.md, Settings)"
export CRM_PRODUCTION=1
CRM_SECRET_KEY="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(64))')"
export CRM_SECRET_KEY
export CRM_ALLOWED_HOSTS="$SITE"
export CRM_CSRF_TRUSTED_ORIGINS="https://$SITE:$TLS_PORT"
export CRM_TRUSTED_PROXIES="$PROXY_ADDRESS"
export DATABASE_URL="$DB_URL"
export CRM_DB_CONN_MAX_AGE=60
export CRM_REDIS_URL="${CI_PRODUCTION_REDIS_URL:-redis://127.0.0.1:6379/1}"
export CRM_VAR_DIR="$WORK/var"
unset CRM_DEBUG

step "migrate, collectstatic, check --deploy, the first administrator"
"$PY" manage.py migrate --no-input -v 0
"$PY" manage.py collectstatic --no-input -v 0
"$PY" manage.py check --deploy --fail-level WARNING
ADMIN_PASSWORD="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')"
DJANGO_SUPERUSER_PASSWORD="$ADMIN_PASSWORD" "$PY" manage.py createsuperuser --no-input \
  --username ci-admin --email ci-admin@example.com >/dev/null
# Administrators sign in with a second factor in production: the check computes the codes
# from the secret this writes (mode 0600, never printed).
if "$PY" manage.py help two_factor_setup >/dev/null 2>&1; then
  "$PY" manage.py two_factor_setup ci-admin --secret-file "$WORK/totp-secret" >/dev/null
  export PRODUCTION_CHECK_TOTP_FILE="$WORK/totp-secret"
fi

step "TLS: a self-signed certificate for $SITE"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$SITE" \
  -addext "subjectAltName=DNS:$SITE" -keyout "$WORK/privkey.pem" -out "$WORK/fullchain.pem" \
  2>"$WORK/openssl.log"

# The fenced block after "<!-- production-check: NAME -->" in docs/operations.md.
from_docs() {
  awk -v marker="<!-- production-check: $1 -->" '
    $0 == marker { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }
  ' "$DOCS"
}

step "gunicorn, the worker and the scheduler"
GUNICORN_LINE="$(from_docs gunicorn | sed -e "s/127\.0\.0\.1:8000/127.0.0.1:$APP_PORT/" \
  -e "s/--forwarded-allow-ips=127\.0\.0\.1/--forwarded-allow-ips=$PROXY_ADDRESS/")"
[ -n "$GUNICORN_LINE" ] || { echo "no gunicorn command in $DOCS"; exit 1; }
echo "$GUNICORN_LINE"
read -r -a GUNICORN_ARGS <<<"$GUNICORN_LINE"
"${GUNICORN_ARGS[@]}" >"$WORK/gunicorn.log" 2>&1 &
PIDS+=($!)
"$PY" manage.py db_worker --no-reload >"$WORK/worker.log" 2>&1 &
PIDS+=($!)
"$PY" manage.py scheduler >"$WORK/scheduler.log" 2>&1 &
PIDS+=($!)

step "nginx with the server block of docs/operations.md"
mkdir -p "$WORK/nginx"
{
  echo "user $(id -un);"
  echo "worker_processes 1;"
  echo "daemon off;"
  echo "pid $WORK/nginx/nginx.pid;"
  echo "error_log $WORK/nginx-error.log warn;"
  echo "events { worker_connections 256; }"
  echo "http {"
  echo "  access_log $WORK/nginx-access.log;"
  for temp in client_body proxy fastcgi uwsgi scgi; do
    echo "  ${temp}_temp_path $WORK/nginx/$temp;"
  done
  from_docs nginx | sed \
    -e "s/listen 443 ssl;/listen $TLS_PORT ssl;/" \
    -e "s/listen 80;/listen $HTTP_PORT;/" \
    -e "s#proxy_pass http://127\.0\.0\.1:8000;#proxy_pass http://127.0.0.1:$APP_PORT; proxy_bind $PROXY_ADDRESS;#" \
    -e "s#/etc/ssl/crm/#$WORK/#"
  echo "}"
} >"$WORK/nginx.conf"
/usr/sbin/nginx -t -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log" 2>&1 | grep -v "^$" || true
/usr/sbin/nginx -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log" &
PIDS+=($!)

step "waiting for https://$SITE:$TLS_PORT/ (at $CLIENT_ADDRESS)"
for _ in $(seq 1 100); do
  code="$(curl -sk -o /dev/null -w '%{http_code}' --resolve "$SITE:$TLS_PORT:$CLIENT_ADDRESS" \
    "https://$SITE:$TLS_PORT/accounts/login/" || true)"
  [ "$code" = 200 ] && break
  sleep 0.3
done
[ "$code" = 200 ] || { echo "the sign-in page through nginx answered $code"; exit 1; }
redirect="$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --resolve "$SITE:$HTTP_PORT:$CLIENT_ADDRESS" \
  "http://$SITE:$HTTP_PORT/customers/")"
echo "plain HTTP answers: $redirect"
case "$redirect" in "301 https://$SITE/customers/") ;; *) echo "FAIL plain HTTP is not sent to https"; exit 1 ;; esac

step "the browser check"
PRODUCTION_CHECK_PASSWORD="$ADMIN_PASSWORD" "$PY" scripts/production_check.py \
  --base-url "https://$SITE:$TLS_PORT" --address "$CLIENT_ADDRESS" --username ci-admin
