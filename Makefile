# cunshe-ledger: `make run` and `make test` do all the set-up on a fresh machine.
VENV    ?= .venv
PY      := $(VENV)/bin/python
CUNSHE  := $(VENV)/bin/cunshe
PYTHON  ?= python3
DB      ?= ./cunshe.db
HOST    ?= 127.0.0.1
PORT    ?= 8000
# Debian packages the product needs: pango for WeasyPrint, a CJK font and HarfBuzz subsetting for Chinese
# PDFs (fast font subsetting), poppler for reading PDFs back in tests, Chromium for the browser tests,
# hledger and ledger-cli, which load our export in the tests and must agree with our trial balances.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk poppler-utils chromium hledger ledger

.PHONY: setup system venv run serve demo test lint format i18n bench fuzz clean

setup: system venv

system:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "system packages: all present"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  echo "installing system packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "missing system packages:$$missing"; \
	  echo "install them with: sudo apt-get install$$missing"; exit 1; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

run: setup
	DATABASE_URL=sqlite:///$(DB) $(CUNSHE) init
	DATABASE_URL=sqlite:///$(DB) $(CUNSHE) demo --if-empty --url http://$(HOST):$(PORT)
	DATABASE_URL=sqlite:///$(DB) $(CUNSHE) serve --host $(HOST) --port $(PORT)

serve: venv
	DATABASE_URL=sqlite:///$(DB) $(CUNSHE) serve --host $(HOST) --port $(PORT)

test: setup lint
	$(VENV)/bin/pytest -q -n 2 --dist loadfile

# ruff, the layers' import contracts (pyproject.toml [tool.importlinter]) and mypy over the packages that
# are clean: all of ledger/, pos/ and reports/ (the generated migrations are excluded in pyproject.toml).
MYPY_CLEAN := ledger pos reports
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy $(MYPY_CLEAN)

format:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The pages' words (ledger/web/i18n.py): extract the keys the pages use (babel.cfg; t, flash and N_) into a
# template, bring both catalogues (ledger/locale/<locale>/LC_MESSAGES/messages.po) up to it (a new key gets an
# empty translation, an unused one is dropped) and compile them to .mo (not committed; the pages compile a
# .po in memory when its .mo is missing or older). tests/web/test_i18n_catalogues.py fails until every key has
# its words in both.
I18N_KEYWORDS := --no-default-keywords -k t -k flash:2 -k N_ -k both -k tr
i18n: venv
	$(VENV)/bin/pybabel extract -F babel.cfg $(I18N_KEYWORDS) --no-location --sort-output --no-wrap \
	  --project cunshe-ledger -o ledger/locale/messages.pot .
	$(VENV)/bin/pybabel update -i ledger/locale/messages.pot -d ledger/locale --no-fuzzy-matching \
	  --ignore-obsolete --no-wrap --ignore-pot-creation-date
	$(VENV)/bin/pybabel compile -d ledger/locale --statistics

bench: setup
	$(PY) bench/run_all.py

# A randomised Schemathesis session against the real server on a loopback port, FUZZ_SECONDS per database
# (SQLite, then PostgreSQL), on the demo county at FUZZ_DEMO of a year's activity (empty: the small test
# county); FUZZ_SEED=n replays a printed seed. Exit 1 on any 5xx, hang, schema violation or verify failure.
FUZZ_SECONDS ?= 300
FUZZ_DEMO ?= 0.05
fuzz: venv
	$(PY) -m tests.system.fuzz_session --db sqlite --db postgresql --seconds $(FUZZ_SECONDS) \
	  $(if $(FUZZ_DEMO),--demo $(FUZZ_DEMO)) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
