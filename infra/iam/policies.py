"""The IAM policy each function gets on AWS, read from template.yaml itself.

The SAM transform (aws-sam-translator, what CloudFormation runs on deploy) turns the template
into plain CloudFormation; each function's execution role is then read from it, and its
`!Ref`, `!Sub` and `!GetAtt` are resolved for one test "stack": the stand-in's account and
region, and the table, bucket and addresses a test made. Nothing here is a copy of the
policies: change template.yaml and the tests run under the change.

    python infra/iam/policies.py [template.yaml]   # prints the policies for a sample stack
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
PARTITION = "aws"


@dataclass
class Stack:
    """The physical names of one test's resources; everything else gets a stable name."""

    name: str
    table: str
    bucket: str
    mail_domain: str
    support: str
    no_reply: str
    configuration_set: str = "ventanilla-sending"
    link_secret_parameter: str | None = None
    # Parameters given explicitly (others take the template's defaults).
    parameters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict) -> "Stack":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class _NoManagedPolicies:
    """The transform asks for the ARNs of managed policies named in the template; it names none."""

    def load(self) -> dict:
        return {}


@lru_cache(maxsize=4)
def translated(template_path: str) -> dict:
    """template.yaml after the SAM transform (cached: the transform takes about a second)."""
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    template = yaml_parse(Path(template_path).read_text())
    # `sam package` replaces the local CodeUri by an S3 location before the transform.
    template.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = "s3://packaged/code.zip"
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.setdefault("Properties", {}).pop("CodeUri", None)
    return transform(template, {}, _NoManagedPolicies())


def _function_names(template_path: str) -> dict[str, str]:
    """Logical id of each function's role -> the function's name (its cargo-lambda binary)."""
    from samtranslator.yaml_helper import yaml_parse

    source = yaml_parse(Path(template_path).read_text())
    cfn = translated(template_path)
    names = {}
    for logical_id, resource in source["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        binary = resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        role = cfn["Resources"][logical_id]["Properties"]["Role"]
        role_id = role["Fn::GetAtt"][0] if isinstance(role, dict) else None
        if binary and role_id:
            names[role_id] = binary
    return names


class _Resolver:
    def __init__(self, cfn: dict, stack: Stack):
        self.cfn = cfn
        self.stack = stack
        params = {
            name: str(spec.get("Default", ""))
            for name, spec in cfn.get("Parameters", {}).items()
        }
        params.update(
            MailDomain=stack.mail_domain,
            SupportAddress=stack.support,
            NoReplyAddress=stack.no_reply,
        )
        if stack.link_secret_parameter and "LinkSecretParameter" in params:
            params["LinkSecretParameter"] = stack.link_secret_parameter
        params.update(stack.parameters)
        self.values = {
            **params,
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::StackName": stack.name,
            "AWS::URLSuffix": "amazonaws.com",
        }

    def ref(self, name: str) -> str:
        if name in self.values:
            return self.values[name]
        kind = self.cfn["Resources"].get(name, {}).get("Type", "")
        if kind == "AWS::DynamoDB::Table":
            return self.stack.table
        if kind == "AWS::S3::Bucket":
            return self.stack.bucket
        if kind == "AWS::SES::ConfigurationSet":
            return self.stack.configuration_set
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.stack.name}-{name}"
        if kind == "AWS::SNS::Topic":
            return f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{self.stack.name}-{name}"
        if kind:
            return f"{self.stack.name}-{name}"
        raise KeyError(f"!Ref {name}: no such parameter or resource in template.yaml")

    def get_att(self, name: str, attribute: str) -> str:
        kind = self.cfn["Resources"].get(name, {}).get("Type", "")
        if attribute == "Arn":
            if kind == "AWS::DynamoDB::Table":
                return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{self.stack.table}"
            if kind == "AWS::S3::Bucket":
                return f"arn:{PARTITION}:s3:::{self.stack.bucket}"
            if kind == "AWS::SQS::Queue":
                return f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{self.stack.name}-{name}"
            if kind == "AWS::Lambda::Function":
                return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{self.stack.name}-{name}"
            if kind == "AWS::IAM::Role":
                return f"arn:{PARTITION}:iam::{ACCOUNT}:role/{self.stack.name}-{name}"
        if attribute == "QueueName":
            return f"{self.stack.name}-{name}"
        return f"{self.stack.name}-{name}.{attribute}"

    def sub(self, text: str, local: dict) -> str:
        def one(match: re.Match) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in local:
                return self(local[token])
            if "." in token and not token.startswith("AWS::"):
                name, attribute = token.split(".", 1)
                return self.get_att(name, attribute)
            return self.ref(token)

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def __call__(self, node):
        if isinstance(node, list):
            return [self(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, value), = node.items()
            if key == "Ref":
                return self.ref(value)
            if key == "Fn::GetAtt":
                name, attribute = value if isinstance(value, list) else value.split(".", 1)
                return self.get_att(name, attribute)
            if key == "Fn::Sub":
                text, local = (value, {}) if isinstance(value, str) else value
                return self.sub(text, local)
            if key == "Fn::Join":
                separator, items = value
                return separator.join(str(self(item)) for item in items)
            if key == "Fn::If":
                raise ValueError("Fn::If in a function's policy: give the test stack's condition")
        return {key: self(value) for key, value in node.items()}


def function_policies(stack: Stack, template_path: str | None = None) -> dict[str, list[dict]]:
    """Function name -> its role's inline policy documents, resolved for `stack`.

    Managed policies attached by the transform (AWSLambdaBasicExecutionRole: CloudWatch Logs)
    are not included: the functions make no such call to the stand-ins; Lambda writes logs.
    """
    template_path = template_path or os.environ.get("VENTANILLA_TEMPLATE") or str(ROOT / "template.yaml")
    cfn = translated(template_path)
    resolve = _Resolver(cfn, stack)
    policies: dict[str, list[dict]] = {}
    for role_id, function in _function_names(template_path).items():
        role = cfn["Resources"][role_id]["Properties"]
        documents = [resolve(copy.deepcopy(p["PolicyDocument"])) for p in role.get("Policies", [])]
        policies[function] = documents
    return policies


def without(documents: list[dict], statement: int | str, action: str) -> list[dict]:
    """The same policies with `action` removed from one statement: its index among all the
    function's statements, or its Sid."""
    documents = copy.deepcopy(documents)
    index = 0
    found = False
    for document in documents:
        statements = document["Statement"]
        statements = statements if isinstance(statements, list) else [statements]
        document["Statement"] = statements
        for each in statements:
            if index == statement or (isinstance(statement, str) and each.get("Sid") == statement):
                found = True
                statement_ = each
                actions = statement_["Action"]
                actions = [actions] if isinstance(actions, str) else actions
                statement_["Action"] = [a for a in actions if a != action] or ["none:Nothing"]
            index += 1
    if not found:
        raise KeyError(f"no statement {statement!r} in the policy")
    return documents


def _statements(documents: list[dict]) -> list[dict]:
    return [st for d in documents for st in (d["Statement"] if isinstance(d["Statement"], list) else [d["Statement"]])]


def parts(documents: list[dict]) -> list[tuple[int, str, str]]:
    """Every part of every Allow statement that could be taken away alone: (statement index,
    kind, value) with kind "action", "resource" or a condition key's pattern ("LeadingKeys")."""
    found = []
    for index, statement in enumerate(_statements(documents)):
        if statement.get("Effect") != "Allow":
            continue
        for kind, field in (("action", "Action"), ("resource", "Resource")):
            values = statement.get(field, [])
            for value in [values] if isinstance(values, str) else values:
                found.append((index, kind, value))
        for operator, keys in statement.get("Condition", {}).items():
            for key, values in keys.items():
                values = [values] if isinstance(values, str) else values
                if len(values) > 1:  # one value alone cannot go: the statement would change meaning
                    for value in values:
                        found.append((index, f"{operator}/{key}", value))
    return found


def without_part(documents: list[dict], index: int, kind: str, value: str) -> list[dict]:
    """The policies with one part (see `parts`) taken out of one statement."""
    if kind == "action":
        return without(documents, index, value)
    documents = copy.deepcopy(documents)
    statement = _statements(documents)[index]
    if kind == "resource":
        field = statement["Resource"]
        rest = [r for r in ([field] if isinstance(field, str) else field) if r != value]
        statement["Resource"] = rest or ["arn:aws:none:::nothing"]
    else:
        operator, key = kind.split("/", 1)
        statement["Condition"][operator][key] = [v for v in statement["Condition"][operator][key] if v != value]
    return documents


def granted(documents: list[dict]) -> list[tuple[int, str]]:
    """(statement index overall, action) for every Allow in the documents."""
    grants = []
    index = 0
    for document in documents:
        statements = document["Statement"]
        for statement in statements if isinstance(statements, list) else [statements]:
            if statement.get("Effect") == "Allow":
                actions = statement["Action"]
                for action in [actions] if isinstance(actions, str) else actions:
                    grants.append((index, action))
            index += 1
    return grants


if __name__ == "__main__":
    sample = Stack(
        name="ventanilla",
        table="tickets-sample",
        bucket="blobs-sample",
        mail_domain="ventanilla.example.gob.ec",
        support="soporte@ventanilla.example.gob.ec",
        no_reply="no-responder@ventanilla.example.gob.ec",
    )
    print(json.dumps(function_policies(sample, sys.argv[1] if len(sys.argv) > 1 else None), indent=2))
