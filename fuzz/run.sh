#!/usr/bin/env bash
# Fuzzes the whole inbound mail pipeline (docs/RELIABILITY.md) for SECONDS, seeded from the
# shared MIME corpus, and prints libFuzzer's closing figures. Needs the nightly toolchain and
# cargo-fuzz (`cargo install cargo-fuzz`). Inputs that crash are left in fuzz/artifacts/.
#
#   bash fuzz/run.sh [SECONDS] [CORPUS_DIR]      # defaults: 600, a temporary folder
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
seconds=${1:-600}
corpus=${2:-$(mktemp -d)}
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
# The .eml, .raw and .txt files only (the folder also holds JSON, HTML and TSV), under names
# made from their paths, since several folders hold files of the same name.
testdata="$here/../../shared/testdata/02_mime_emails"
find "$testdata" -type f \( -name '*.eml' -o -name '*.raw' -o -name '*.txt' \) -print0 |
  while IFS= read -r -d '' file; do
    ln -s "$file" "$seeds/$(printf '%s' "${file#"$testdata"/}" | tr '/' '_')"
  done
echo "seeds: $(find "$seeds" -type l | wc -l) mails; corpus: $corpus" >&2
cd "$here"
# No sanitizer: the pipeline is safe Rust but for bundled SQLite, which its own tests cover;
# without ASan each input runs several times faster. Debug assertions stay on.
cargo +nightly fuzz run --sanitizer none inbound_mail "$corpus" "$seeds" -- \
  -dict=mail.dict -max_len=262144 -rss_limit_mb=4096 -timeout=10 -len_control=0 \
  -max_total_time="$seconds" -print_final_stats=1
