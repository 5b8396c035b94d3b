# PulseHub developer commands. `make` or `make help` lists them.
# Needs GNU make, bash, Go, Java 17+ (DynamoDB Local) and Node 20+ (fauxqs).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

STACK      := ./localstack/stack.sh
GO         ?= go
GOTESTFLAGS ?=
PKGS       ?= ./...
BENCHFLAGS ?=
FUNCTIONS  := $(patsubst functions/%/main.go,%,$(wildcard functions/*/main.go))

# TEST_STACK starts the test emulators (DynamoDB Local :8001 in memory,
# fauxqs :9325), exports their endpoints and stops them when the recipe
# shell exits, whatever the outcome (also on Ctrl-C). A stack that another
# live caller also started (a parallel `make test`, a manual
# `localstack/stack.sh start test`) is left running for it.
TEST_STACK = trap '$(STACK) stop test' EXIT; trap 'exit 130' INT TERM; \
	$(STACK) start test; eval "$$($(STACK) env test)";

# RUN_TESTS runs the tests of $(PKGS) with the flags in $(1), then infra/'s
# (own module) when PKGS is the default; keeps going after a failure and
# exits non-zero if anything failed.
RUN_TESTS = status=0; \
	echo "+ $(strip go test -count=1 $(1) $(PKGS))"; \
	$(GO) test -count=1 $(strip $(1)) $(PKGS) || status=$$?; \
	if [ -f infra/go.mod ] && [ "$(PKGS)" = "./..." ]; then \
		echo "+ (cd infra && $(strip go test -count=1 $(1) ./...))"; \
		(cd infra && $(GO) test -count=1 $(strip $(1)) ./...) || status=$$?; \
	fi; \
	exit $$status

.PHONY: help deps cfn-lint localstack-up localstack-down test test-race test-localstack \
	bench dev seed build lint clean-local clean

help: ## List the targets
	@echo "PulseHub make targets:"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

API_LINT   := docs/api/node_modules/.bin/redocly

# cfn-lint, a test requirement: the one on PATH, else the virtualenv that
# `make cfn-lint` creates under .local/ (Debian 12 and Ubuntu 24.04 refuse
# a system-wide pip install, PEP 668). Its bin goes first on PATH for every
# recipe, so the tests find it either way.
CFN_LINT_VENV    := .local/cfn-lint
CFN_LINT_VERSION := 1.51.0
export PATH := $(CURDIR)/$(CFN_LINT_VENV)/bin:$(PATH)

deps: $(API_LINT) ## Check java/node/npm, install the emulators and Redocly CLI (npm ci) and Go modules
	@$(STACK) deps
	@$(GO) mod download

# Redocly CLI at the version pinned in docs/api/package-lock.json (the
# OpenAPI lint of `make lint` and TestOpenAPILint).
$(API_LINT): docs/api/package.json docs/api/package-lock.json
	cd docs/api && npm ci --no-audit --no-fund
	@touch $@

cfn-lint: ## Install cfn-lint (CFN_LINT_VERSION) into a virtualenv under .local/ unless one is on PATH
	@if command -v cfn-lint >/dev/null 2>&1; then echo "cfn-lint: $$(command -v cfn-lint) ($$(cfn-lint --version))"; exit 0; fi; \
	command -v python3 >/dev/null 2>&1 || { echo "cfn-lint: needs python3 (apt-get install python3 python3-venv)" >&2; exit 1; }; \
	echo "+ python3 -m venv $(CFN_LINT_VENV) && pip install cfn-lint==$(CFN_LINT_VERSION)"; \
	python3 -m venv $(CFN_LINT_VENV) || { rm -rf $(CFN_LINT_VENV); echo "cfn-lint: python3 -m venv failed; install python3-venv (apt-get install python3-venv)" >&2; exit 1; }; \
	$(CFN_LINT_VENV)/bin/pip install --quiet --disable-pip-version-check cfn-lint==$(CFN_LINT_VERSION) || \
		{ rm -rf $(CFN_LINT_VENV); echo "cfn-lint: pip could not install cfn-lint==$(CFN_LINT_VERSION) from PyPI" >&2; exit 1; }; \
	$(CFN_LINT_VENV)/bin/cfn-lint --version

localstack-up: ## Start the dev emulators (DynamoDB :8000 persisted in .local/dev, fauxqs :9324)
	@$(STACK) start dev
	@echo 'Use them with: source <($(STACK) env dev)'

localstack-down: ## Stop the dev emulators
	@$(STACK) stop dev

test: $(API_LINT) ## Run every test against fresh test emulators (root module, then infra/ if present; PKGS=, GOTESTFLAGS=)
	@$(TEST_STACK) $(call RUN_TESTS,$(GOTESTFLAGS))

test-race: $(API_LINT) ## Same as test, with the race detector (slower)
	@$(TEST_STACK) $(call RUN_TESTS,-race $(GOTESTFLAGS))

test-localstack: $(API_LINT) ## Run the tests against an already running LocalStack (AWS_ENDPOINT_URL, default http://localhost:4566)
	@unset AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SQS; \
	export AWS_ENDPOINT_URL=$${AWS_ENDPOINT_URL:-http://localhost:4566} AWS_REGION=$${AWS_REGION:-us-east-1} \
		AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-test}; \
	echo "+ AWS_ENDPOINT_URL=$$AWS_ENDPOINT_URL"; \
	$(call RUN_TESTS,$(GOTESTFLAGS))

bench: ## Run the Go benchmarks against the test emulators; output in build/bench.txt
	@mkdir -p build
	@$(TEST_STACK) echo "+ go test -run '^$$' -bench . -benchmem $(BENCHFLAGS) $(PKGS) | tee build/bench.txt"; \
	$(GO) test -run '^$$' -bench . -benchmem $(BENCHFLAGS) $(PKGS) 2>&1 | tee build/bench.txt

dev: deps ## Run the whole platform locally (go run ./cmd/pulsehub dev); Ctrl-C stops it
	$(GO) run ./cmd/pulsehub dev

seed: deps ## Seed the demo workspace (go run ./cmd/pulsehub seed)
	$(GO) run ./cmd/pulsehub seed

build: ## Build every functions/*/main.go for Lambda (linux/arm64) into build/<name>.zip
	@if [ -z "$(FUNCTIONS)" ]; then echo "build: no functions/*/main.go yet"; exit 0; fi; \
	if command -v zip >/dev/null 2>&1; then zipper=zip; \
	elif command -v python3 >/dev/null 2>&1; then zipper=python3; \
	else echo "build: need zip (apt-get install zip) or python3 to package the functions" >&2; exit 1; fi; \
	for fn in $(FUNCTIONS); do \
		echo "+ build/$$fn/bootstrap -> build/$$fn.zip"; \
		rm -rf "build/$$fn" "build/$$fn.zip"; \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -tags lambda.norpc \
			-o "build/$$fn/bootstrap" "./functions/$$fn"; \
		touch -t 198001010000 "build/$$fn/bootstrap"; \
		if [ $$zipper = zip ]; then zip -q -j -X "build/$$fn.zip" "build/$$fn/bootstrap"; \
		else python3 -m zipfile -c "build/$$fn.zip" "build/$$fn/bootstrap"; fi; \
	done

lint: $(API_LINT) ## gofmt (fails on any unformatted file), go mod tidy -diff, go vet, staticcheck and the OpenAPI lint
	@files=$$(find . -name '*.go' -not -path '*/node_modules/*' -not -path './.local/*' \
		-not -path './build/*' -not -path '*/cdk.out/*' -not -path '*/testdata/*' | xargs -r gofmt -l); \
	if [ -n "$$files" ]; then echo "gofmt: these files need gofmt -w:"; echo "$$files"; exit 1; fi
	$(GO) mod tidy -diff
	$(GO) vet ./...
	@if [ -f infra/go.mod ]; then echo "+ (cd infra && go vet ./...)"; cd infra && $(GO) vet ./...; fi
	$(GO) tool staticcheck ./...
	$(GO) test -count=1 -run '^TestOpenAPILint$$' ./shared/api/

clean-local: ## Stop the dev and test emulators and delete .local/ (all local state)
	-@$(STACK) stop dev --force
	-@$(STACK) stop test --force
	rm -rf .local

clean: ## Delete build/
	rm -rf build

# --- infrastructure (infra/, template.yaml) ----------------------------------
CDK := cd infra && JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 _cli/node_modules/.bin/cdk
ENV ?= dev

.PHONY: synth deploy sam coldstart

synth: build ## Synthesize the CDK stack for ENV=dev|prod into infra/cdk.out (cdk-nag + CloudFormation validation)
	@cd infra/_cli && npm ci --no-audit --no-fund
	$(CDK) synth -c pulsehub:env=$(ENV) --quiet

deploy: build ## Deploy the CDK stack PulseHub-$(ENV) to the current AWS account (needs credentials; docs/deploy.md)
	@cd infra/_cli && npm ci --no-audit --no-fund
	$(CDK) deploy -c pulsehub:env=$(ENV) PulseHub-$(ENV)

sam: ## Regenerate template.yaml from the catalog
	$(GO) generate ./shared/catalog/sam

coldstart: ## Cold-start benchmark of every function vs hello world (docs/performance.md)
	cd infra && $(GO) test -run '^$$' -bench ColdStart -benchtime 10x ./coldstart/
