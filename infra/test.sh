#!/usr/bin/env bash
# The one test command. On a fresh machine it installs what the tests need (Python venvs with
# the AWS stand-in, the SAM CLI and checkov; the IAM evaluator's and the browser suite's npm
# packages; Chromium), starts the stand-ins on free loopback ports, checks formatting, lints
# and the template, builds the functions as `sam build` does, runs every test with each
# function's calls judged against its policy in template.yaml, and stops what it started,
# whether the tests pass or not.
#
#   bash infra/test.sh            # everything
#   bash infra/test.sh -E 'test(/sqlite/)'   # extra arguments go to cargo nextest
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# Incremental state is kept per clone path: every fresh CI clone added gigabytes of it to the
# shared target folder, and a clean build of our crates is quick.
export CARGO_INCREMENTAL=0
. infra/lib.sh

log "formatting"
cargo fmt --all --check

log "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

python_venv
python_venv infra/requirements-checkov.txt CHECKOV_VENV
export SAM_CLI_TELEMETRY=0

log "template: cfn-lint, sam validate --lint, checkov"
"$VENV/bin/cfn-lint" template.yaml
"$VENV/bin/sam" validate --lint --template template.yaml --region us-east-1
bash infra/checkov.sh "$CHECKOV_VENV/bin/checkov"

browser_suite
iam_evaluator

# Two stand-ins: one for DynamoDB, S3 and SSM, one for SES alone (tests read sent mail back
# from its state dump, which stays small that way). Both judge the functions' calls by
# their policies and record them for the grant check at the end.
VENTANILLA_IAM_RECORD=$(mktemp -d)
export VENTANILLA_IAM_RECORD
start_moto AWS_ENDPOINT_URL
start_moto AWS_ENDPOINT_URL_SESV2
export AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SESV2
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export VENTANILLA_PYTHON="$VENV/bin/python"
export VENTANILLA_CHROMIUM

# The deployable artefacts, built by the deploy path itself: `sam build` runs cargo-lambda
# as template.yaml says (x86_64 here, the only Rust target this machine has; deployments
# default to arm64). tests/lambda runs what it leaves in the build folder.
log "sam build (x86_64)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
sam_build_dir="$target_dir/sam-build"
VENTANILLA_LAMBDA_ARCH=x86_64
CARGO_TARGET_DIR="$target_dir" CARGO_LAMBDA_COMPILER=cargo PATH="$VENV/bin:$PATH" \
  "$VENV/bin/sam" build --template template.yaml --build-dir "$sam_build_dir" \
  --config-env "$VENTANILLA_LAMBDA_ARCH" --region us-east-1
VENTANILLA_LAMBDA_DIR="$target_dir/lambda-from-sam"
rm -rf "$VENTANILLA_LAMBDA_DIR"
"$VENV/bin/python" infra/sam_artifacts.py template.yaml "$sam_build_dir" "$VENTANILLA_LAMBDA_DIR"
VENTANILLA_CARGO_LAMBDA="$VENV/bin/cargo-lambda"
export VENTANILLA_LAMBDA_DIR VENTANILLA_CARGO_LAMBDA VENTANILLA_LAMBDA_ARCH

# The kill test (infra/local/tests/kill.rs) kills the release local server, as an operator
# would run it.
log "release build of ventanilla-local"
cargo build --release --locked --target x86_64-unknown-linux-gnu -p ventanilla-local --bin ventanilla-local
VENTANILLA_LOCAL_RELEASE="$target_dir/x86_64-unknown-linux-gnu/release/ventanilla-local"
export VENTANILLA_LOCAL_RELEASE

log "tests (AWS stand-ins at $AWS_ENDPOINT_URL and $AWS_ENDPOINT_URL_SESV2)"
status=0
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast "$@" || status=$?
else
  cargo test --workspace --locked --no-fail-fast "$@" || status=$?
fi

# Every grant of template.yaml is needed by some call the tests made (only on a whole run:
# a filtered one makes too few calls to tell).
if [ "$#" -eq 0 ]; then
  log "IAM: each grant in template.yaml is needed by a call of the tests"
  "$VENV/bin/python" infra/iam/coverage.py "$VENTANILLA_IAM_RECORD" || status=$?
fi

# Lighthouse on the citizen's pages, after every test, alone on the machine: its timings
# taken beside the other tests measured them (docs/PERFORMANCE.md).
log "Lighthouse: the citizen's pages on an old phone"
(cd tests/browser && VENTANILLA_LOCAL="$target_dir/debug/ventanilla-local" \
  CHROMIUM="$VENTANILLA_CHROMIUM" node --test --test-reporter=spec performance.test.mjs) || status=$?

# A short schemathesis run over every route (docs/RELIABILITY.md has the long one).
VENTANILLA_LOCAL="$target_dir/debug/ventanilla-local" \
  bash infra/api_fuzz.sh 5 || status=$?
exit "$status"
