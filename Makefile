# Everyday commands. `make run` and `make test` are the README's two commands.
# They are development commands: DEBUG is on unless set otherwise (scripts/test.sh turns it off for the tests).
export DEBUG ?= true
.PHONY: run test setup services unit lint format migrate lessons author validate bench load sandbox-status sandbox-stop lock

run:            ## set up and run the whole app at http://127.0.0.1:8000
	scripts/run.sh

test:           ## run every test (starts Redis and the sandbox daemons first)
	scripts/test.sh

setup:          ## install Debian packages and the Python environment
	scripts/setup.sh

services:       ## start Redis and the sandbox daemons
	scripts/services.sh

unit:           ## fast tests that need nothing running
	.venv/bin/python -m pytest -m "not sandbox and not e2e"

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

migrate:
	.venv/bin/python manage.py migrate

lessons:        ## reload the course files into the database
	.venv/bin/python manage.py loadlessons

author:         ## watch lessons/content, reload on save, preview at http://127.0.0.1:8001/teach/author/
	.venv/bin/python manage.py migrate --noinput -v0
	DEBUG=$${DEBUG:-true} .venv/bin/python manage.py author 127.0.0.1:$${AUTHOR_PORT:-8001}

validate:       ## grade every reference solution and starter in the sandbox
	.venv/bin/python manage.py validate_content

bench:          ## compare Dockyard's pipeline with raw docker build/run
	.venv/bin/python manage.py bench

load:           ## a class of 40 learners through the real API, on its own Redis and daemons
	.venv/bin/python manage.py loadtest

sandbox-status:
	.venv/bin/python manage.py sandbox status

sandbox-stop:
	.venv/bin/python manage.py sandbox stop

lock:           ## re-pin requirements.lock from requirements.in
	.venv/bin/pip install -q -r requirements.in && .venv/bin/pip freeze > requirements.lock
