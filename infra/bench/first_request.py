#!/usr/bin/env python3
"""Init plus the first request of each function, with the TLS handshakes included, and the
same at the CPU share Lambda gives each memory size.

    VENTANILLA_LAMBDA_DIR=... <venv>/bin/python infra/bench/first_request.py \\
        [--runs 7] [--memory 128,256,512,1024] [--out first-request.json]

Starts on 127.0.0.1: moto (`infra/moto_server.py`) and, in front of it, a TLS endpoint per
service (DynamoDB, S3, SES v2, SSM) with a certificate of a throw-away CA (RSA 2048, as AWS's
endpoints use), which the functions trust through AWS_CA_BUNDLE, as they would trust Amazon's
roots: a fresh process's first call to each service pays a full handshake and certificate
check, as on AWS, and its later calls reuse the connection, as AWS's keep-alive allows (until
2026-12-03 the front passed on moto's `Connection: close`, and every call paid a handshake). Each run
starts one `bootstrap` against a stand-in Runtime API that hands it one real event (the
samples of infra/events, with a valid agent token and a stored mail), then a second one, and
notes:

  - the time and the process's CPU time at its first poll (init),
  - at the first answer (init + first request: what a citizen waits on a cold start),
  - at the second answer (a warm request, for comparison),
  - the TLS handshakes the front served for each of the two requests.

Unconstrained runs give the CPU cost. Lambda gives a function CPU in proportion to its memory
(1,769 MB = one vCPU); the constrained runs put the process in a cgroup (v1 `cpu` controller,
CFS quota = memory / 1769 of a CPU per 100 ms period) and give the wall time of init + first
request at that share. Needs root for the cgroup; without it those runs are skipped.

Prints one JSON object per function on stdout; progress on stderr.
"""

import argparse
import asyncio
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
import datetime

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
import aws_calls  # noqa: E402  (moto, the resources and the agent, as the cost run makes them)
from aws_calls import BUCKET, DOMAIN, FUNCTIONS, NO_REPLY, ROOT, SUPPORT, TABLE, log  # noqa: E402

EVENTS = ROOT / "infra" / "events"
# Lambda: "1,769 MB = the equivalent of one vCPU".
MB_PER_VCPU = 1769
PERIOD_US = 100_000
CGROUP_ROOT = Path("/sys/fs/cgroup/cpu")


# ---------------------------------------------------------------------------------------
# TLS in front of the stand-in
# ---------------------------------------------------------------------------------------

def make_certificates(folder):
    """A CA and a server certificate for 127.0.0.1 and localhost, RSA 2048 with SHA-256."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=Ventanilla bench CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=localhost")
    (folder / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
        "basicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-sha256", "-extfile", "server.ext")
    # The chain a server sends: leaf and intermediate-equivalent (here the CA itself).
    (folder / "chain.pem").write_text((folder / "server.pem").read_text() + (folder / "ca.pem").read_text())
    return folder / "ca.pem", folder / "chain.pem", folder / "server.key"


# The services the functions call, each on its own endpoint as on AWS (dynamodb.<region>...,
# s3..., email..., ssm...): a function opens one connection per service, not one in all.
SERVICES = ("dynamodb", "s3", "sesv2", "ssm")


class TlsFront:
    """Terminates TLS on one loopback port per service and hands each request to moto's plain
    port. It keeps the client's connection open between requests, as AWS's endpoints do (moto
    answers every request with `Connection: close`, which would make each call of a function
    pay a new TCP connection and TLS handshake that it does not pay on AWS)."""

    def __init__(self, chain, key, backend_port):
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(chain, key)
        self.backend_port = backend_port
        self.loop = asyncio.new_event_loop()
        self.ports = {service: aws_calls.free_port() for service in SERVICES}
        self.handshakes = 0
        started = threading.Event()
        threading.Thread(target=self.run, args=(started,), daemon=True).start()
        started.wait(10)

    def endpoints(self):
        """The environment that sends each service's calls to its own port."""
        return {f"AWS_ENDPOINT_URL_{service.upper()}": f"https://127.0.0.1:{port}"
                for service, port in self.ports.items()}

    def run(self, started):
        asyncio.set_event_loop(self.loop)
        servers = [self.loop.run_until_complete(asyncio.start_server(
            self.connection, "127.0.0.1", port, ssl=self.context)) for port in self.ports.values()]
        started.set()
        self.loop.run_until_complete(asyncio.gather(*(s.serve_forever() for s in servers)))

    async def connection(self, reader, writer):
        self.handshakes += 1
        try:
            while await self.one_request(reader, writer):
                pass
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except Exception as error:  # a request the front cannot read, or moto unreachable: say so
            log(f"TLS front: {error!r}")
            try:
                writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
            except (ConnectionError, ssl.SSLError):
                pass
        finally:
            writer.close()

    async def one_request(self, reader, writer):
        """Passes one request on and its answer back; False when the client is done."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False  # the client closed between requests
        lines = head.decode("latin-1").split("\r\n")[:-2]
        headers = header_fields(lines)
        fields = dict(headers)
        if fields.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
        if fields.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += (await reader.readexactly(size + 2))[:-2]
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
        else:
            body = await reader.readexactly(int(fields.get("content-length", "0")))
        skip = {"transfer-encoding", "expect", "connection", "content-length"}
        forwarded = [lines[0]] + [f"{n}: {v}" for n, v in headers if n not in skip]
        forwarded += [f"Content-Length: {len(body)}", "Connection: close"]
        backend_reader, backend_writer = await asyncio.open_connection("127.0.0.1", self.backend_port)
        backend_writer.write(("\r\n".join(forwarded) + "\r\n\r\n").encode("latin-1") + body)
        await backend_writer.drain()
        answer = await backend_reader.read()  # moto closes after each answer
        backend_writer.close()
        answer_head, _, answer_body = answer.partition(b"\r\n\r\n")
        answer_lines = answer_head.decode("latin-1").split("\r\n")
        answer_headers = header_fields(answer_lines)
        kept = [answer_lines[0]] + [f"{n}: {v}" for n, v in answer_headers
                                    if n not in ("connection", "content-length")]
        # A HEAD answer has no body to count: the length moto announced stands.
        length = dict(answer_headers).get("content-length") if lines[0].startswith("HEAD ") else len(answer_body)
        if length is not None and "transfer-encoding" not in dict(answer_headers):  # chunked: as it came
            kept.append(f"Content-Length: {length}")
        writer.write(("\r\n".join(kept) + "\r\n\r\n").encode("latin-1") + answer_body)
        await writer.drain()
        return fields.get("connection", "").lower() != "close"


def header_fields(lines):
    """(lower-case name, value) of each header line after the first line of a request or answer."""
    return [(name.strip().lower(), value.strip()) for name, _, value in (line.partition(":") for line in lines[1:])]


# ---------------------------------------------------------------------------------------
# A Runtime API that hands out a fixed list of events and times the answers
# ---------------------------------------------------------------------------------------

def cpu_ms(pid):
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:  # a thread that just ended
            pass
    return total / 1e6


class RuntimeApi(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, events, handshakes):
        super().__init__(("127.0.0.1", 0), RuntimeHandler)
        self.events = list(events)
        self.handshakes = handshakes  # TLS handshakes the front has served so far
        self.marks = []  # (what, seconds since start, CPU ms, answer, handshakes)
        self.pid = None
        self.pid_known = threading.Event()  # the child may poll before Popen returns
        self.started = None
        self.done = threading.Event()
        self.lock = threading.Lock()

    def mark(self, what, answer=None):
        elapsed = time.perf_counter() - self.started
        self.pid_known.wait(10)
        with self.lock:
            self.marks.append((what, elapsed * 1000, cpu_ms(self.pid), answer, self.handshakes()))


class RuntimeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if not self.path.endswith("/runtime/invocation/next"):
            self.send_error(404)
            return
        server = self.server
        if not server.marks:
            server.mark("init")
        if not server.events:
            server.done.set()
            time.sleep(30)  # the run kills the process
            return
        event = server.events.pop(0)
        body = json.dumps(event).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Lambda-Runtime-Aws-Request-Id", str(uuid.uuid4()))
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:us-east-1:123456789012:function:bench")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if "/response" in self.path or "/error" in self.path:
            kind = "response" if "/response" in self.path else "error"
            self.server.mark(kind, body.decode(errors="replace"))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


# ---------------------------------------------------------------------------------------
# The functions and their events
# ---------------------------------------------------------------------------------------

def sample(name):
    return json.loads((EVENTS / f"{name}.json").read_text())


class Events:
    """Fresh, valid events for each run: a new citizen and mail each time, so that no run
    meets a throttle or a duplicate and each does the work a first request does."""

    def __init__(self, s3, token):
        self.s3, self.token, self.n = s3, token, 0
        self.number = self.email = None

    def next_id(self):
        self.n += 1
        return self.n

    def for_function(self, name):
        n = self.next_id()
        ip = f"198.51.{n // 250}.{n % 250 + 1}"
        if name == "create-ticket":
            event = sample("create-ticket-post-json")
            body = json.loads(event["body"])
            body["email"] = f"ciudadana{n}@example.com"
            event["body"] = json.dumps(body)
            event["headers"]["content-length"] = str(len(event["body"].encode()))
        elif name == "ticket-status":
            event = sample("ticket-status-lookup")
            event["body"] = json.dumps({"email": self.email, "number": self.number})
            event["headers"]["content-length"] = str(len(event["body"].encode()))
        elif name == "agent-api":
            event = sample("agent-api-list-tickets")
            event["headers"]["authorization"] = f"Bearer {self.token}"
        else:
            event = sample("inbound-mail-ses-receipt")
            ses_id = f"bench{uuid.uuid4().hex}"
            mail = EmailMessage()
            mail["From"] = f"Rosa Quishpe <rosa{n}@example.com>"
            mail["To"] = SUPPORT
            mail["Subject"] = "No puedo ingresar al sistema"
            mail["Date"] = format_datetime(datetime.datetime.now().astimezone())
            mail["Message-ID"] = make_msgid(domain="mail.example.com")
            mail.set_content("Buenos días,\n\nMi contraseña caducó y el enlace para cambiarla no "
                             "llega.\n\nRosa\n")
            self.s3.put_object(Bucket=BUCKET, Key=f"inbound/{ses_id}", Body=mail.as_bytes())
            record = event["Records"][0]
            record["ses"]["mail"]["messageId"] = ses_id
            record["ses"]["mail"]["commonHeaders"]["messageId"] = mail["Message-ID"]
        if "requestContext" in event:
            event["requestContext"]["http"]["sourceIp"] = ip
            event["headers"]["x-forwarded-for"] = ip
        return event


def environment(name, front, ca):
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_SESSION_TOKEN": "test",
        **front.endpoints(),
        "AWS_CA_BUNDLE": str(ca),
        "VENTANILLA_TABLE": TABLE,
        "VENTANILLA_BUCKET": BUCKET,
        "VENTANILLA_S3_PATH_STYLE": "true",
        "VENTANILLA_LINK_SECRET": "first-request-first-request-0123456789",
        "VENTANILLA_IDENTIFIER_SECRET": "first-request-identifiers-0123456789",
        "VENTANILLA_PUBLIC_URL": f"https://{DOMAIN}",
        "VENTANILLA_MAIL_DOMAIN": DOMAIN,
        "VENTANILLA_SUPPORT_ADDRESS": SUPPORT,
        "VENTANILLA_NO_REPLY_ADDRESS": NO_REPLY,
        "RUST_LOG": "info",
    }


def cgroup_for(memory):
    """A cgroup with the CPU share Lambda gives `memory` MB, or None where we cannot make one."""
    if memory is None:
        return None
    group = CGROUP_ROOT / f"ventanilla-bench-{memory}"
    try:
        group.mkdir(exist_ok=True)
        (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (group / "cpu.cfs_quota_us").write_text(str(max(1000, PERIOD_US * memory // MB_PER_VCPU)))
    except OSError as error:
        log(f"no cgroup for {memory} MB ({error}): constrained runs skipped")
        return None
    return group


def one_run(binary, env, events, group, front):
    handshakes_before = front.handshakes
    api = RuntimeApi(events, lambda: front.handshakes)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.server_address[1]}")

    def enter_group():
        if group is not None:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    api.started = time.perf_counter()
    process = subprocess.Popen([str(binary)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, preexec_fn=enter_group)
    api.pid = process.pid
    api.pid_known.set()
    try:
        if not api.done.wait(60):
            raise RuntimeError(f"{binary.parent.name}: no second poll within 60 s")
    finally:
        process.kill()
        _, stderr = process.communicate()
        api.shutdown()
        api.server_close()
    marks = {what: (ms, cpu, answer) for what, ms, cpu, answer, _ in api.marks if what == "init"}
    answers = [m for m in api.marks if m[0] in ("response", "error")]
    if len(answers) != 2 or any(kind == "error" for kind, *_ in answers):
        raise RuntimeError(f"{binary.parent.name}: {answers!r}\n{stderr.decode(errors='replace')[-2000:]}")
    init_ms, init_cpu, _ = marks["init"]
    (_, first_ms, first_cpu, first_answer, first_tls), (_, second_ms, second_cpu, _, second_tls) = answers
    return {
        "init_ms": init_ms, "init_cpu_ms": init_cpu,
        "first_ms": first_ms, "first_cpu_ms": first_cpu,
        "warm_ms": second_ms - first_ms, "warm_cpu_ms": second_cpu - first_cpu,
        # New TLS connections: AWS keeps them open between calls, as the front does.
        "first_tls_handshakes": first_tls - handshakes_before, "warm_tls_handshakes": second_tls - first_tls,
        "first_answer": first_answer,
    }


def status_of(answer):
    try:
        value = json.loads(answer)
    except ValueError:
        return None
    if isinstance(value, dict) and "statusCode" in value:
        return value["statusCode"]
    return value


def median(runs, key):
    return round(statistics.median(r[key] for r in runs), 2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--memory", default="128,256,512,1024")
    parser.add_argument("--out")
    args = parser.parse_args()
    memories = [int(m) for m in args.memory.split(",") if m]
    lambda_dir = aws_calls.lambda_dir()
    binaries = {name: lambda_dir / name / "bootstrap" for name in FUNCTIONS}
    for name, path in binaries.items():
        if not path.exists():
            sys.exit(f"{path} is missing: build with cargo lambda build --release first")

    folder = Path(tempfile.mkdtemp(prefix="ventanilla-first-request-"))
    moto_port = aws_calls.free_port()
    moto = subprocess.Popen([sys.executable, str(ROOT / "infra" / "moto_server.py"), "127.0.0.1",
                             str(moto_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    groups = []
    try:
        aws_calls.wait_for_port(moto_port, moto, "moto")
        moto_url = f"http://127.0.0.1:{moto_port}"
        aws_calls.create_resources(moto_url)
        token = aws_calls.add_agent(moto_url)
        ca, chain, key = make_certificates(folder)
        front = TlsFront(chain, key, moto_port)
        s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test",
                          config=Config(s3={"addressing_style": "path"}))
        events = Events(s3, token)

        # One opening first: the lookups look that ticket up.
        opened = one_run(binaries["create-ticket"], environment("create-ticket", front, ca),
                         [events.for_function("create-ticket"), events.for_function("create-ticket")], None, front)
        ticket = json.loads(json.loads(opened["first_answer"])["body"])
        events.number, events.email = ticket["number"], "ciudadana1@example.com"

        results = {}
        for name, binary in binaries.items():
            env = environment(name, front, ca)
            one_run(binary, env, [events.for_function(name), events.for_function(name)], None, front)  # page cache
            free = []
            for _ in range(args.runs):
                free.append(one_run(binary, env, [events.for_function(name), events.for_function(name)], None,
                                    front))
            result = {
                "function": name,
                "bytes": binary.stat().st_size,
                "first_answer": status_of(free[0]["first_answer"]),
                "runs": args.runs,
                "unconstrained": {k: median(free, k) for k in (
                    "init_ms", "init_cpu_ms", "first_ms", "first_cpu_ms", "warm_ms", "warm_cpu_ms",
                    "first_tls_handshakes", "warm_tls_handshakes")},
                "at_memory": {},
            }
            for memory in memories:
                group = cgroup_for(memory)
                if group is None:
                    continue
                groups.append(group)
                runs = [one_run(binary, env, [events.for_function(name), events.for_function(name)], group, front)
                        for _ in range(args.runs)]
                result["at_memory"][memory] = {k: median(runs, k) for k in (
                    "init_ms", "first_ms", "warm_ms")}
                log(f"{name} at {memory} MB: {result['at_memory'][memory]}")
            log(json.dumps(result))
            print(json.dumps(result), flush=True)
            results[name] = result
        log(f"TLS handshakes served: {front.handshakes}")
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    finally:
        moto.kill()
        moto.wait()
        shutil.rmtree(folder, ignore_errors=True)
        for group in groups:
            try:
                group.rmdir()
            except OSError:
                pass


if __name__ == "__main__":
    main()
