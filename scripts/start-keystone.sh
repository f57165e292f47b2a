#!/bin/bash
# Run a real OpenStack Keystone 22 (Zed; Debian 12 packages keystone,
# python3-keystone) with its own PostgreSQL database and fernet tokens, for
# development, integration tests and AUTH_STRATEGY=keystone on one machine.
# The services reach it through KEYSTONE_AUTH_URL (http://127.0.0.1:5000/v3
# by default here).
#
# Usage:
#   scripts/start-keystone.sh [PORT] [start|stop|status|restart|reset|drop-database|foreground]
#     PORT        default 5000
#     start       (default) install if missing, create the database, write
#                 config, db_sync, fernet_setup, credential_setup, bootstrap,
#                 start in the background; a no-op if this script's server is
#                 already up on PORT
#     stop        stop the server this script started on PORT (by its PID file)
#     status      exit 0 and print the version document if it is up
#     restart     stop + start (keeps the database and the keys)
#     reset       stop, drop the database and the keys, start afresh
#     drop-database  stop, drop the database (state dir is the caller's)
#     foreground  as start, then exec keystone-wsgi-public in place of this
#                 shell (PID 1 in a container; logs to stdout/stderr)
#
# Environment:
#   KEYSTONE_STATE_DIR         config, fernet and credential keys, log, pid;
#                              default /tmp/keystone-PORT
#   KEYSTONE_HOST              bind address, default 127.0.0.1
#   KEYSTONE_PUBLIC_URL        URL registered as the identity endpoint,
#                              default http://<host>:PORT/v3
#   KEYSTONE_DATABASE_URL      default postgresql+psycopg2://postgres@127.0.0.1:5432/keystone_PORT
#                              (created if missing; SQLite locks under
#                              concurrent writes, so it is not offered)
#   KEYSTONE_ADMIN_PASSWORD    the bootstrap user "admin", default "admin"
#   KEYSTONE_REGION            default RegionOne
#   KEYSTONE_TOKEN_EXPIRATION  token lifetime in seconds, default 3600;
#                              tests shorten it to see tokens renew and expire
#   KEYSTONE_PASSWORD_HASH_ROUNDS  bcrypt rounds, default 4 (the minimum:
#                              password logins then cost ~5 ms, not ~250 ms;
#                              set 12, Keystone's default, for real use)
#   KEYSTONE_DEBUG             "true" to log at DEBUG level
#
# Bootstrap creates user "admin" (password KEYSTONE_ADMIN_PASSWORD) with role
# admin on project "admin" and on the system, domain Default, region
# KEYSTONE_REGION, the identity service and its endpoints, and the roles
# reader < member < manager < admin and service (Keystone 22's bootstrap makes
# only reader, member and admin; manager and service are added here as
# Keystone 24's bootstrap does: admin implies manager implies member).
#
# Installing needs root (apt-get install keystone python3-keystone
# python3-keystonemiddleware python3-psycopg2) and happens only when a package
# is missing. keystone-wsgi-public is wsgiref's single-threaded server:
# fine for tests and one machine, not for load.
set -euo pipefail

PORT=${1:-5000}
ACTION=${2:-start}
HOST=${KEYSTONE_HOST:-127.0.0.1}
STATE=${KEYSTONE_STATE_DIR:-/tmp/keystone-$PORT}
CONF=$STATE/keystone.conf
PIDFILE=$STATE/keystone.pid
LOG=$STATE/keystone.log
DB_URL=${KEYSTONE_DATABASE_URL:-postgresql+psycopg2://postgres@127.0.0.1:5432/keystone_$PORT}
ADMIN_PASSWORD=${KEYSTONE_ADMIN_PASSWORD:-admin}
REGION=${KEYSTONE_REGION:-RegionOne}
EXPIRATION=${KEYSTONE_TOKEN_EXPIRATION:-3600}
HASH_ROUNDS=${KEYSTONE_PASSWORD_HASH_ROUNDS:-4}
PY=/usr/bin/python3

case "$HOST" in
    0.0.0.0 | '' ) PROBE_HOST=127.0.0.1 ;;
    :: | '[::]' ) PROBE_HOST='[::1]' ;;
    *:*) PROBE_HOST="[$HOST]" ;;
    *) PROBE_HOST=$HOST ;;
esac
URL=http://$PROBE_HOST:$PORT
PUBLIC_URL=${KEYSTONE_PUBLIC_URL:-$URL/v3}

log() { echo "[start-keystone] $*" >&2; }

# http_get [print]: GET $URL/v3; exit 0 on 200, printing the body if asked.
http_get() {
    "$PY" - "$URL/v3" "${1:-}" <<'EOF'
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
}

http_ok() { http_get; }

our_pid() {  # print PID from our pid file if that process is still ours
    [ -f "$PIDFILE" ] || return 1
    local pid; pid=$(cat "$PIDFILE")
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "keystone-wsgi-public.*--port $PORT" || return 1
    echo "$pid"
}

install_keystone() {
    local missing=()
    for p in keystone python3-keystone python3-keystonemiddleware python3-psycopg2; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || { log "missing ${missing[*]} and not root"; exit 1; }
    log "installing ${missing[*]} (Debian 12: keystone 2:22.0.2)"
    apt-get update -qq
    # The keystone package's postinst asks debconf questions and may try to
    # start a service; neither is wanted here.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

# database <create|drop>: the database named in DB_URL, through psycopg2
# (no psql client needed).
database() {
    "$PY" - "$DB_URL" "$1" <<'EOF'
import sys, urllib.parse, psycopg2
from psycopg2 import sql
url, action = sys.argv[1], sys.argv[2]
u = urllib.parse.urlsplit(url)
name = u.path.lstrip('/')
admin = urllib.parse.urlunsplit((u.scheme.split('+')[0], u.netloc, '/postgres', u.query, ''))
conn = psycopg2.connect(admin)
conn.autocommit = True
cur = conn.cursor()
cur.execute('SELECT 1 FROM pg_database WHERE datname = %s', (name,))
exists = cur.fetchone() is not None
if action == 'create' and not exists:
    cur.execute(sql.SQL('CREATE DATABASE {}').format(sql.Identifier(name)))
elif action == 'drop' and exists:
    cur.execute(sql.SQL('DROP DATABASE {} WITH (FORCE)').format(sql.Identifier(name)))
EOF
}

write_config() {
    mkdir -p "$STATE"
    cat > "$CONF" <<EOF
[DEFAULT]
debug = ${KEYSTONE_DEBUG:-false}
use_stderr = true

[database]
connection = $DB_URL

[token]
provider = fernet
expiration = $EXPIRATION

[fernet_tokens]
key_repository = $STATE/fernet-keys
max_active_keys = 3

[fernet_receipts]
key_repository = $STATE/fernet-keys

[credential]
key_repository = $STATE/credential-keys

[identity]
password_hash_rounds = $HASH_ROUNDS

[cache]
enabled = true
backend = dogpile.cache.memory
EOF
}

manage() {
    keystone-manage --config-file "$CONF" "$@"
}

set_up() {
    database create
    write_config
    # db_sync, key set-up and bootstrap cost ~5-9 s: done once per package
    # version, database and bootstrap values (reset starts afresh).
    local mark
    mark=$(echo "$(dpkg-query -W -f '${Version}' keystone) $DB_URL $ADMIN_PASSWORD $REGION $PUBLIC_URL" | sha256sum)
    if [ -f "$STATE/set-up" ] && [ "$(cat "$STATE/set-up")" = "$mark" ]; then return 0; fi
    # Each keystone-manage pays ~2.5 s of imports: the key set-ups run beside
    # db_sync + bootstrap (which needs the schema).
    local pids=()
    ( manage db_sync && manage bootstrap \
        --bootstrap-username admin --bootstrap-password "$ADMIN_PASSWORD" \
        --bootstrap-project-name admin --bootstrap-role-name admin \
        --bootstrap-service-name keystone --bootstrap-region-id "$REGION" \
        --bootstrap-admin-url "$PUBLIC_URL" --bootstrap-internal-url "$PUBLIC_URL" \
        --bootstrap-public-url "$PUBLIC_URL" ) & pids+=($!)
    if [ ! -f "$STATE/fernet-keys/0" ]; then
        manage fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)" & pids+=($!)
    fi
    if [ ! -f "$STATE/credential-keys/0" ]; then
        manage credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)" & pids+=($!)
    fi
    local failed=0
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    [ "$failed" = 0 ] || return 1
    echo "$mark" > "$STATE/set-up"
}

# Keystone 24's default roles, through the API once the server answers.
ensure_roles() {
    "$PY" - "$URL/v3" "$ADMIN_PASSWORD" <<'EOF'
import json, sys, urllib.request, urllib.error
base, password = sys.argv[1], sys.argv[2]
def call(method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={'content-type': 'application/json', **({'x-auth-token': token} if token else {})})
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read()
        return r.headers, (json.loads(text) if text else None)
headers, _ = call('POST', '/auth/tokens', {'auth': {
    'identity': {'methods': ['password'], 'password': {'user': {
        'name': 'admin', 'domain': {'id': 'default'}, 'password': password}}},
    'scope': {'system': {'all': True}}}})
token = headers['x-subject-token']
roles = {r['name']: r['id'] for r in call('GET', '/roles', token=token)[1]['roles']}
for name in ('manager', 'service'):
    if name not in roles:
        roles[name] = call('POST', '/roles', {'role': {'name': name, 'options': {'immutable': True}}},
                           token)[1]['role']['id']
for prior, implied in (('admin', 'manager'), ('manager', 'member')):
    try:
        call('PUT', '/roles/%s/implies/%s' % (roles[prior], roles[implied]), token=token)
    except urllib.error.HTTPError as e:
        if e.code != 409:  # 409: the implication exists already
            raise
EOF
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
    local pid t0 t1 t2
    if pid=$(our_pid) && http_ok; then
        log "already running: PID $pid, $PUBLIC_URL"
        echo "$PUBLIC_URL"
        return 0
    fi
    if http_ok; then
        log "something else answers on $URL; refusing to start"; exit 1
    fi
    install_keystone
    t0=$(date +%s.%N)
    set_up >"$STATE/setup.log" 2>&1 || {
        log "set-up failed; last lines of $STATE/setup.log:"; tail -20 "$STATE/setup.log" >&2; exit 1
    }
    t1=$(date +%s.%N)
    OS_KEYSTONE_CONFIG_DIR=$STATE setsid nohup \
        keystone-wsgi-public --host "$HOST" --port "$PORT" >>"$LOG" 2>&1 < /dev/null &
    echo $! > "$PIDFILE"
    for _ in $(seq 1 300); do
        http_ok && break
        if ! our_pid >/dev/null; then
            log "keystone-wsgi-public exited; last log lines:"; tail -20 "$LOG" >&2; exit 1
        fi
        sleep 0.1
    done
    http_ok || { log "not answering after 30 s; see $LOG"; exit 1; }
    ensure_roles
    t2=$(date +%s.%N)
    log "up: PID $(cat "$PIDFILE"), $PUBLIC_URL, set-up" \
        "$(awk "BEGIN{printf \"%.2f\", $t1-$t0}") s, start" \
        "$(awk "BEGIN{printf \"%.2f\", $t2-$t1}") s, tokens last $EXPIRATION s; log $LOG"
    echo "$PUBLIC_URL"
}

do_foreground() {
    install_keystone
    set_up
    log "exec keystone-wsgi-public on $HOST:$PORT (state $STATE)"
    ( for _ in $(seq 1 300); do http_ok && break; sleep 0.2; done; ensure_roles ) &
    OS_KEYSTONE_CONFIG_DIR=$STATE exec keystone-wsgi-public --host "$HOST" --port "$PORT"
}

mkdir -p "$(dirname "$STATE")"
case "$ACTION" in
    start) mkdir -p "$STATE"; do_start ;;
    stop) do_stop ;;
    restart) do_stop; do_start ;;
    reset) do_stop; database drop; rm -rf "$STATE"; mkdir -p "$STATE"; do_start ;;
    drop-database) do_stop; database drop ;;
    foreground) mkdir -p "$STATE"; do_foreground ;;
    status)
        if pid=$(our_pid) && http_ok; then
            log "running: PID $pid, $PUBLIC_URL"
            http_get print || true; echo
        else
            log "not running on $URL"; exit 1
        fi ;;
    *) echo "usage: $0 [PORT] [start|stop|status|restart|reset|drop-database|foreground]" >&2; exit 2 ;;
esac
