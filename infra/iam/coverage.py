"""Every grant in template.yaml is needed: without it, some call of the test run is refused.

The stand-ins record each call a function made under its policy (VENTANILLA_IAM_RECORD, see
enforce.py). For each function and each part of each of its policy statements (an action, a
resource, one of several values a condition allows, such as a `dynamodb:LeadingKeys` prefix),
this takes that one part out of that one statement and judges the recorded calls again with
the same evaluator: at least one must then be refused. Since every refusal fails the test that caused
it (the harness asserts after each request), removing any single grant fails the test
command. A grant no recorded call needs is either unused (remove it) or untested (add a
test); either way this exits non-zero and names it.

    python infra/iam/coverage.py RECORD_FOLDER
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import policies as template_policies  # noqa: E402
from enforce import ACCOUNT, ARN, Check, Evaluator  # noqa: E402

# Grants no call of the functions' code can need, each with the reason.
NOT_JUDGED: dict[tuple[str, str], str] = {
    ("inbound-mail", "sqs:SendMessage"): "SAM's grant for the on-failure destination: Lambda sends, not the code",
}


def main(folder: str) -> int:
    paths = sorted(Path(folder).glob("calls-*.jsonl"))
    stacks: dict[str, template_policies.Stack] = {}
    mutated: set[str] = set()
    calls: dict[str, list[dict]] = defaultdict(list)
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if "stack" in entry and isinstance(entry["stack"], dict):
                stack = template_policies.Stack.from_json(entry["stack"])
                stacks[stack.name] = stack
                if entry.get("drop"):
                    mutated.add(stack.name)
            elif entry.get("result") == "Allowed":
                calls[entry["function"]].append(entry)
    if not stacks:
        print("no stack was registered with the stand-ins: did the AWS tests run?")
        return 1

    evaluator = Evaluator()
    sample = next(s for name, s in stacks.items() if name not in mutated)
    failures = []
    rows = []
    for function, documents in sorted(template_policies.function_policies(sample).items()):
        statements = template_policies._statements(documents)
        for position, (statement, kind, value) in enumerate(template_policies.parts(documents)):
            actions = statements[statement]["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            reason = next((NOT_JUDGED[(function, a)] for a in actions if (function, a) in NOT_JUDGED), None)
            candidates = [c for c in calls[function] if c["stack"] not in mutated
                          and (c["action"] == value if kind == "action" else c["action"] in actions)]
            needed_by = None
            for call in candidates:
                policies = template_policies.function_policies(stacks[call["stack"]])[function]
                # The same part, resolved for the stack that made the call (its own names).
                value_here = template_policies.parts(policies)[position][2]
                reduced = template_policies.without_part(policies, statement, kind, value_here)
                principal = f"{ARN}:iam::{ACCOUNT}:role/{call['stack']}-{function}"
                verdict = evaluator.judge(reduced, principal, Check(call["action"], call["resource"], call["context"]))
                if verdict["result"] != "Allowed":
                    needed_by = call
                    break
            sid = statements[statement].get("Sid") or f"statement {statement}"
            what = value if kind == "action" else f"{kind.split('/')[-1]} {_short(value)}"
            if needed_by:
                rows.append(f"  needed   {function:14} {sid:34} {what:40} by {needed_by['action']}")
            elif reason:
                rows.append(f"  untested {function:14} {sid:34} {what:40} ({reason})")
            else:
                rows.append(f"  UNNEEDED {function:14} {sid:34} {what:40} ({len(candidates)} calls, none needs it)")
                failures.append((function, sid, what))
    print(f"IAM grants of template.yaml against {sum(len(c) for c in calls.values())} recorded calls "
          f"of {len(stacks) - len(mutated)} test stacks:")
    print("\n".join(rows))
    if failures:
        print(f"\n{len(failures)} grant(s) that no call of the tests needs: remove them from template.yaml, "
              "or add the test that makes the call.")
        return 1
    print("every grant is needed: removing any one of them (an action, a resource, an allowed key prefix) fails a test")
    return 0


def _short(arn: str) -> str:
    """An ARN without the account's prefix, to keep rows short."""
    return arn.split(":", 5)[-1] if arn.startswith("arn:") else arn


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
