#!/usr/bin/env python3
"""What one ticket costs in AWS calls: the release binaries under `cargo lambda watch`, with a
counting proxy between them and moto (the AWS stand-in).

    VENTANILLA_CARGO_LAMBDA=... VENTANILLA_LAMBDA_DIR=... \\
        <venv>/bin/python infra/bench/aws_calls.py [--tickets 20] [--out summary.json]

Starts on 127.0.0.1: moto (`infra/moto_server.py`), one counting proxy per caller (each
function, the simulated SES receipt rule, and setup), `cargo lambda watch --only-lambda-apis`
and the four `bootstrap` binaries, whose AWS_ENDPOINT_URL is their own proxy. Creates the
table, bucket and SES identity, adds an agent with the real CLI (`ventanilla-local agent add`),
then runs this profile per ticket:

  form:      GET /, GET /static/site.css, POST /api/v1/tickets (multipart, as the page posts it),
             and the confirmation page it is sent on to (GET /estado/<token>/recibido)
  lookup 1:  the access link of the acknowledgement, GET /estado/<token>, + site.css
  mail 1:    the citizen answers the acknowledgement (raw mail PUT to S3, SES receipt event)
  reply 1:   the agent lists the queue, opens the ticket, replies (waiting_on_citizen)
  lookup 2:  GET /estado, + site.css, POST /estado (e-mail + number)
  mail 2:    the citizen answers the agent's reply
  reply 2:   list, open, reply (resolved)
  lookup 3:  as lookup 2

The proxy tallies per caller and operation: DynamoDB calls by X-Amz-Target with write and read
request units (sizes by AWS's item size rules, items read back from moto directly), S3 requests
by kind and bytes stored, SES calls and bytes; the client times each Lambda invocation. Prints
a JSON summary (totals, per ticket) on stdout; progress goes to stderr.

Environment: VENTANILLA_CARGO_LAMBDA (default `cargo-lambda` on PATH, else next to this
Python), VENTANILLA_LAMBDA_DIR (default `${CARGO_TARGET_DIR:-target}/lambda`),
VENTANILLA_LOCAL_BIN (an already built `ventanilla-local`; default `cargo run -q -p
ventanilla-local --`). Python 3.11 with boto3 and moto[server] (infra/requirements-test.txt), and
the IAM evaluator's packages (`npm ci` in infra/iam; `infra/test.sh` installs them).
"""

import argparse
import base64
import datetime
import email
import email.policy
import http.client
import http.server
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ["create-ticket", "ticket-status", "inbound-mail", "agent-api"]
# Callers whose AWS calls are counted; "setup" (table, bucket, agent) is not part of a ticket.
COUNTED = FUNCTIONS + ["ses-receipt"]
DOMAIN = "ventanilla.example.gob.ec"
SUPPORT = f"soporte@{DOMAIN}"
NO_REPLY = f"no-responder@{DOMAIN}"
TABLE = "ventanilla-bench"
BUCKET = "ventanilla-bench"
KEYS = ("PK", "SK")


def template_indexes():
    """The ticket table's GSIs as `template.yaml` declares them: name -> (hash key, range key,
    projection type, projected non-key attributes), so the profile is that of the template."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    # CloudFormation's short tags (!Sub, !Ref, ...) read as plain values.
    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)
    indexes = {}
    for index in template["Resources"]["TicketsTable"]["Properties"]["GlobalSecondaryIndexes"]:
        keys = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
        projection = index["Projection"]
        indexes[index["IndexName"]] = (keys["HASH"], keys["RANGE"], projection["ProjectionType"],
                                       tuple(projection.get("NonKeyAttributes", ())))
    return indexes


INDEXES = template_indexes()
CATEGORIES = ["requerimiento", "queja", "problema_tecnico", "asesoria", "sugerencia"]
# Headers that belong to one hop, not to the request the proxy passes on.
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "upgrade",
       "expect", "content-length"}


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, what, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} ended with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port} within {seconds} s")


# ---------------------------------------------------------------------------------------
# DynamoDB item sizes and request units (AWS's published rules, approximately)
# ---------------------------------------------------------------------------------------

def value_size(value):
    """Bytes of one attribute value in DynamoDB JSON."""
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        # About one byte per two significant digits, plus one.
        digits = v.lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(base64.b64decode(v))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(x.encode()) for x in v)
    if kind == "NS":
        return sum(value_size({"N": x}) for x in v)
    if kind == "BS":
        return sum(len(base64.b64decode(x)) for x in v)
    if kind == "L":
        return 3 + sum(1 + value_size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(x) for k, x in v.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item):
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def wru(size):
    return max(1, math.ceil(size / 1024))


def rru_units(size):
    """4 KB read units (before the consistency factor); a miss still costs one."""
    return max(1, math.ceil(size / 4096))


def index_key(item, index):
    if not item:
        return None
    hash_key, range_key = INDEXES[index][:2]
    if hash_key in item and range_key in item:
        return json.dumps([item[hash_key], item[range_key]], sort_keys=True)
    return None


def index_entry(item, index):
    """What `index` holds of `item`: the whole item (ALL), or the table's and the index's keys
    with the projected attributes (KEYS_ONLY, INCLUDE)."""
    hash_key, range_key, projection, attributes = INDEXES[index]
    if projection == "ALL":
        return item
    kept = set(KEYS) | {hash_key, range_key} | set(attributes)
    return {k: v for k, v in item.items() if k in kept}


def index_write_units(before, after):
    """Writes the table's GSIs take for one item change: an index entry written when its key
    or what it projects changes, and one deleted when the index key moves or goes."""
    units = 0
    for index in INDEXES:
        old, new = index_key(before, index), index_key(after, index)
        if old is None and new is None:
            continue
        if old == new:
            old_entry, new_entry = index_entry(before, index), index_entry(after, index)
            if old_entry != new_entry:
                units += wru(max(item_size(old_entry), item_size(new_entry)))
        else:
            if old is not None:
                units += wru(item_size(index_entry(before, index)))
            if new is not None:
                units += wru(item_size(index_entry(after, index)))
    return units


def item_kind(key):
    """An item's kind, from its key: `TICKET#<n>`/`MSG#<at>#<id>` -> `TICKET/MSG`."""
    def prefix(value):
        text = next(iter(value.values())) if isinstance(value, dict) else str(value)
        # `WORD#…`/`<number>`, `AUDIT#…`/`<time>`, `STATS#…`/`D<day>`: a key part without
        # `#` that is not a bare name (META) is one of many, shown by its letters.
        head = text.split("#", 1)[0]
        if head.isalpha():
            return head
        letters = re.match(r"[A-Za-z]*", head).group(0)
        return f"{letters}…" if letters else "*"
    return f"{prefix(key['PK'])}/{prefix(key['SK'])}"


# ---------------------------------------------------------------------------------------
# moto, called directly (not counted): full items before and after a write, read sets
# ---------------------------------------------------------------------------------------

class Moto:
    def __init__(self, port):
        self.port = port

    def dynamodb(self, operation, payload):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request("POST", "/", body=json.dumps(payload), headers={
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": f"DynamoDB_20120810.{operation}",
                # moto picks the service and region from the credential scope; it does not
                # check signatures.
                "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/"
                                 "aws4_request, SignedHeaders=host, Signature=0",
            })
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise RuntimeError(f"moto {operation}: {response.status} {body[:300]!r}")
        return json.loads(body)

    def get(self, table, key):
        return self.dynamodb("GetItem", {"TableName": table, "Key": key,
                                         "ConsistentRead": True}).get("Item")

    def read_set(self, operation, request):
        """The items a Query or Scan reads, which is what it is charged for: the same request
        without the filter and projection, which only shape the answer."""
        payload = {k: v for k, v in request.items() if k not in (
            "FilterExpression", "ProjectionExpression", "Select", "AttributesToGet",
            "QueryFilter", "ScanFilter", "ConditionalOperator", "ReturnConsumedCapacity")}
        used = payload.get("KeyConditionExpression", "")
        for field, prefix in (("ExpressionAttributeNames", "#"), ("ExpressionAttributeValues", ":")):
            kept = {k: v for k, v in payload.get(field, {}).items()
                    if re.search(re.escape(k) + r"(?![\w])", used)}
            if kept:
                payload[field] = kept
            else:
                payload.pop(field, None)
        return self.dynamodb(operation, payload).get("Items", [])


def key_of(item):
    return {k: item[k] for k in KEYS}


# ---------------------------------------------------------------------------------------
# The tally
# ---------------------------------------------------------------------------------------

def new_dynamo_row():
    return {"calls": 0, "items": 0, "wru": 0.0, "wru_index": 0.0, "rru": 0.0,
            "bytes_written": 0, "bytes_read": 0, "failed": 0}


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.dynamodb = defaultdict(lambda: defaultdict(new_dynamo_row))
        self.s3 = defaultdict(lambda: defaultdict(int))
        self.ses = defaultdict(lambda: defaultdict(int))
        self.other = defaultdict(lambda: defaultdict(int))
        self.sent = []  # (caller, SES message id, raw mail bytes)
        # Per caller: writes by "operation item-kind", and transactions by the kinds they hold.
        self.kinds = defaultdict(lambda: defaultdict(lambda: defaultdict(float)))
        self.transactions = defaultdict(lambda: defaultdict(lambda: defaultdict(float)))
        # Per caller: every AWS call by "service operation", and the seconds the proxy spent
        # on its own reads of moto (sizes), which the invocation's wall time should not hold.
        self.calls = defaultdict(lambda: defaultdict(int))
        self.overhead = defaultdict(float)

    def count(self, caller, name):
        with self.lock:
            self.calls[caller][name] += 1

    def snapshot(self, caller):
        with self.lock:
            return dict(self.calls[caller]), self.overhead[caller]

    def reset(self):
        with self.lock:
            self.dynamodb.clear()
            self.kinds.clear()
            self.transactions.clear()
            self.s3.clear()
            self.ses.clear()
            self.other.clear()
            self.calls.clear()
            self.overhead.clear()


class Proxy(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, caller, moto, tally, dynamo_lock):
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.caller, self.moto, self.tally, self.dynamo_lock = caller, moto, tally, dynamo_lock


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    # Keep-alive, as the SDK's connection pool expects of AWS.
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        self.relay()

    do_PUT = do_POST = do_HEAD = do_DELETE = do_GET

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def forward(self, body):
        connection = http.client.HTTPConnection("127.0.0.1", self.server.moto.port, timeout=120)
        try:
            # Host and the signed headers as the SDK sent them: moto reads the service from
            # the credential scope and the bucket from the path.
            connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in HOP:
                    connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            return response.status, response.reason, response.getheaders(), response.read()
        finally:
            connection.close()

    def relay(self):
        body = self.read_body()
        service = self.service()
        try:
            if service == "dynamodb":
                status, reason, headers, data = self.dynamodb(body)
            else:
                status, reason, headers, data = self.forward(body)
                if service == "s3":
                    self.s3(body)
                elif service == "ses":
                    self.ses(body, status, data)
                else:
                    self.server.tally.count(self.server.caller, f"{service} {self.command}")
                    with self.server.tally.lock:
                        self.server.tally.other[self.server.caller][f"{service} {self.command}"] += 1
        except Exception as error:  # the function sees a 500, the run a message
            log(f"proxy ({self.server.caller}): {error!r}")
            status, reason, headers, data = 500, "Proxy error", [], str(error).encode()
        self.send_response_only(status, reason)
        for name, value in headers:
            if name.lower() not in HOP or (self.command == "HEAD" and name.lower() == "content-length"):
                self.send_header(name, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def service(self):
        match = re.search(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/", self.headers.get("Authorization", ""))
        return match.group(1) if match else "unknown"

    # -- DynamoDB ------------------------------------------------------------------------

    def dynamodb(self, body):
        operation = (self.headers.get("X-Amz-Target") or "").rsplit(".", 1)[-1]
        request = json.loads(body or b"{}")
        moto, tally, caller = self.server.moto, self.server.tally, self.server.caller
        # One DynamoDB call at a time (moto serialises them anyway), so the items read before
        # and after a write are that write's.
        tally.count(caller, f"dynamodb {operation}")
        with self.server.dynamo_lock:
            extra = time.perf_counter()
            writes = write_targets(operation, request)
            before = [moto.get(table, key) for table, key, _ in writes]
            extra = time.perf_counter() - extra
            status, reason, headers, data = self.forward(body)
            answer = json.loads(data or b"{}")
            ok = status == 200
            after_started = time.perf_counter()
            after = [moto.get(table, key) for table, key, _ in writes] if ok else before
            row = {"calls": 1, "items": 0, "wru": 0.0, "wru_index": 0.0, "rru": 0.0,
                   "bytes_written": 0, "bytes_read": 0, "failed": 0 if ok else 1}
            transactional = operation == "TransactWriteItems"
            kinds = []
            for (_, key, kind), old, new in zip(writes, before, after):
                size = max(item_size(old), item_size(new))
                units = wru(size) * (2 if transactional else 1)
                row["items"] += 1
                # A refused conditional write or a cancelled transaction is charged too.
                row["wru"] += units
                if kind != "ConditionCheck":
                    row["bytes_written"] += item_size(new) if new else item_size(old)
                # Index entries are written as ordinary writes (assumed also for
                # transactions).
                index_units = index_write_units(old, new) if ok else 0
                row["wru_index"] += index_units
                name = item_kind(key) + (" (check)" if kind == "ConditionCheck" else "")
                kinds.append(name)
                with tally.lock:
                    entry = tally.kinds[caller][f"{operation} {name}"]
                    entry["writes"] += 1
                    entry["wru"] += units
                    entry["wru_index"] += index_units
                    entry["bytes"] += size
            if transactional:
                with tally.lock:
                    entry = tally.transactions[caller][" + ".join(kinds)]
                    entry["count"] += 1
                    entry["wru"] += sum(wru(max(item_size(o), item_size(w))) * 2
                                        for o, w in zip(before, after))
            if ok:
                self.reads(operation, request, answer, row)
            extra += time.perf_counter() - after_started
        with tally.lock:
            tally.overhead[caller] += extra
            target = tally.dynamodb[caller][operation]
            for k, v in row.items():
                target[k] += v
        return status, reason, headers, data

    def reads(self, operation, request, answer, row):
        moto = self.server.moto
        factor = 1.0 if request.get("ConsistentRead") else 0.5
        if operation == "GetItem":
            # Charged on the whole item, whatever the projection returns.
            item = moto.get(request["TableName"], request["Key"]) if answer.get("Item") else None
            size = item_size(item)
            row["items"] += 1
            row["bytes_read"] += size
            row["rru"] += rru_units(size) * factor
        elif operation in ("Query", "Scan"):
            items = moto.read_set(operation, request)
            size = sum(item_size(i) for i in items)
            row["items"] += len(items)
            row["bytes_read"] += size
            row["rru"] += rru_units(size) * factor
        elif operation == "BatchGetItem":
            for table, spec in request.get("RequestItems", {}).items():
                f = 1.0 if spec.get("ConsistentRead") else 0.5
                for key in spec.get("Keys", []):
                    size = item_size(moto.get(table, key))
                    row["items"] += 1
                    row["bytes_read"] += size
                    row["rru"] += rru_units(size) * f
        elif operation == "TransactGetItems":
            for entry in request.get("TransactItems", []):
                get = entry["Get"]
                size = item_size(moto.get(get["TableName"], get["Key"]))
                row["items"] += 1
                row["bytes_read"] += size
                row["rru"] += rru_units(size) * 2

    # -- S3 and SES ----------------------------------------------------------------------

    def s3(self, body):
        path = urllib.parse.urlsplit(self.path).path.lstrip("/")
        has_key = "/" in path and path.split("/", 1)[1] != ""
        method = self.command
        if method == "PUT" and has_key:
            kind = "COPY" if "x-amz-copy-source" in self.headers else "PUT"
        elif method == "GET":
            kind = "GET" if has_key else "LIST"
        else:
            kind = method if has_key else f"{method} bucket"
        stored = int(self.headers.get("x-amz-decoded-content-length") or len(body)) if kind == "PUT" else 0
        self.server.tally.count(self.server.caller, f"s3 {kind}")
        with self.server.tally.lock:
            row = self.server.tally.s3[self.server.caller]
            row[kind] += 1
            row["bytes_stored"] += stored

    def ses(self, body, status, data):
        path = urllib.parse.urlsplit(self.path).path
        operation = "SendEmail" if path.endswith("/outbound-emails") else f"{self.command} {path}"
        raw = b""
        if operation == "SendEmail" and status == 200:
            request = json.loads(body)
            raw = base64.b64decode(request.get("Content", {}).get("Raw", {}).get("Data", ""))
            message_id = json.loads(data).get("MessageId", "")
        self.server.tally.count(self.server.caller, f"ses {operation}")
        with self.server.tally.lock:
            row = self.server.tally.ses[self.server.caller]
            row[operation if status == 200 else f"{operation} (refused)"] += 1
            row["bytes_sent"] += len(raw)
            if raw:
                self.server.tally.sent.append((self.server.caller, message_id, raw))


def write_targets(operation, request):
    """(table, key, action) of every item a write request touches."""
    if operation == "PutItem":
        return [(request["TableName"], key_of(request["Item"]), "Put")]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(request["TableName"], request["Key"], operation[:-4])]
    if operation == "TransactWriteItems":
        targets = []
        for entry in request["TransactItems"]:
            (action, spec), = entry.items()
            key = key_of(spec["Item"]) if action == "Put" else spec["Key"]
            targets.append((spec["TableName"], key, action))
        return targets
    if operation == "BatchWriteItem":
        targets = []
        for table, entries in request["RequestItems"].items():
            for entry in entries:
                if "PutRequest" in entry:
                    targets.append((table, key_of(entry["PutRequest"]["Item"]), "Put"))
                else:
                    targets.append((table, entry["DeleteRequest"]["Key"], "Delete"))
        return targets
    return []


# ---------------------------------------------------------------------------------------
# The citizen's and the agent's side
# ---------------------------------------------------------------------------------------

class Client:
    """Plain HTTP to `cargo lambda watch`'s function URLs; every request is one invocation."""

    def __init__(self, port, tally):
        self.port, self.tally = port, tally
        # function -> [(route, wall ms, wall ms without the proxy's own reads, AWS calls)]
        self.times = defaultdict(list)

    def request(self, function, route, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if body is not None:
            headers["Content-Length"] = str(len(body))
        calls_before, overhead_before = self.tally.snapshot(function)
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        wall = (time.perf_counter() - started) * 1000
        calls_after, overhead_after = self.tally.snapshot(function)
        calls = {k: v - calls_before.get(k, 0) for k, v in calls_after.items() if v != calls_before.get(k, 0)}
        net = wall - (overhead_after - overhead_before) * 1000
        self.times[function].append((route, wall, net, calls))
        return response.status, dict(response.getheaders()), data

    def http(self, function, route, method, path, **kwargs):
        return self.request(function, route, method, f"/lambda-url/{function}{path}", **kwargs)

    def invoke(self, function, event):
        status, _, data = self.request(function, "invoke", "POST",
                                       f"/2015-03-31/functions/{function}/invocations",
                                       body=json.dumps(event).encode(),
                                       headers={"Content-Type": "application/json"})
        if status != 200:
            raise RuntimeError(f"invoke {function}: {status} {data[:300]!r}")
        return json.loads(data)


def cedula(n):
    """A valid Ecuadorian cédula (province 17, the mod-10 check digit)."""
    body = f"17{(n * 7919) % 10_000_000:07d}"
    body = body[:2] + str(int(body[2]) % 6) + body[3:]
    total = 0
    for i, digit in enumerate(body):
        product = int(digit) * (2 if i % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return body + str((10 - total % 10) % 10)


def multipart(fields):
    boundary = f"----ventanilla{uuid.uuid4().hex}"
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n')
    # The file input, left empty as a browser sends it.
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="screenshots"; filename=""\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\n\r\n")
    parts.append(f"--{boundary}--\r\n")
    return "".join(parts).encode(), f"multipart/form-data; boundary={boundary}"


def text_of(raw):
    message = email.message_from_bytes(raw, policy=email.policy.default)
    part = message.get_body(("plain",))
    return message, (part.get_content() if part else "")


def citizen_mail(name, address, number, parent_ses_id, parent_text, text):
    """A reply as a mail client writes it: text and HTML, the history quoted."""
    m = EmailMessage()
    m["From"] = f"{name} <{address}>"
    m["To"] = SUPPORT
    m["Subject"] = f"Re: [{number}] Su solicitud"
    m["Date"] = format_datetime(datetime.datetime.now().astimezone())
    m["Message-ID"] = make_msgid(domain="mail.example.com")
    m["In-Reply-To"] = f"<{parent_ses_id}@email.amazonses.com>"
    m["References"] = f"<{parent_ses_id}@email.amazonses.com>"
    m["MIME-Version"] = "1.0"
    quoted = "\n".join("> " + line for line in parent_text.splitlines())
    plain = f"{text}\n\nSaludos,\n{name}\n\nEl lun, Ventanilla <{SUPPORT}> escribió:\n{quoted}\n"
    m.set_content(plain)
    html_quoted = "<br>".join(line.replace("&", "&amp;").replace("<", "&lt;") for line in parent_text.splitlines())
    m.add_alternative(f"<html><body><div dir=\"ltr\">{text}<br><br>Saludos,<br>{name}</div>"
                      f"<div class=\"gmail_quote\"><blockquote>{html_quoted}</blockquote></div>"
                      "</body></html>", subtype="html")
    return m


def ses_event(template, ses_id, message):
    event = json.loads(json.dumps(template))
    mail = event["Records"][0]["ses"]["mail"]
    mail["messageId"] = ses_id
    mail["source"] = message["From"].addresses[0].addr_spec
    mail["commonHeaders"] = {"from": [str(message["From"])], "to": [SUPPORT],
                             "messageId": message["Message-ID"], "subject": str(message["Subject"]),
                             "date": message["Date"]}
    mail["headers"] = [{"name": k, "value": str(v)} for k, v in message.items()]
    return event


class Run:
    def __init__(self, client, tally, s3, event_template, token):
        self.client, self.tally, self.s3 = client, tally, s3
        self.event_template, self.token = event_template, token
        self.outcomes = defaultdict(int)

    def sent_to(self, caller, address, after):
        for who, ses_id, raw in self.tally.sent[after:]:
            if who == caller and address.encode() in raw:
                return ses_id, raw
        raise RuntimeError(f"no mail from {caller} to {address}")

    def status_page(self, address, number):
        c = self.client
        status, _, _ = c.http("ticket-status", "GET /estado", "GET", "/estado")
        assert status == 200, status
        status, _, _ = c.http("create-ticket", "GET /static/site.css", "GET", "/static/site.css")
        assert status == 200, status
        body = urllib.parse.urlencode({"email": address, "number": number}).encode()
        status, _, page = c.http("ticket-status", "POST /estado", "POST", "/estado", body=body,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200 and number.encode() in page, (status, page[:300])

    def citizen_writes(self, name, address, number, parent_id, parent_raw, text):
        _, parent_text = text_of(parent_raw)
        message = citizen_mail(name, address, number, parent_id, parent_text, text)
        ses_id = uuid.uuid4().hex + uuid.uuid4().hex[:8]
        raw = message.as_bytes(policy=email.policy.SMTP)
        # What the receipt rule's S3 action does, through the "ses-receipt" proxy.
        self.s3.put_object(Bucket=BUCKET, Key=f"inbound/{ses_id}", Body=raw,
                           ContentType="message/rfc822")
        answer = self.client.invoke("inbound-mail", ses_event(self.event_template, ses_id, message))
        self.outcomes[answer[0]["outcome"]] += 1
        assert answer[0].get("ticket") == number, answer
        return len(raw)

    def agent_replies(self, number, text, status_after):
        c, auth = self.client, {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        status, _, data = c.http("agent-api", "GET tickets", "GET", "/api/v1/agent/tickets", headers=auth)
        assert status == 200 and number.encode() in data, (status, data[:300])
        status, _, data = c.http("agent-api", "GET tickets/{number}", "GET",
                                 f"/api/v1/agent/tickets/{number}", headers=auth)
        assert status == 200, (status, data[:300])
        sent_before = len(self.tally.sent)
        body = json.dumps({"text": text, "status": status_after}).encode()
        status, _, data = c.http("agent-api", "POST replies", "POST",
                                 f"/api/v1/agent/tickets/{number}/replies", body=body,
                                 headers={**auth, "Content-Type": "application/json"})
        assert status == 201 and json.loads(data)["delivered"], (status, data[:300])
        return sent_before

    def ticket(self, i, tag):
        c = self.client
        name, address = "Carmen Guamán", f"ciudadano{i}.{tag}@example.com"
        mail_bytes = 0
        # Form.
        status, _, page = c.http("create-ticket", "GET /", "GET", "/", headers={"Accept": "text/html"})
        assert status == 200, status
        token = re.search(rb'name="idempotency_token" value="([^"]+)"', page).group(1).decode()
        status, _, _ = c.http("create-ticket", "GET /static/site.css", "GET", "/static/site.css")
        assert status == 200, status
        sent_before = len(self.tally.sent)
        body, content_type = multipart({
            "idempotency_token": token, "lang": "es", "agency": "MDT",
            "category": CATEGORIES[i % len(CATEGORIES)], "nationality": "EC", "id_type": "cedula",
            "id_number": cedula(i + 1), "full_name": name, "email": address, "gender": "femenino",
            "phone": "0991234567", "user_type": "ciudadano",
            "subject": "No puedo firmar el contrato en línea",
            "description": "Buenos días. El sistema da error al firmar el contrato electrónico: "
                           "aparece «firma no válida» después de cargar el certificado. "
                           "Probé dos veces hoy. ¿Qué puedo hacer?",
            "website": "",
        })
        status, headers, page = c.http("create-ticket", "POST /api/v1/tickets", "POST", "/api/v1/tickets?lang=es",
                                 body=body, headers={"Content-Type": content_type, "Accept": "text/html"})
        # Since issue 23 the form answers 303 to its confirmation page, which the browser
        # then asks ticket-status for.
        assert status == 303, (status, page[:500])
        location = {k.lower(): v for k, v in headers.items()}["location"]
        path = "/estado/" + location.split("/estado/", 1)[1]
        status, _, page = c.http("ticket-status", "GET /estado/{token}/recibido", "GET", path)
        assert status == 200, (status, page[:500])
        number = re.search(rb"MDT-[A-Z]{3}-\d{4}-\d{5}", page).group(0).decode()
        ack_id, ack = self.sent_to("create-ticket", address, sent_before)
        # Lookup 1: the access link in the acknowledgement.
        _, ack_text = text_of(ack)
        link = re.search(r"http://127\.0\.0\.1:\d+/lambda-url/ticket-status(/estado/\S+)", ack_text).group(1)
        status, _, page = c.http("ticket-status", "GET /estado/{token}", "GET", link.rstrip(">.,"))
        assert status == 200 and number.encode() in page, (status, page[:300])
        status, _, _ = c.http("create-ticket", "GET /static/site.css", "GET", "/static/site.css")
        # Mail 1, reply 1, lookup 2.
        mail_bytes += self.citizen_writes(name, address, number, ack_id, ack,
                                          "Adjunto más datos: uso Firefox 128 en Windows 11.")
        sent_before = self.agent_replies(number, "Buenos días. Pruebe con otro navegador, por favor, "
                                                 "y díganos si el error persiste.", "waiting_on_citizen")
        reply_id, reply = self.sent_to("agent-api", address, sent_before)
        self.status_page(address, number)
        # Mail 2, reply 2, lookup 3.
        mail_bytes += self.citizen_writes(name, address, number, reply_id, reply,
                                          "Con Chrome funcionó. Muchas gracias.")
        self.agent_replies(number, "Nos alegra. Cerramos la solicitud; puede escribirnos si "
                                   "necesita algo más.", "resolved")
        self.status_page(address, number)
        return number, mail_bytes


# ---------------------------------------------------------------------------------------
# Setup, the run, the summary
# ---------------------------------------------------------------------------------------

def memory_sizes():
    """MemorySize of each function in template.yaml (what Lambda bills GB-seconds on)."""
    template = (ROOT / "template.yaml").read_text()
    sizes = {}
    for name in FUNCTIONS:
        at = template.find(f"Binary: {name}\n")
        match = re.search(r"MemorySize:\s*(\d+)", template[at:]) if at >= 0 else None
        sizes[name] = int(match.group(1)) if match else None
    return sizes


def cargo_lambda():
    found = os.environ.get("VENTANILLA_CARGO_LAMBDA") or shutil.which("cargo-lambda")
    if not found:
        beside = Path(sys.executable).parent / "cargo-lambda"
        found = str(beside) if beside.exists() else None
    if not found:
        sys.exit("cargo-lambda not found: set VENTANILLA_CARGO_LAMBDA")
    return found


def lambda_dir():
    if os.environ.get("VENTANILLA_LAMBDA_DIR"):
        return Path(os.environ["VENTANILLA_LAMBDA_DIR"])
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "lambda"


def add_agent(moto_url):
    env = dict(os.environ, AWS_ENDPOINT_URL=moto_url, AWS_REGION="us-east-1",
               AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    env.pop("VENTANILLA_CONFIG", None)
    local = os.environ.get("VENTANILLA_LOCAL_BIN")
    command = [local] if local else ["cargo", "run", "-q", "-p", "ventanilla-local", "--"]
    command += ["agent", "add", "--dynamodb-table", TABLE, "--agency", "MDT", "--role", "agent",
                "--name", "Ana"]
    output = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    match = re.search(r"vnt_[A-Za-z0-9_\-]+", output.stdout)
    if output.returncode != 0 or not match:
        raise RuntimeError(f"agent add failed ({output.returncode}):\n{output.stdout}\n{output.stderr}")
    return match.group(0)


def create_resources(moto_url):
    aws = dict(endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="test",
               aws_secret_access_key="test")
    names = list(KEYS) + [k for index in INDEXES.values() for k in index[:2]]
    dynamodb = boto3.client("dynamodb", **aws)

    def projection(index):
        _, _, kind, attributes = INDEXES[index]
        return {"ProjectionType": kind, **({"NonKeyAttributes": list(attributes)} if attributes else {})}

    dynamodb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in names],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{
            "IndexName": i, "Projection": projection(i),
            "KeySchema": [{"AttributeName": INDEXES[i][0], "KeyType": "HASH"},
                          {"AttributeName": INDEXES[i][1], "KeyType": "RANGE"}]} for i in INDEXES])
    dynamodb.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={
        "Enabled": True, "AttributeName": "ttl"})
    boto3.client("s3", **aws).create_bucket(Bucket=BUCKET)
    boto3.client("sesv2", **aws).create_email_identity(EmailIdentity=DOMAIN)


def register_stack(moto_url):
    """Function -> access key, under which moto judges the function's calls."""
    stack = {"name": "bench", "table": TABLE, "bucket": BUCKET, "mail_domain": DOMAIN,
             "support": SUPPORT, "no_reply": NO_REPLY}
    request = urllib.request.Request(f"{moto_url}/_ventanilla/iam/stacks", data=json.dumps(stack).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.load(answer)["keys"]


def denials(moto_url):
    with urllib.request.urlopen(f"{moto_url}/_ventanilla/iam/denials?stack=bench", timeout=60) as answer:
        return json.load(answer)


def table_storage(moto):
    """Bytes the table bills for: items plus 100 bytes each, and every index entry (what it
    projects) plus 100 bytes."""
    items, start = [], None
    while True:
        payload = {"TableName": TABLE}
        if start:
            payload["ExclusiveStartKey"] = start
        page = moto.dynamodb("Scan", payload)
        items += page.get("Items", [])
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    total = 0
    for item in items:
        total += item_size(item) + 100
        total += sum(item_size(index_entry(item, index)) + 100
                     for index in INDEXES if index_key(item, index))
    return len(items), total


def bucket_bytes(moto_url):
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test", config=Config(s3={"addressing_style": "path"}))
    count = size = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for entry in page.get("Contents", []):
            count += 1
            size += entry["Size"]
    return count, size


def stats(samples):
    if not samples:
        return {}
    ordered = sorted(samples)
    return {"n": len(ordered), "median_ms": round(statistics.median(ordered), 1),
            "mean_ms": round(statistics.fmean(ordered), 1),
            "p90_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))], 1),
            "max_ms": round(ordered[-1], 1)}


def per(value, n):
    return round(value / n, 3)


def summarise(args, tally, client, memory, storage, bucket, logs, mail_bytes, outcomes, seconds):
    n = args.tickets
    lambdas = {}
    for function in FUNCTIONS:
        samples = client.times.get(function, [])
        routes = defaultdict(list)
        for sample in samples:
            routes[sample[0]].append(sample)
        lambdas[function] = {
            "memory_mb": memory[function],
            "invocations": len(samples),
            "per_ticket": per(len(samples), n),
            # The first call of each function includes its start-up (cold start).
            "first_ms": round(samples[0][1], 1) if samples else None,
            # Wall time as the client saw it, and without the proxy's own reads of moto.
            "wall": stats([s[1] for s in samples[1:]]),
            "net": stats([s[2] for s in samples[1:]]),
            "routes": {route: {
                "invocations": len(v),
                "per_ticket": per(len(v), n),
                "wall": stats([s[1] for s in v]),
                "net": stats([s[2] for s in v]),
                "aws_calls_per_invocation": {
                    name: round(sum(s[3].get(name, 0) for s in v) / len(v), 2)
                    for name in sorted({k for s in v for k in s[3]})},
            } for route, v in sorted(routes.items())},
            "log_bytes": logs[function],
        }
    dynamodb = {caller: {op: {k: round(v, 3) for k, v in row.items()} for op, row in ops.items()}
                for caller, ops in tally.dynamodb.items()}
    totals = new_dynamo_row()
    for ops in tally.dynamodb.values():
        for row in ops.values():
            for k, v in row.items():
                totals[k] += v
    s3_totals = defaultdict(int)
    for row in tally.s3.values():
        for k, v in row.items():
            s3_totals[k] += v
    sent = sum(v for row in tally.ses.values() for k, v in row.items() if k == "SendEmail")
    sent_bytes = sum(row["bytes_sent"] for row in tally.ses.values())
    received = sum(outcomes.values())
    http_citizen = sum(len(client.times[f]) for f in ("create-ticket", "ticket-status"))
    http_agent = len(client.times["agent-api"])
    return {
        "tickets": n,
        "seconds": round(seconds, 1),
        "profile": "per ticket: 1 form submission (GET /, site.css, POST), 3 status lookups "
                   "(access link; /estado form twice; site.css with each), 2 citizen mails "
                   "(SES receipt: S3 PUT + inbound-mail), 2 agent replies (list queue, open "
                   "ticket, POST reply)",
        "lambda": lambdas,
        "http_api_requests": {"citizen": http_citizen, "agent": http_agent,
                              "per_ticket_citizen": per(http_citizen, n),
                              "per_ticket_agent": per(http_agent, n)},
        "dynamodb": dynamodb,
        "dynamodb_total": {k: round(v, 3) for k, v in totals.items()},
        # Where the write units go, per ticket: by operation and item kind (mean item size in
        # bytes), and each kind of transaction.
        "dynamodb_writes_by_item": {caller: {name: {
            "writes": per(e["writes"], n), "wru": per(e["wru"], n),
            "wru_index": per(e["wru_index"], n),
            "mean_bytes": round(e["bytes"] / e["writes"])} for name, e in sorted(rows.items())}
            for caller, rows in tally.kinds.items()},
        "dynamodb_transactions": {caller: {items: {
            "count": per(e["count"], n), "wru": per(e["wru"], n)} for items, e in sorted(rows.items())}
            for caller, rows in tally.transactions.items()},
        "dynamodb_storage": {"items_added": storage[0], "bytes_added": storage[1]},
        "s3": {caller: dict(row) for caller, row in tally.s3.items()},
        "s3_total": dict(s3_totals),
        "s3_bucket": {"objects_added": bucket[0], "bytes_added": bucket[1]},
        "ses": {caller: dict(row) for caller, row in tally.ses.items()},
        "ses_total": {"sent": sent, "bytes_sent": sent_bytes, "received": received,
                      "bytes_received": mail_bytes},
        "inbound_outcomes": dict(outcomes),
        "other_calls": {caller: dict(row) for caller, row in tally.other.items()},
        "log_bytes_total": sum(logs.values()),
        "per_ticket": {
            "lambda_invocations": {f: lambdas[f]["per_ticket"] for f in FUNCTIONS},
            "http_api_requests_citizen": per(http_citizen, n),
            "http_api_requests_agent": per(http_agent, n),
            "dynamodb_calls": {op: per(sum(ops[op]["calls"] for ops in tally.dynamodb.values() if op in ops), n)
                               for op in sorted({op for ops in tally.dynamodb.values() for op in ops})},
            "dynamodb_wru": per(totals["wru"] + totals["wru_index"], n),
            "dynamodb_wru_table": per(totals["wru"], n),
            "dynamodb_wru_indexes": per(totals["wru_index"], n),
            "dynamodb_rru": per(totals["rru"], n),
            "dynamodb_storage_bytes": per(storage[1], n),
            "s3_requests": {k: per(v, n) for k, v in s3_totals.items() if k != "bytes_stored"},
            "s3_bytes_stored": per(s3_totals["bytes_stored"], n),
            "ses_sent": per(sent, n),
            "ses_bytes_sent": per(sent_bytes, n),
            "ses_received": per(received, n),
            "ses_bytes_received": per(mail_bytes, n),
            "log_bytes": per(sum(logs.values()), n),
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=20)
    parser.add_argument("--out", help="also write the JSON summary here")
    parser.add_argument("--keep-logs", help="copy the functions' logs into this folder")
    args = parser.parse_args()
    # A plain `kill` should still stop what the run started (the finally block below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    binaries = {f: lambda_dir() / f / "bootstrap" for f in FUNCTIONS}
    for f, path in binaries.items():
        if not path.is_file():
            sys.exit(f"{path} is missing: `cargo lambda build --release` makes it")
    # Without them the stand-in's policy check fails inside moto, which then drops every call.
    if not (ROOT / "infra/iam/node_modules/@cloud-copilot/iam-simulate").is_dir():
        sys.exit("infra/iam/node_modules is missing: run `npm ci` in infra/iam")
    memory = memory_sizes()
    workdir = Path(tempfile.mkdtemp(prefix="ventanilla-aws-calls-"))
    processes, proxies = [], []
    try:
        # moto.
        moto_port = free_port()
        moto_log = open(workdir / "moto.log", "wb")
        moto_process = subprocess.Popen([sys.executable, str(ROOT / "infra/moto_server.py"), "127.0.0.1",
                                         str(moto_port)], stdout=moto_log, stderr=moto_log, cwd=ROOT)
        processes.append(moto_process)
        wait_for_port(moto_port, moto_process, "moto")
        moto_url = f"http://127.0.0.1:{moto_port}"
        moto = Moto(moto_port)

        # One proxy per caller, so every call is put down to the function that made it.
        tally, dynamo_lock = Tally(), threading.Lock()
        ports = {}
        for caller in COUNTED:
            proxy = Proxy(caller, moto, tally, dynamo_lock)
            threading.Thread(target=proxy.serve_forever, daemon=True).start()
            proxies.append(proxy)
            ports[caller] = proxy.server_address[1]

        log("creating the table, bucket and SES identity; adding an agent")
        create_resources(moto_url)
        token = add_agent(moto_url)
        # Each function calls with its own key: the stand-in judges its calls by its policy
        # in template.yaml (infra/iam/enforce.py), as AWS would; a refusal ends the run.
        keys = register_stack(moto_url)

        # The compiled-in configuration, with the per-source opening limit raised: every
        # ticket here comes from 127.0.0.1. The limit's counter is written either way.
        config = (ROOT / "shared/app/ventanilla.toml").read_text()
        config = re.sub(r"(openings_per_source_per_hour =) \d+", r"\1 1000000", config)
        (workdir / "config.toml").write_text(config)

        watch_port = free_port()
        base = f"http://127.0.0.1:{watch_port}"
        watch_log = open(workdir / "watch.log", "wb")
        watch = subprocess.Popen([cargo_lambda(), "lambda", "watch", "--only-lambda-apis", "--ignore-changes",
                                  "--invoke-address", "127.0.0.1", "--invoke-port", str(watch_port),
                                  "--timeout", "60"],
                                 cwd=ROOT, stdin=subprocess.DEVNULL, stdout=watch_log, stderr=watch_log)
        processes.append(watch)
        wait_for_port(watch_port, watch, "cargo lambda watch")
        for f in FUNCTIONS:
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "AWS_LAMBDA_RUNTIME_API": f"{base}/.rt/{f}",
                "AWS_LAMBDA_FUNCTION_NAME": f,
                "AWS_LAMBDA_FUNCTION_VERSION": "1",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory[f] or 128),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{f}",
                "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
                "AWS_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": keys[f],
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{ports[f]}",
                "VENTANILLA_TABLE": TABLE,
                "VENTANILLA_BUCKET": BUCKET,
                "VENTANILLA_S3_PATH_STYLE": "true",
                "VENTANILLA_LINK_SECRET": "bench-secret-bench-secret-bench-secret!",
                "VENTANILLA_IDENTIFIER_SECRET": "bench-identifiers-bench-identifiers-01!",
                "VENTANILLA_PUBLIC_URL": f"{base}/lambda-url/ticket-status",
                "VENTANILLA_MAIL_DOMAIN": DOMAIN,
                "VENTANILLA_SUPPORT_ADDRESS": SUPPORT,
                "VENTANILLA_NO_REPLY_ADDRESS": NO_REPLY,
                "VENTANILLA_CONFIG": str(workdir / "config.toml"),
                "RUST_LOG": "info",
            }
            out = open(workdir / f"{f}.log", "wb")
            processes.append(subprocess.Popen([str(binaries[f])], env=env, stdin=subprocess.DEVNULL,
                                              stdout=out, stderr=out))

        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{ports['ses-receipt']}",
                          region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test",
                          config=Config(s3={"addressing_style": "path"}))
        template = json.loads((ROOT / "infra/events/inbound-mail-ses-receipt.json").read_text())
        client = Client(watch_port, tally)
        run = Run(client, tally, s3, template, token)

        # Only the profile counts: not the setup above.
        tally.reset()
        storage_before = table_storage(moto)
        bucket_before = bucket_bytes(moto_url)
        logs_before = {f: (workdir / f"{f}.log").stat().st_size for f in FUNCTIONS}
        tag = uuid.uuid4().hex[:6]
        mail_bytes = 0
        started = time.monotonic()
        for i in range(args.tickets):
            number, received = run.ticket(i, tag)
            mail_bytes += received
            log(f"ticket {i + 1}/{args.tickets}: {number}")
        seconds = time.monotonic() - started
        time.sleep(0.5)  # the last log lines
        storage_after = table_storage(moto)
        bucket_after = bucket_bytes(moto_url)
        logs = {f: (workdir / f"{f}.log").stat().st_size - logs_before[f] for f in FUNCTIONS}
        if args.keep_logs:
            Path(args.keep_logs).mkdir(parents=True, exist_ok=True)
            for f in FUNCTIONS + ["watch", "moto"]:
                shutil.copy(workdir / f"{f}.log", Path(args.keep_logs) / f"{f}.log")

        refused = denials(moto_url)
        if refused:
            sys.exit("calls outside the functions' policies in template.yaml:\n"
                     + "\n".join(f"  {d['function']}: {d['action']} on {d['resource']}" for d in refused))
        summary = summarise(
            args, tally, client, memory,
            (storage_after[0] - storage_before[0], storage_after[1] - storage_before[1]),
            (bucket_after[0] - bucket_before[0], bucket_after[1] - bucket_before[1]),
            logs, mail_bytes, run.outcomes, seconds)
        text = json.dumps(summary, indent=2, ensure_ascii=False)
        print(text)
        if args.out:
            Path(args.out).write_text(text + "\n")
        log("per ticket: " + json.dumps(summary["per_ticket"], ensure_ascii=False))
    finally:
        for proxy in proxies:
            proxy.shutdown()
            proxy.server_close()
        # Stop what this script started, by PID, the functions before the watch and moto.
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
