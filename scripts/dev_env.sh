# Sourced by scripts/run.sh with HOST and PORT set: the environment of the development server.
#
# Exports CRM_DEBUG (on only on a loopback address: HOST 127.x, localhost, ::1; forced off on
# any other address, with CRM_ALLOWED_HOSTS naming it when unset), CRM_BASE_URL (the address
# the server listens on, unless set) and CRM_DB_CONN_MAX_AGE=0 (the development server starts
# a thread per connection: a connection kept per thread would leak). Sets BIND (runserver's
# address) and RUNSERVER_ARGS.
BARE_HOST="${HOST#[}"
BARE_HOST="${BARE_HOST%]}"
case "$BARE_HOST" in
  127.* | localhost | ::1) LOOPBACK=1 ;;
  *) LOOPBACK=0 ;;
esac
case "$BARE_HOST" in
  0.0.0.0 | ::) URL_HOST="$(hostname -I 2>/dev/null | awk '{print $1}')"; URL_HOST="${URL_HOST:-127.0.0.1}" ;;
  *) URL_HOST="$BARE_HOST" ;;
esac
case "$URL_HOST" in *:*) URL_HOST="[$URL_HOST]" ;; esac
case "$BARE_HOST" in *:*) BIND="[$BARE_HOST]:$PORT" ;; *) BIND="$BARE_HOST:$PORT" ;; esac

RUNSERVER_ARGS=(--noreload)
if [ "$LOOPBACK" = 1 ]; then
  export CRM_DEBUG="${CRM_DEBUG:-1}"
else
  # Off whatever the environment says: a visitor on the network must never see a traceback.
  # Without debug the development server serves static files only with --insecure.
  export CRM_DEBUG=0
  RUNSERVER_ARGS+=(--insecure)
  if [ -z "${CRM_ALLOWED_HOSTS:-}" ]; then
    export CRM_ALLOWED_HOSTS="127.0.0.1,localhost,[::1],$URL_HOST,$(hostname)"
  fi
fi
export CRM_BASE_URL="${CRM_BASE_URL:-http://$URL_HOST:$PORT}"
export CRM_DB_CONN_MAX_AGE=0

