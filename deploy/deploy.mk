# Deploy targets, included by the root Makefile (`include deploy/deploy.mk`). Run from the repository root.
#   make deploy-tools    kustomize for the deploy tests (pinned, into $(AGORA_RUN_DIR)/bin; quick when present)
#   make deploy-test     the deploy checks alone: render, validate, policies, compose config, hadolint
#   make deploy-e2e      the slow docker end-to-end check (root; installs docker.io, starts its own dockerd)
#   make deploy-e2e-down tear down a run kept with E2E_KEEP=1
# `make test` runs deploy-e2e only when asked: DEPLOY_E2E=1 make test (via deploy-e2e-if-enabled).

DEPLOY_E2E ?= 0

.PHONY: deploy-tools deploy-test deploy-image-inputs deploy-e2e deploy-e2e-if-enabled deploy-e2e-down

deploy-tools:
	bash deploy/tools/install-kustomize.sh

deploy-test: deploy-tools
	.venv/bin/python -m pytest tests/deploy -q

deploy-image-inputs:
	bash deploy/tools/prepare-image-inputs.sh

deploy-e2e:
	bash deploy/tools/e2e-compose.sh

deploy-e2e-if-enabled:
ifeq ($(DEPLOY_E2E),1)
	bash deploy/tools/e2e-compose.sh
else
	@echo "deploy-e2e skipped (run it with: DEPLOY_E2E=1 make test, or make deploy-e2e)"
endif

deploy-e2e-down:
	bash deploy/tools/e2e-compose.sh down
