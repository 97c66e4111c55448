# Two commands set up a fresh machine and use it: `make demo` and `make test`.
# Both bootstrap .venv (and the system packages, as root) through scripts/bootstrap.sh.

PY := .venv/bin/python
export KIVY_NO_ARGS := 1
export KIVY_LOG_MODE := PYTHON

.PHONY: bootstrap demo test lint fuzz bench soak openapi clean

bootstrap:
	@bash scripts/bootstrap.sh

demo: bootstrap
	$(PY) -m kiosk run --demo

test: bootstrap
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	SDL_VIDEODRIVER=offscreen $(PY) -m pytest

lint: bootstrap
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

fuzz: bootstrap
	KIOSK_FUZZ_EXAMPLES=$${KIOSK_FUZZ_EXAMPLES:-500} $(PY) -m pytest -q --timeout 3600 tests/api/test_fuzz_openapi.py

bench: bootstrap
	SDL_VIDEODRIVER=offscreen $(PY) bench/face.py --out bench/results/face.json
	$(PY) bench/finger.py --out bench/results/finger.json
	$(PY) bench/liveness.py --out bench/results/liveness.json
	SDL_VIDEODRIVER=offscreen $(PY) bench/ui.py --out bench/results/ui.json
	SDL_VIDEODRIVER=offscreen $(PY) bench/ui.py --window 1280x720 --parts preview --variants app_pump --out bench/results/ui-1280x720.json
	$(PY) bench/report.py

soak: bootstrap
	SDL_VIDEODRIVER=offscreen $(PY) -m bench.soak --out bench/results/soak.json
	KIOSK_FAULTS_JSON=bench/results/faults.json $(PY) -m pytest -q -p no:cacheprovider tests/faults/test_outbox_crash.py -k kill
	$(PY) bench/report.py

openapi: bootstrap
	$(PY) -m backend.cli openapi --out docs/api/openapi.json

clean:
	rm -rf .venv .pytest_cache .ruff_cache kiosk-data backend-data
