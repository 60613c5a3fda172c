#!/usr/bin/env bash
# checkov on template.yaml: 0 failed checks expected. What is skipped, and why, is in the
# template itself (each resource's Metadata.checkov.skip), so this command takes no --skip-check.
# --skip-download: no call to Prisma Cloud (offline; it adds only guideline links).
#
#   infra/checkov.sh /path/to/checkov      or      VENV=/path/to/venv infra/checkov.sh
#
# checkov pins its own boto3 (3.3.30: boto3==1.35.49), which aws-sam-cli's pin excludes: give
# it a virtual environment of its own.
set -euo pipefail
checkov=${1:-${VENV:?give the checkov binary as \$1, or set VENV to a venv that has it}/bin/checkov}
cd "$(dirname "$0")/.."
exec "$checkov" -f template.yaml --framework cloudformation --quiet --compact --skip-download
