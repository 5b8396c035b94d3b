#!/bin/sh
# LocalStack runs this once its services are up (init hook "ready").
# PulseHub creates nothing here on purpose: tables and queues are provisioned
# by the Go code from shared/catalog (pulsehub dev) and by each test (via
# shared/testenv), exactly as on the DynamoDB Local + fauxqs path.
echo "pulsehub: LocalStack ready (dynamodb, sqs, events) on :4566; resources come from shared/catalog"
