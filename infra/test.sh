#!/usr/bin/env bash
# The one test command. On a fresh machine it installs what the tests need (a Python venv
# with the AWS stand-in), starts the stand-in on a free loopback port, checks formatting and
# lints, runs every test, and stops what it started, whether the tests pass or not.
#
#   bash infra/test.sh            # everything
#   bash infra/test.sh -E 'test(/sqlite/)'   # extra arguments go to cargo nextest
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
. infra/lib.sh

log "formatting"
cargo fmt --all --check

log "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

python_venv

log "template"
"$VENV/bin/cfn-lint" template.yaml
# Two stand-ins: one for DynamoDB and S3, one for SES alone (tests read sent mail back
# from its state dump, which stays small that way).
browser_suite

start_moto AWS_ENDPOINT_URL
start_moto AWS_ENDPOINT_URL_SESV2
export AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SESV2
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export VENTANILLA_PYTHON="$VENV/bin/python"
export VENTANILLA_CHROMIUM

# The deployable artefacts: the end-to-end test (tests/lambda) runs these very binaries.
log "release build of the functions (cargo lambda build --release)"
VENTANILLA_LAMBDA_DIR="${CARGO_TARGET_DIR:-$root/target}/lambda"
VENTANILLA_CARGO_LAMBDA="$VENV/bin/cargo-lambda"
PATH="$VENV/bin:$PATH" cargo lambda build --release --compiler cargo --locked \
  --lambda-dir "$VENTANILLA_LAMBDA_DIR" \
  -p create-ticket -p ticket-status -p inbound-mail -p agent-api
export VENTANILLA_LAMBDA_DIR VENTANILLA_CARGO_LAMBDA

log "tests (AWS stand-ins at $AWS_ENDPOINT_URL and $AWS_ENDPOINT_URL_SESV2)"
status=0
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast "$@" || status=$?
else
  cargo test --workspace --locked --no-fail-fast "$@" || status=$?
fi

# A short schemathesis run over every route (docs/RELIABILITY.md has the long one).
VENTANILLA_LOCAL="${CARGO_TARGET_DIR:-$root/target}/debug/ventanilla-local" \
  bash infra/api_fuzz.sh 5 || status=$?
exit "$status"
