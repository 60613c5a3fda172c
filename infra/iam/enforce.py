"""IAM for the AWS stand-in: every call a function makes is judged against its template policy.

moto accepts any call from anyone, and its own IAM check matches resources only as `*`. This
WSGI middleware sits in front of it (infra/moto_server.py): it reads who calls (the access key
of the SigV4 signature, or of a presigned URL), turns the request into the IAM actions AWS
authorises it by, with their resource ARNs and condition keys, and asks a real policy
evaluator (infra/iam/evaluate.mjs, @cloud-copilot/iam-simulate) whether the function's policy
(infra/iam/policies.py, from template.yaml) allows each. A refused call gets the error AWS
gives (AccessDenied) and is recorded, so that the test names the function, the action and
the resource.

A test registers its stack (table, bucket, addresses) at `POST /_ventanilla/iam/stacks` and
gets one access key per function; calls with any other key (the tests' own set-up) are
not judged. `GET /_ventanilla/iam/denials?stack=NAME` lists what was refused.
`VENTANILLA_IAM_RECORD=<folder>` writes every judged call to a JSON-lines file there (one
per stand-in process), which infra/iam/coverage.py reads to show that each grant is needed.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from email import message_from_bytes
from email.utils import getaddresses
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import policies as template_policies  # noqa: E402

HERE = Path(__file__).resolve().parent
PREFIX = "/_ventanilla/iam"


@dataclass
class Check:
    """One authorisation AWS makes for a request."""

    action: str
    resource: str
    context: dict = field(default_factory=dict)


class Unmapped(Exception):
    """A request by a function whose IAM meaning this middleware does not know: refused, so
    that a new kind of call is mapped (and granted) before it can pass."""


class Evaluator:
    """The node process that runs the policy evaluator, one JSON line each way."""

    def __init__(self) -> None:
        script = HERE / "evaluate.mjs"
        if not (HERE / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
            raise SystemExit(f"{HERE}/node_modules is missing: run `npm ci` in {HERE}")
        self.process = subprocess.Popen(
            ["node", str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=HERE,
        )
        self.lock = threading.Lock()
        self.cache: dict[str, dict] = {}

    def judge(self, policies: list[dict], principal: str, check: Check) -> dict:
        request = json.dumps(
            {
                "policies": policies,
                "principal": principal,
                "action": check.action,
                "resource": check.resource,
                "account": template_policies.ACCOUNT,
                "context": check.context,
            },
            sort_keys=True,
        )
        with self.lock:
            if request in self.cache:
                return self.cache[request]
            self.process.stdin.write(request + "\n")
            self.process.stdin.flush()
            answer = json.loads(self.process.stdout.readline())
            if len(self.cache) > 50_000:
                self.cache.clear()
            self.cache[request] = answer
            return answer


# ---------------------------------------------------------------------------------------
# Requests -> IAM checks
# ---------------------------------------------------------------------------------------

ARN = f"arn:{template_policies.PARTITION}"
REGION = template_policies.REGION
ACCOUNT = template_policies.ACCOUNT


def _table_arn(name: str, index: str | None = None) -> str:
    arn = f"{ARN}:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
    return f"{arn}/index/{index}" if index else arn


def _partition_value(key: dict, attribute: str):
    value = (key or {}).get(attribute, {})
    return next(iter(value.values()), None) if isinstance(value, dict) else None


def _hash_key(table: str) -> str:
    """The table's partition key attribute, from moto's own model of it."""
    try:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[ACCOUNT][REGION].get_table(table).hash_key_attr
    except Exception:  # a table moto does not know: the call will fail there anyway
        return "PK"


def _leading(table: str, keys: list[dict]) -> dict:
    attribute = _hash_key(table)
    values = sorted({str(v) for v in (_partition_value(k, attribute) for k in keys) if v is not None})
    return {"dynamodb:LeadingKeys": values} if values else {}


def dynamodb_checks(operation: str, body: dict) -> list[Check]:
    single = {"GetItem": "Key", "PutItem": "Item", "UpdateItem": "Key", "DeleteItem": "Key"}
    if operation in single:
        table = body["TableName"]
        context = _leading(table, [body.get(single[operation], {})])
        return [Check(f"dynamodb:{operation}", _table_arn(table), context)]
    if operation in ("Query", "Scan"):
        return [Check(f"dynamodb:{operation}", _table_arn(body["TableName"], body.get("IndexName")))]
    if operation == "BatchGetItem":
        return [
            Check("dynamodb:BatchGetItem", _table_arn(table), _leading(table, spec.get("Keys", [])))
            for table, spec in body.get("RequestItems", {}).items()
        ]
    if operation == "BatchWriteItem":
        checks = []
        for table, requests in body.get("RequestItems", {}).items():
            keys = [r.get("PutRequest", {}).get("Item") or r.get("DeleteRequest", {}).get("Key") for r in requests]
            checks.append(Check("dynamodb:BatchWriteItem", _table_arn(table), _leading(table, keys)))
        return checks
    if operation in ("TransactWriteItems", "TransactGetItems"):
        # Authorised item by item, through the actions of each item's operation.
        actions = {"Put": ("PutItem", "Item"), "Update": ("UpdateItem", "Key"),
                   "Delete": ("DeleteItem", "Key"), "ConditionCheck": ("ConditionCheckItem", "Key"),
                   "Get": ("GetItem", "Key")}
        checks = []
        for item in body.get("TransactItems", []):
            (kind, spec), = item.items()
            action, key_field = actions[kind]
            table = spec["TableName"]
            checks.append(Check(f"dynamodb:{action}", _table_arn(table), _leading(table, [spec.get(key_field, {})])))
        return checks
    if "TableName" in body:
        return [Check(f"dynamodb:{operation}", _table_arn(body["TableName"]))]
    raise Unmapped(f"dynamodb {operation}")


def s3_checks(method: str, path: str, query: dict, headers: dict, body: bytes) -> list[Check]:
    parts = urllib.parse.unquote(path).lstrip("/").split("/", 1)
    bucket = parts[0]
    key = parts[1] if len(parts) > 1 else ""
    if not bucket:
        raise Unmapped(f"S3 {method} {path}")
    bucket_arn = f"{ARN}:s3:::{bucket}"
    if key:
        object_arn = f"{bucket_arn}/{key}"
        if set(query) & {"tagging", "acl", "retention", "legal-hold", "uploads", "uploadId", "restore"}:
            raise Unmapped(f"S3 {method} object ?{'&'.join(query)}")
        if method in ("GET", "HEAD"):
            action = "s3:GetObjectVersion" if "versionId" in query else "s3:GetObject"
            return [Check(action, object_arn)]
        if method == "PUT":
            if {"x-amz-tagging", "x-amz-acl"} & set(headers) or any(h.startswith("x-amz-grant-") for h in headers):
                raise Unmapped("S3 PUT with tags or an ACL (more actions than PutObject)")
            checks = [Check("s3:PutObject", object_arn)]
            source = headers.get("x-amz-copy-source")
            if source:
                checks.append(Check("s3:GetObject", f"{ARN}:s3:::{urllib.parse.unquote(source).lstrip('/')}"))
            return checks
        if method == "DELETE":
            action = "s3:DeleteObjectVersion" if "versionId" in query else "s3:DeleteObject"
            return [Check(action, object_arn)]
        raise Unmapped(f"S3 {method} object")
    if method == "POST" and "delete" in query:
        checks = []
        for entry in ET.fromstring(body).iter():
            if entry.tag.rsplit("}", 1)[-1] != "Object":
                continue
            fields = {child.tag.rsplit("}", 1)[-1]: child.text or "" for child in entry}
            action = "s3:DeleteObjectVersion" if fields.get("VersionId") else "s3:DeleteObject"
            checks.append(Check(action, f"{bucket_arn}/{fields.get('Key', '')}"))
        return checks
    if method == "GET" and not (set(query) - {"list-type", "prefix", "continuation-token", "max-keys",
                                               "delimiter", "start-after", "encoding-type", "fetch-owner"}):
        return [Check("s3:ListBucket", bucket_arn)]
    if method == "GET" and "versions" in query:
        return [Check("s3:ListBucketVersions", bucket_arn)]
    raise Unmapped(f"S3 {method} bucket ?{'&'.join(query)}")


def _from_address(body: dict) -> str | None:
    if body.get("FromEmailAddress"):
        return getaddresses([body["FromEmailAddress"]])[0][1]
    raw = body.get("Content", {}).get("Raw", {}).get("Data")
    if raw:
        message = message_from_bytes(base64.b64decode(raw))
        return getaddresses([message.get("From", "")])[0][1] or None
    return None


def sesv2_checks(method: str, path: str, body: dict) -> list[Check]:
    if method == "POST" and path == "/v2/email/outbound-emails":
        sender = _from_address(body)
        if not sender:
            raise Unmapped("SES SendEmail without a sender")
        destination = body.get("Destination", {})
        recipients = [a for f in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destination.get(f, [])]
        context = {"ses:FromAddress": sender, "ses:ApiVersion": "2"}
        if recipients:
            context["ses:Recipients"] = recipients
        # SES authorises the identity it sends as: in the tests the verified one is the
        # sender's domain (AwsStandIn::verify).
        domain = sender.rsplit("@", 1)[-1]
        checks = [Check("ses:SendEmail", f"{ARN}:ses:{REGION}:{ACCOUNT}:identity/{domain}", context)]
        if body.get("ConfigurationSetName"):
            checks.append(Check("ses:SendEmail",
                                f"{ARN}:ses:{REGION}:{ACCOUNT}:configuration-set/{body['ConfigurationSetName']}",
                                context))
        return checks
    raise Unmapped(f"SES {method} {path}")


def ssm_checks(operation: str, body: dict) -> list[Check]:
    if operation in ("GetParameter", "GetParameters"):
        names = [body["Name"]] if operation == "GetParameter" else body.get("Names", [])
        return [Check(f"ssm:{operation}", f"{ARN}:ssm:{REGION}:{ACCOUNT}:parameter{'' if n.startswith('/') else '/'}{n}")
                for n in names]
    raise Unmapped(f"SSM {operation}")


def access_key(environ: dict, query: dict) -> tuple[str | None, str | None]:
    """(access key, signing service) of a SigV4 request or presigned URL."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    match = re.search(r"Credential=([^/,\s]+)/[^/]+/[^/]+/([^/]+)/", authorization)
    if match:
        return match.group(1), match.group(2)
    credential = query.get("X-Amz-Credential")
    if credential:
        parts = credential.split("/")
        return parts[0], parts[3] if len(parts) > 3 else None
    if query.get("AWSAccessKeyId"):  # an S3 presigned URL signed with SigV2
        return query["AWSAccessKeyId"], "s3"
    return None, None


def checks_for(environ: dict, service: str, body: bytes, query: dict) -> list[Check]:
    method = environ["REQUEST_METHOD"]
    path = environ.get("PATH_INFO", "/")
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if service == "dynamodb":
        return dynamodb_checks(target.split(".")[-1], json.loads(body or b"{}"))
    if service == "s3":
        headers = {k[5:].lower().replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
        # The path as sent (PATH_INFO is decoded once already, as Latin-1).
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        raw_path = raw.split("?", 1)[0] if raw else urllib.parse.quote(path.encode("latin-1"))
        return s3_checks(method, raw_path, query, headers, body)
    if service == "ses":
        return sesv2_checks(method, path, json.loads(body or b"{}") if body else {})
    if service == "ssm":
        return ssm_checks(target.split(".")[-1], json.loads(body or b"{}"))
    raise Unmapped(f"service {service}")


# ---------------------------------------------------------------------------------------
# Denials as AWS gives them
# ---------------------------------------------------------------------------------------


def _denied_response(service: str, message: str, start_response):
    if service == "s3":
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
                f"<Message>{message}</Message><RequestId>ventanilla-iam</RequestId></Error>").encode()
        start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return [body]
    if service == "ses":
        body = json.dumps({"message": message}).encode()
        start_response("403 Forbidden", [("Content-Type", "application/json"),
                                         ("x-amzn-ErrorType", "AccessDeniedException"),
                                         ("Content-Length", str(len(body)))])
        return [body]
    prefix = "com.amazonaws.dynamodb.v20120810#" if service == "dynamodb" else ""
    body = json.dumps({"__type": f"{prefix}AccessDeniedException", "message": message}).encode()
    content_type = "application/x-amz-json-1.0" if service == "dynamodb" else "application/x-amz-json-1.1"
    start_response("400 Bad Request", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def _read_body(environ: dict) -> bytes:
    """The request's body, read once and put back for moto (chunked uploads included)."""
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = environ["wsgi.input"].read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = environ["wsgi.input"].read()
    else:
        return b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _json_response(start_response, status: str, data) -> list[bytes]:
    body = json.dumps(data).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class Enforcer:
    """The middleware. Not thread-safe by itself: moto_server.py serialises requests."""

    def __init__(self, app):
        self.app = app
        # Started on the first call to judge: a stand-in no test registers a stack with
        # (benchmarks of the start-up, say) needs no node packages.
        self._evaluator: Evaluator | None = None
        # access key -> (stack name, function, policies)
        self.keys: dict[str, tuple[str, str, list[dict]]] = {}
        self.denials: list[dict] = []
        folder = os.environ.get("VENTANILLA_IAM_RECORD")
        self.record_path = os.path.join(folder, f"calls-{os.getpid()}.jsonl") if folder else None

    def _record(self, entry: dict) -> None:
        if self.record_path:
            with open(self.record_path, "a", encoding="utf-8") as out:
                out.write(json.dumps(entry) + "\n")

    def _control(self, environ, start_response, body: bytes):
        path = environ.get("PATH_INFO", "")
        if path == f"{PREFIX}/stacks" and environ["REQUEST_METHOD"] == "POST":
            data = json.loads(body)
            stack = template_policies.Stack.from_json(data)
            policies = template_policies.function_policies(stack)
            # A test may take grants away (`drop`: ["function|statement Sid|action"]) to show
            # that a missing grant is caught.
            for dropped in data.get("drop", []):
                function, sid, action = dropped.split("|")
                policies[function] = template_policies.without(policies[function], sid, action)
            keys = {}
            for function, documents in policies.items():
                key = f"VNT{stack.name}{function.replace('-', '')}".upper()[:128]
                self.keys[key] = (stack.name, function, documents)
                keys[function] = key
            self._record({"stack": asdict(stack), "drop": data.get("drop", [])})
            return _json_response(start_response, "200 OK", {"keys": keys, "policies": policies})
        if path == f"{PREFIX}/denials":
            query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
            stack = (query.get("stack") or [None])[0]
            found = [d for d in self.denials if stack is None or d["stack"] == stack]
            return _json_response(start_response, "200 OK", found)
        return _json_response(start_response, "404 Not Found", {"error": "no such control route"})

    def __call__(self, environ, start_response):
        body = _read_body(environ)
        if environ.get("PATH_INFO", "").startswith(PREFIX + "/"):
            return self._control(environ, start_response, body)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
        key, service = access_key(environ, query)
        if key not in self.keys:
            # A function's key in a signature this middleware cannot read (SigV2, SigV4A, odd
            # spelling) is refused, never waved through.
            signed = (environ.get("HTTP_AUTHORIZATION", "") + environ.get("QUERY_STRING", "")).upper()
            if self.keys and any(k in signed for k in self.keys):
                return _denied_response(service or "s3", "unreadable signature of a function's key", start_response)
            return self.app(environ, start_response)
        stack, function, policies = self.keys[key]
        principal = f"{ARN}:iam::{ACCOUNT}:role/{stack}-{function}"
        try:
            checks = checks_for(environ, service or "", body, query)
        except Unmapped as unmapped:
            checks = [Check(f"unmapped:{unmapped}", "*")]
        except (ValueError, KeyError) as error:
            checks = [Check(f"unreadable:{service}:{error}", "*")]
        for check in checks:
            if check.action.startswith(("unmapped:", "unreadable:")):
                verdict = {"result": "Unmapped"}
            else:
                verdict = self._judge(policies, principal, check)
            entry = {"stack": stack, "function": function, "action": check.action,
                     "resource": check.resource, "context": check.context, "result": verdict["result"]}
            self._record(entry)
            if verdict["result"] != "Allowed":
                if "error" in verdict:
                    entry["error"] = verdict["error"]
                self.denials.append(entry)
                message = (f"User: {principal} is not authorized to perform: {check.action} on resource: "
                           f"{check.resource} because no identity-based policy allows the {check.action} action")
                print(f"IAM DENIED {function}: {check.action} on {check.resource} {check.context} "
                      f"({verdict['result']}{': ' + verdict['error'] if 'error' in verdict else ''})",
                      file=sys.stderr, flush=True)
                return _denied_response(service, message, start_response)
        if service == "s3" and environ["REQUEST_METHOD"] in ("GET", "HEAD") and checks:
            return self._missing_object_as_aws(environ, start_response, policies, principal, checks[0])
        return self.app(environ, start_response)

    def _missing_object_as_aws(self, environ, start_response, policies, principal, check: Check):
        """S3 answers a missing key with 404 only to a caller that may list the bucket;
        to any other it answers 403 AccessDenied, and the functions must handle that."""
        answer = {}

        def remember(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, remember))
        if answer["status"].startswith("404") and check.action == "s3:GetObject":
            bucket_arn = check.resource.split("/", 1)[0]
            may_list = self._judge(policies, principal, Check("s3:ListBucket", bucket_arn))["result"] == "Allowed"
            if not may_list:
                return _denied_response("s3", f"Access Denied (no s3:ListBucket on {bucket_arn}: "
                                              "a missing key is not told apart)", start_response)
        start_response(answer["status"], answer["headers"])
        return [body]

    def _judge(self, policies, principal, check: Check) -> dict:
        if self._evaluator is None:
            self._evaluator = Evaluator()
        return self._evaluator.judge(policies, principal, check)
