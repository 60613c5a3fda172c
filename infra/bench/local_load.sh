#!/usr/bin/env bash
# Local server throughput (docs/PERFORMANCE.md): status lookups and ticket openings per
# second on this machine, with wrk (Debian's package) on loopback, bounded in time. The
# server is the release build of ventanilla-local on a fresh data folder, its opening limit
# lifted (the default allows 10 per source per hour, and wrk is one source). Openings write
# the ticket to SQLite and the acknowledgement to the outbox folder, as they do for real.
#
#   bash infra/bench/local_load.sh [DURATION] [CONNECTIONS]     # defaults: 10s 16
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
. infra/lib.sh
python_venv
duration=${1:-10s}
connections=${2:-16}

if ! command -v wrk >/dev/null 2>&1; then
  log "installing wrk (Debian package)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -qq wrk >/dev/null 2>&1 || { $sudo apt-get update -qq; $sudo apt-get install -y -qq wrk >/dev/null; }
fi

# Built like the functions (same target and flags); its own features (tokio's signal and process,
# aws-config's SSO) build tokio and what depends on it a second time.
lambda_dir="${CARGO_TARGET_DIR:-$root/target}/lambda"
log "release build of ventanilla-local"
PATH="$VENV/bin:$PATH" cargo lambda build --release --compiler cargo --locked \
  --lambda-dir "$lambda_dir" -p ventanilla-local --bin ventanilla-local
server="$lambda_dir/ventanilla-local/bootstrap"

work=$(mktemp -d)
sed 's/^openings_per_source_per_hour = .*/openings_per_source_per_hour = 1000000000/' \
  shared/app/ventanilla.toml >"$work/ventanilla.toml"
port=$(free_port)
"$server" --addr "127.0.0.1:$port" --smtp-addr "127.0.0.1:$(free_port)" \
  --data-dir "$work/data" --config "$work/ventanilla.toml" >"$work/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; stop_motos; rm -rf "$work"' EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -fs -o /dev/null "$url/" && break
  sleep 0.1
done

form='{"agency":"MDT","category":"problema_tecnico","nationality":"EC","id_type":"cedula",
"id_number":"1710034065","full_name":"Carmen Guamán","email":"carmen@example.com",
"gender":"femenino","phone":"0991234567","user_type":"ciudadano",
"subject":"No puedo firmar el contrato en línea","description":"El sistema da error al firmar."}'
number=$(curl -fs -H 'content-type: application/json' -d "$form" "$url/api/v1/tickets" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["number"])')

post_script() { # body -> a wrk Lua script that POSTs it as JSON (a long-bracket string: no escapes)
  printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [==[%s]==]\n' "$1"
}
post_script "{\"email\":\"carmen@example.com\",\"number\":\"$number\"}" >"$work/lookup.lua"
post_script "$form" >"$work/opening.lua"

# A run with error answers measures the errors: it fails instead.
load() { # name script path
  log "$1: $duration, $connections connections, 2 threads"
  wrk -t2 -c"$connections" -d"$duration" --latency -s "$2" "$url$3" | tee "$work/wrk.out"
  if grep -q "Non-2xx" "$work/wrk.out"; then
    log "$1: some answers were errors (see $work/server.log)"
    exit 1
  fi
}
load "status lookups of $number" "$work/lookup.lua" /api/v1/tickets/lookup
load "ticket openings" "$work/opening.lua" /api/v1/tickets
opened=$(find "$work/data/outbox" -name '*.eml' | wc -l)
log "acknowledgements in the outbox: $opened"
