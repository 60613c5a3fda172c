#!/usr/bin/env bash
# Reproduces docs/PERFORMANCE.md's start-up figures: builds the four functions, the
# hello-world yardstick and the start-up probe with `cargo lambda build --release` (the
# deployable profile), then prints the stripped sizes, the cold starts side by side
# (exec to first Runtime API poll, median of 25) and where a function's start goes.
# Handler CPU: `cargo bench -p ventanilla-bench --bench handlers`.
#
#   bash infra/bench/performance.sh [RUNS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
. infra/lib.sh
python_venv
runs=${1:-25}
lambda_dir="${CARGO_TARGET_DIR:-$root/target}/lambda"
functions=(create-ticket ticket-status inbound-mail agent-api)

log "release build (cargo lambda build --release --compiler cargo)"
start=$(date +%s)
PATH="$VENV/bin:$PATH" cargo lambda build --release --compiler cargo --locked \
  --lambda-dir "$lambda_dir" \
  -p create-ticket -p ticket-status -p inbound-mail -p agent-api \
  -p ventanilla-bench --bin create-ticket --bin ticket-status --bin inbound-mail \
  --bin agent-api --bin hello-lambda --bin init-probe
log "built in $(( $(date +%s) - start )) s"

log "stripped sizes (bytes)"
for f in "${functions[@]}" hello-lambda; do
  printf '%-14s %s\n' "$f" "$(stat -c %s "$lambda_dir/$f/bootstrap")"
done

log "cold start: exec to the first Runtime API poll ($runs runs each, interleaved)"
args=("hello-lambda=$lambda_dir/hello-lambda/bootstrap")
for f in "${functions[@]}"; do args+=("$f=$lambda_dir/$f/bootstrap"); done
python3 infra/bench/cold_start.py --runs "$runs" "${args[@]}"

log "where a function's start goes (init-probe, 5 runs)"
for _ in 1 2 3 4 5; do
  env -i PATH=/usr/bin:/bin AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=probe \
    AWS_SECRET_ACCESS_KEY=probe VENTANILLA_TABLE=probe VENTANILLA_BUCKET=probe \
    VENTANILLA_LINK_SECRET=probe-probe-probe-probe-probe-probe-0123 \
    VENTANILLA_IDENTIFIER_SECRET=probe-identifiers-probe-identifiers-01 \
    "$lambda_dir/init-probe/bootstrap" | tr '\n' ' '
  echo
done
