#!/usr/bin/env bash
# The run command: the whole system on this machine, on the embedded default (SQLite,
# a blob folder, an outbox of .eml files), no AWS account. Builds what it needs first.
#
#   bash infra/run.sh                                   # http://127.0.0.1:3000, data in ./data
#   bash infra/run.sh --addr 127.0.0.1:8080 --data-dir /tmp/ventanilla --config my.toml
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec cargo run --locked --quiet --package ventanilla-local -- "$@"
