"""Times status lookups that miss, to check that an unknown number and a wrong e-mail are
not told apart by how long the answer takes.

Starts ventanilla-local (the binary named by $1, e.g. target/debug/ventanilla-local) on a
free loopback port with limits raised so nothing is throttled, opens one ticket, then sends
N lookups of each kind, interleaved, and prints the median and 90th percentile of each.

    python3 infra/bench/lookup_misses.py <ventanilla-local> [N]
"""

import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def post(url, body):
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json", "accept": "application/json"}
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    return status, payload, time.perf_counter() - started


def main():
    binary, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 300
    with tempfile.TemporaryDirectory() as data:
        config = (ROOT / "shared/app/ventanilla.toml").read_text()
        config = re.sub(r"(lookup_misses_per_\w+ =) \d+", r"\1 1000000", config)
        (Path(data) / "config.toml").write_text(config)
        server = subprocess.Popen(
            [binary, "--addr", "127.0.0.1:0", "--smtp-addr", "127.0.0.1:0", "--data-dir", data, "--config", str(Path(data) / "config.toml")],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            url = re.search(r"listening on (\S+)", server.stdout.readline()).group(1)
            # The server logs every request to stdout: keep reading it, or the pipe fills
            # and the server waits on it.
            threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
            ticket = {
                "agency": "MDT", "category": "queja", "nationality": "EC", "id_type": "cedula",
                "id_number": "1710034065", "full_name": "Ana Pérez", "email": "ana@example.com",
                "user_type": "ciudadano", "subject": "Medición", "description": "Medición de tiempos.",
            }
            status, payload, _ = post(f"{url}/api/v1/tickets", ticket)
            assert status == 201, payload
            number = json.loads(payload)["number"]
            times = {"unknown number": [], "wrong e-mail": []}
            bodies = set()
            for i in range(n):
                for kind, body in (
                    ("unknown number", {"email": "ana@example.com", "number": f"MDT-QUE-2025-{90000 + i}"}),
                    ("wrong e-mail", {"email": f"otra{i}@example.com", "number": number}),
                ):
                    status, payload, seconds = post(f"{url}/api/v1/tickets/lookup", body)
                    assert status == 404, (status, payload)
                    bodies.add(payload)
                    times[kind].append(seconds * 1000)
            for kind, samples in times.items():
                samples.sort()
                print(f"{kind:15} n={len(samples)} median {statistics.median(samples):.2f} ms, "
                      f"p90 {samples[int(len(samples) * 0.9)]:.2f} ms")
            print(f"distinct 404 bodies: {len(bodies)}")
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
