#!/usr/bin/env bash
# The mail queue's kill test, long (docs/RELIABILITY.md, "Kill test"): the release
# ventanilla-local killed with SIGKILL at random moments under 8 parallel openers, round after
# round, restarted, swept; every stored ticket must have exactly one acknowledgement in the
# outbox. The test command runs the same test with 5 rounds.
#
#   bash infra/bench/kill_test.sh [rounds]     # default 30
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
. infra/lib.sh
target_dir="${CARGO_TARGET_DIR:-$root/target}"
log "release build of ventanilla-local"
# The target triple, as the test command builds it.
cargo build --release --locked --target x86_64-unknown-linux-gnu -p ventanilla-local --bin ventanilla-local
log "kill test, ${1:-30} rounds"
KILL_ROUNDS="${1:-30}" \
  VENTANILLA_LOCAL_RELEASE="$target_dir/x86_64-unknown-linux-gnu/release/ventanilla-local" \
  cargo test --locked -p ventanilla-local --test kill -- --nocapture
