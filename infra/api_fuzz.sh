#!/usr/bin/env bash
# API fuzzing (docs/RELIABILITY.md): schemathesis generates requests from docs/openapi.json
# for every public and agent route and sends them to the local server on loopback, with an
# admin's token so that the agent routes run past their gate. It fails on any 5xx and on
# any answer that breaks the spec (status code, content type, headers, body schema).
#
#   bash infra/api_fuzz.sh [EXAMPLES_PER_OPERATION]    # default 5; the test command's run
#
# Not checked here: that every schema-valid request is accepted. The spec describes the
# fields' shapes; the server checks more (a cédula's check digit, an address's domain,
# agencies and queues that exist) and answers 422, as it should.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
. infra/lib.sh
python_venv
examples=${1:-5}

log "API fuzzing: schemathesis, $examples examples per operation"
# The test command hands over the binary its test build made (VENTANILLA_LOCAL): building it
# alone resolves other crate features and would compile the AWS SDK again.
server=${VENTANILLA_LOCAL:-}
if [ -z "$server" ]; then
  cargo build --quiet --locked -p ventanilla-local --bin ventanilla-local
  server="${CARGO_TARGET_DIR:-$root/target}/debug/ventanilla-local"
fi

work=$(mktemp -d)
# The opening limit lifted: schemathesis is one source sending hundreds of openings.
sed 's/^openings_per_source_per_hour = .*/openings_per_source_per_hour = 1000000000/' \
  shared/app/ventanilla.toml >"$work/ventanilla.toml"
token=$("$server" agent add --data-dir "$work/data" --config "$work/ventanilla.toml" \
  --agency MDT --role admin --name "Fuzz Admin" | grep -o 'vnt_[A-Za-z0-9_-]*')
port=$(free_port)
"$server" --addr "127.0.0.1:$port" --smtp-addr "127.0.0.1:$(free_port)" \
  --data-dir "$work/data" --config "$work/ventanilla.toml" >"$work/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -fs -o /dev/null "$url/" && break
  sleep 0.1
done

# The run's example database stays out of the clone (hypothesis would write .hypothesis/).
# One worker: with two, hypothesis describes filter lambdas by parsing source with `ast` from
# two threads at once, which CPython 3.11 does not survive ("AST constructor recursion depth
# mismatch", seen here once in a CI run): a flake of the tool, not of the API.
cd "$work"
schemathesis_run() { # extra arguments; the output is kept to count the cases
  SCHEMATHESIS_HOOKS="" "$VENV/bin/schemathesis" run "$root/docs/openapi.json" \
    --url "$url" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-examples "$examples" \
    --workers 1 \
    --seed 20261123 \
    --suppress-health-check all \
    --no-color "$@" | tee -a "$work/schemathesis.out"
}
# A new token for the fuzzing admin itself retires the one the run sends: the stateful phase
# follows `GET /me`'s id to that route and would leave every later request a 401. So that
# route is fuzzed on its own, last, without the stateful phase.
schemathesis_run --exclude-path '/api/v1/agent/agents/{id}/token'
schemathesis_run --include-path '/api/v1/agent/agents/{id}/token' --phases examples,coverage,fuzzing
if grep -q '"status": *5[0-9][0-9]' "$work/server.log" 2>/dev/null; then
  log "the server log shows a 5xx"
  grep '"status": *5[0-9][0-9]' "$work/server.log" | head -5 >&2
  exit 1
fi
# Only 401s for an operation means the run's token stopped working (403 is a rule: an admin
# may not disable itself).
if grep -q "^401 Unauthorized (" "$work/schemathesis.out"; then
  log "some operations answered only 401: the run lost its admin token"
  exit 1
fi
cases=$(grep -oE '[0-9]+ generated' "$work/schemathesis.out" | awk '{n += $1} END {print n}')
log "API fuzzing passed: $cases cases"
