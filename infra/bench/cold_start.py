#!/usr/bin/env python3
"""Cold start of the Lambda binaries: the time from exec to the first poll of the Runtime API
(what Lambda reports as Init Duration), measured with a stand-in Runtime API on loopback.

    python3 infra/bench/cold_start.py [--runs 25] NAME=PATH [NAME=PATH ...]

Each run starts the binary with the environment the functions get on AWS (the table, bucket
and addresses need not exist: nothing is called before the first event), waits for its
`GET /2018-06-01/runtime/invocation/next`, notes the elapsed time and the process's CPU time
so far, and kills it. Runs alternate between the binaries so that a busy machine weighs on
all of them alike. Prints one JSON object per binary: median, p10, p90 (ms), CPU (ms).
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import time

ENVIRONMENT = {
    "AWS_LAMBDA_FUNCTION_NAME": "cold-start",
    "AWS_LAMBDA_FUNCTION_VERSION": "1",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_SESSION_TOKEN": "test",
    "VENTANILLA_TABLE": "ventanilla-cold-start",
    "VENTANILLA_BUCKET": "ventanilla-cold-start",
    "VENTANILLA_LINK_SECRET": "cold-start-cold-start-cold-start-0123",
    "VENTANILLA_IDENTIFIER_SECRET": "cold-start-identifiers-cold-start-0123",
    "VENTANILLA_PUBLIC_URL": "https://ventanilla.example.gob.ec",
    "RUST_LOG": "info",
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
}


def cpu_ms(pid):
    """CPU time of a live process so far, all threads (schedstat: nanoseconds on a CPU)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/schedstat") as f:
            total += int(f.read().split()[0])
    return total / 1e6


def one_run(path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    env = dict(ENVIRONMENT, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}")
    started = time.perf_counter()
    process = subprocess.Popen([path], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        listener.settimeout(10)
        connection, _ = listener.accept()
        connection.settimeout(10)
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = connection.recv(4096)
            if not chunk:
                break
            request += chunk
        elapsed = (time.perf_counter() - started) * 1000
        if b"/runtime/invocation/next" not in request:
            raise RuntimeError(f"{path}: unexpected first request {request[:80]!r}")
        cpu = cpu_ms(process.pid)
        connection.close()
        return elapsed, cpu
    finally:
        process.kill()
        process.wait()
        listener.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("binaries", nargs="+", metavar="NAME=PATH")
    args = parser.parse_args()
    binaries = [b.split("=", 1) for b in args.binaries]
    times = {name: [] for name, _ in binaries}
    cpus = {name: [] for name, _ in binaries}
    for name, path in binaries:  # warm the page cache: measure start-up, not the disk
        one_run(path)
    for _ in range(args.runs):
        for name, path in binaries:
            elapsed, cpu = one_run(path)
            times[name].append(elapsed)
            cpus[name].append(cpu)
    for name, path in binaries:
        t = sorted(times[name])
        deciles = statistics.quantiles(t, n=10)
        print(json.dumps({
            "binary": name,
            "bytes": os.path.getsize(path),
            "runs": len(t),
            "median_ms": round(statistics.median(t), 2),
            "p10_ms": round(deciles[0], 2),
            "p90_ms": round(deciles[-1], 2),
            "cpu_median_ms": round(statistics.median(cpus[name]), 2),
        }))


if __name__ == "__main__":
    main()
