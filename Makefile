# One-command set-up: `make run` starts the site, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test browser proxy epubcheck clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $(STAMP)

# Debian's Chromium drives the end-to-end tests; Playwright's own browser download is not reachable.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-nanum >/dev/null; \
	fi

# Debian's nginx: tests/proxy/ runs it in front of gunicorn with deploy/nginx/ (the compose proxy's
# configuration) on free ports of its own; only the package is needed (in a container, Debian's
# policy-rc.d keeps the packaged service from starting).
proxy:
	@if [ ! -x /usr/sbin/nginx ] && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	fi

# Debian's epubcheck (with a Java runtime) validates the exported EPUB in tests/app/test_book.py.
epubcheck:
	@if [ ! -f /usr/share/java/epubcheck.jar ] && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq epubcheck >/dev/null; \
	fi

run: $(STAMP)
	$(BIN)/python run.py

# Two test processes, one per core: much of the suite waits on workers, servers and the browser.
# A file's tests stay in one process (its module fixtures are built once).
test: $(STAMP) browser proxy epubcheck
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache
