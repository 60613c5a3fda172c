# Shared by the scripts in infra/: the Python venv, and the local AWS stand-in (moto).
# Source it; it defines functions and cleans up what they start when the script exits.

log() { printf '\n==> %s\n' "$*" >&2; }

# Installs a requirements file (infra/requirements-test.txt by default) into a venv kept
# between runs (keyed by the file's hash, so a change of pins builds a new one). Sets the
# variable named by $2 (VENV by default) to the venv's folder.
python_venv() {
  local requirements="${1:-infra/requirements-test.txt}" variable="${2:-VENV}"
  local cache="${VENTANILLA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ventanilla}"
  local hash venv
  hash=$(sha256sum "$requirements" | cut -c1-12)
  venv="$cache/venv-$hash"
  # A stamp marks a finished install: an interrupted one is thrown away and redone.
  if [ ! -f "$venv/.installed" ]; then
    log "installing $requirements into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    touch "$venv/.installed"
  fi
  printf -v "$variable" '%s' "$venv"
}

# The IAM policy evaluator the AWS stand-in asks (infra/iam, pinned npm packages).
iam_evaluator() {
  log "installing the IAM policy evaluator's npm packages"
  (cd infra/iam && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

# The browser suite's tools: Debian's Chromium (installed once, as root or through sudo) and
# the pinned npm packages of tests/browser. Sets VENTANILLA_CHROMIUM.
browser_suite() {
  if ! command -v chromium >/dev/null 2>&1; then
    log "installing Chromium (Debian package)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
  fi
  VENTANILLA_CHROMIUM=$(command -v chromium)
  log "installing the browser suite's npm packages"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts a moto server on a free loopback port, waits until it answers, and puts its URL
# in the variable named by $1. Every server started is stopped (by its PID) when the
# calling script exits.
MOTO_PIDS=()
trap 'stop_motos' EXIT

start_moto() {
  local port log_file pid url
  port=$(free_port)
  log_file="${TMPDIR:-/tmp}/ventanilla-moto-$port.log"
  "$VENV/bin/python" infra/moto_server.py 127.0.0.1 "$port" >"$log_file" 2>&1 &
  pid=$!
  MOTO_PIDS+=("$pid")
  url="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('$url/moto-api/', timeout=1)" 2>/dev/null; then
      printf -v "$1" '%s' "$url"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$log_file" >&2
      log "the AWS stand-in did not start"
      return 1
    fi
    sleep 0.2
  done
  log "the AWS stand-in did not answer within 20 s"
  return 1
}

stop_motos() {
  local pid
  for pid in "${MOTO_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
}
