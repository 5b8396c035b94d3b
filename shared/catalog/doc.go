// Package catalog is the single source of truth for how PulseHub is wired:
// every Lambda function with its trigger, limits, configuration keys and
// permissions, plus the DynamoDB table, the SQS queues (each with its
// dead-letter queue) and the EventBridge bus.
//
// Three readers consume it and nothing is declared twice by hand:
//   - infra/ (the CDK stack) loops over it to build AWS resources;
//   - the local runtime (pulsehub dev) provisions tables and queues and wires
//     triggers from it;
//   - template.yaml (SAM) is generated from it and a test keeps the two equal.
package catalog
