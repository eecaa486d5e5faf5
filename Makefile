# Agora — the two commands: `make run` and `make test`. Both install whatever is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
LOCAL := deploy/local
RUN_DIR ?= $(CURDIR)/.run
export AGORA_RUN_DIR := $(RUN_DIR)
PYTEST_ARGS ?=

.PHONY: help setup infra run stop test test-unit bench clean-data

help:
	@echo "make run     set up and run the whole system locally (gateway on http://127.0.0.1:8000)"
	@echo "make test    set up and run the whole test suite against real PostgreSQL and Kafka"
	@echo "make stop    stop everything make run / make test started"
	@echo "make infra   only start PostgreSQL and Kafka"

setup:
	@$(LOCAL)/setup.sh >/dev/null

infra: setup
	@$(LOCAL)/postgres.sh start
	@$(LOCAL)/kafka.sh start

run: setup
	@$(LOCAL)/run.sh

stop:
	@$(LOCAL)/stop.sh

test: infra
	@if [ -x deploy/tools/install-kustomize.sh ]; then deploy/tools/install-kustomize.sh >/dev/null; fi
	DATABASE_URL="$${DATABASE_URL:-$$($(LOCAL)/postgres.sh url)}" \
	KAFKA_BOOTSTRAP_SERVERS="$${KAFKA_BOOTSTRAP_SERVERS:-$$($(LOCAL)/kafka.sh bootstrap)}" \
	PATH="$(RUN_DIR)/bin:$$PATH" \
	.venv/bin/python -m pytest $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory deploy-e2e-if-enabled

test-unit: setup
	.venv/bin/python -m pytest tests/unit $(PYTEST_ARGS)

clean-data: stop
	rm -rf $(RUN_DIR)/pg $(RUN_DIR)/kafka/data

-include deploy/deploy.mk
