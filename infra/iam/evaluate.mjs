// Judges AWS calls against IAM policies with @cloud-copilot/iam-simulate, a full evaluator
// (resources, index ARNs, conditions), for the AWS stand-in of the tests (infra/moto_server.py).
// One JSON object a line on stdin, one answer a line on stdout:
//   {"policies": [...], "principal": ARN, "action": "dynamodb:GetItem", "resource": ARN,
//    "account": "123456789012", "context": {"dynamodb:LeadingKeys": ["TICKET#X"]}}
//   -> {"result": "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied", "error"?: text}
import { createInterface } from 'node:readline';
import { runSimulation } from '@cloud-copilot/iam-simulate';

async function judge(request) {
  const simulation = {
    identityPolicies: request.policies.map((policy, i) => ({ name: `policy${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.account },
      contextVariables: request.context ?? {},
    },
  };
  const outcome = await runSimulation(simulation, {});
  if (outcome.resultType === 'error') {
    // A policy or request the evaluator cannot read is a failure of the test set-up, never
    // an allowance.
    return { result: 'Error', error: outcome.errors.message, details: outcome.errors };
  }
  return { result: outcome.overallResult };
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  let answer;
  try {
    answer = await judge(JSON.parse(line));
  } catch (error) {
    answer = { result: 'Error', error: String(error?.stack ?? error) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}
