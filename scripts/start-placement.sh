#!/bin/bash
# Run a real OpenStack Placement 8.0.0 (Zed; Debian 12 package
# python3-placement) with a SQLite database and no Keystone (noauth2), for
# development, integration tests and the `placement` container of
# docker-compose.yml. apps/api and apps/placement-sync reach it through
# PLACEMENT_URL (http://127.0.0.1:8778 by default here).
#
# Usage:
#   scripts/start-placement.sh [PORT] [start|stop|status|restart|reset|foreground]
#     PORT        default 8778
#     start       (default) install if missing, write config, db sync, start
#                 in the background; a no-op if this script's server is
#                 already up on PORT
#     stop        stop the server this script started on PORT (by its PID file)
#     status      exit 0 and print the version document if it is up
#     restart     stop + start (keeps the database)
#     reset       stop, delete the database, start with an empty one
#     foreground  install if missing, write config, db sync, then exec
#                 placement-api in place of this shell (PID 1 in a container;
#                 logs go to stdout/stderr, no PID file)
#
# Environment:
#   PLACEMENT_STATE_DIR  state dir (config, sqlite db, log, pid);
#                        default /tmp/placement-PORT
#   PLACEMENT_HOST       bind address, default 127.0.0.1 (0.0.0.0 in a container)
#   PLACEMENT_DEBUG      "true" to log at DEBUG level (default false)
#   PLACEMENT_AUTH_STRATEGY  noauth2 (default) or keystone: every request
#                        except GET / then needs a Keystone token, checked by
#                        keystonemiddleware (python3-keystonemiddleware) as
#                        the service user below. No memcached: validated
#                        tokens are not cached (token_cache_time = -1), so a
#                        revoked token is refused at once.
#   PLACEMENT_KEYSTONE_AUTH_URL       Keystone, default http://127.0.0.1:5000/v3
#   PLACEMENT_SERVICE_USERNAME        default placement
#   PLACEMENT_SERVICE_PASSWORD        default placement-password
#   PLACEMENT_SERVICE_PROJECT_NAME    default service (user and project in
#                                     domain Default)
#   (test/support/keystone.ts makes this user with roles service and admin
#   on project service; Placement 8.0's policy wants admin for its APIs.)
#
# Installing needs root (apt-get install python3-placement) and happens only
# when the package is missing.
#
# Talking to it with noauth2 (the default): every request except GET / needs
#   x-auth-token: admin                     (user "admin" => role admin)
#   OpenStack-API-Version: placement 1.39   (max in 8.0.0; default is 1.0)
# e.g.
#   curl -s -X POST -H 'x-auth-token: admin' \
#        -H 'OpenStack-API-Version: placement 1.39' \
#        -H 'content-type: application/json' -d '{"name":"rp-test"}' \
#        http://127.0.0.1:8778/resource_providers
#
# placement-api is wsgiref's single-threaded server: fine for tests and a
# single-host deployment, not for load.
set -euo pipefail

PORT=${1:-8778}
ACTION=${2:-start}
HOST=${PLACEMENT_HOST:-127.0.0.1}
STATE=${PLACEMENT_STATE_DIR:-/tmp/placement-$PORT}
CONF=$STATE/placement.conf
PIDFILE=$STATE/placement-api.pid
LOG=$STATE/placement-api.log
AUTH_STRATEGY=${PLACEMENT_AUTH_STRATEGY:-noauth2}
case "$AUTH_STRATEGY" in
    noauth2 | keystone) ;;
    *) echo "PLACEMENT_AUTH_STRATEGY must be noauth2 or keystone, not $AUTH_STRATEGY" >&2; exit 2 ;;
esac

# Where to probe it: a wildcard bind address is reached over loopback.
case "$HOST" in
    0.0.0.0 | '' ) PROBE_HOST=127.0.0.1 ;;
    :: | '[::]' ) PROBE_HOST='[::1]' ;;
    *:*) PROBE_HOST="[$HOST]" ;;   # IPv6 literal
    *) PROBE_HOST=$HOST ;;
esac
URL=http://$PROBE_HOST:$PORT

log() { echo "[start-placement] $*" >&2; }

# http_get [print]: GET $URL/; exit 0 on 200, printing the body if asked.
http_get() {
    local print=${1:-}
    if command -v curl >/dev/null 2>&1; then
        if [ -n "$print" ]; then
            curl -sf --max-time 2 "$URL/"
        else
            curl -sf -o /dev/null --max-time 2 "$URL/"
        fi
    else
        /usr/bin/python3 - "$URL/" "$print" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
        body = r.read()
        if sys.argv[2]:
            sys.stdout.write(body.decode())
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
    fi
}

http_ok() { http_get; }

our_pid() {  # print PID from our pid file if that process is still ours
    [ -f "$PIDFILE" ] || return 1
    local pid; pid=$(cat "$PIDFILE")
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "placement-api.*--port $PORT" || return 1
    echo "$pid"
}

install_placement() {
    local missing=()
    for p in python3-placement $([ "$AUTH_STRATEGY" = keystone ] && echo python3-keystonemiddleware); do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || { log "missing ${missing[*]} and not root"; exit 1; }
    log "installing ${missing[*]} (Debian 12: python3-placement 8.0.0-2)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

write_config() {
    mkdir -p "$STATE"
    cat > "$CONF" <<EOF
[DEFAULT]
debug = ${PLACEMENT_DEBUG:-false}
use_stderr = true

[api]
auth_strategy = $AUTH_STRATEGY

[placement_database]
connection = sqlite:///$STATE/placement.sqlite
EOF
    if [ "$AUTH_STRATEGY" = keystone ]; then
        local auth_url=${PLACEMENT_KEYSTONE_AUTH_URL:-http://127.0.0.1:5000/v3}
        cat >> "$CONF" <<EOF

[keystone_authtoken]
www_authenticate_uri = $auth_url
auth_url = $auth_url
auth_type = password
username = ${PLACEMENT_SERVICE_USERNAME:-placement}
password = ${PLACEMENT_SERVICE_PASSWORD:-placement-password}
user_domain_name = Default
project_name = ${PLACEMENT_SERVICE_PROJECT_NAME:-service}
project_domain_name = Default
interface = public
token_cache_time = -1
service_token_roles_required = true
EOF
    fi
}

db_sync() {
    placement-manage --config-file "$CONF" db sync
}

do_stop() {
    local pid
    if pid=$(our_pid); then
        kill "$pid"
        for _ in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
        if [ -d "/proc/$pid" ]; then kill -9 "$pid" || true; fi
        log "stopped PID $pid"
    else
        log "not running (no live PID in $PIDFILE)"
    fi
    rm -f "$PIDFILE"
}

do_start() {
    local pid t0 t1
    if pid=$(our_pid) && http_ok; then
        log "already running: PID $pid, $URL"
        echo "$URL"
        return 0
    fi
    if http_ok; then
        log "something else answers on $URL; refusing to start"; exit 1
    fi
    install_placement
    write_config
    t0=$(date +%s.%N)
    db_sync
    # placement-api (from python3-placement) = wsgiref single-threaded
    # server around placement.wsgi.init_application; it reads its config
    # from $OS_PLACEMENT_CONFIG_DIR/placement.conf (no --config-file).
    OS_PLACEMENT_CONFIG_DIR=$STATE setsid nohup \
        placement-api --host "$HOST" --port "$PORT" >>"$LOG" 2>&1 < /dev/null &
    echo $! > "$PIDFILE"
    for _ in $(seq 1 300); do
        http_ok && break
        if ! our_pid >/dev/null; then
            log "placement-api exited; last log lines:"; tail -20 "$LOG" >&2; exit 1
        fi
        sleep 0.1
    done
    http_ok || { log "not answering after 30 s; see $LOG"; exit 1; }
    t1=$(date +%s.%N)
    log "up: PID $(cat "$PIDFILE"), $URL ($AUTH_STRATEGY), db sync + start took" \
        "$(awk "BEGIN{printf \"%.2f\", $t1-$t0}") s; log $LOG"
    echo "$URL"
}

do_foreground() {
    install_placement
    write_config
    db_sync
    log "exec placement-api on $HOST:$PORT (state $STATE)"
    OS_PLACEMENT_CONFIG_DIR=$STATE exec placement-api --host "$HOST" --port "$PORT"
}

case "$ACTION" in
    start) do_start ;;
    stop) do_stop ;;
    restart) do_stop; do_start ;;
    reset) do_stop; rm -f "$STATE/placement.sqlite"; do_start ;;
    foreground) do_foreground ;;
    status)
        if pid=$(our_pid) && http_ok; then
            log "running: PID $pid, $URL"
            http_get print || true; echo
        else
            log "not running on $URL"; exit 1
        fi ;;
    *) echo "usage: $0 [PORT] [start|stop|status|restart|reset|foreground]" >&2; exit 2 ;;
esac
