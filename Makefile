# myna-kiosk — the commands a person runs. Each sets up what is missing first (scripts/setup.sh).
VENV := .venv
BIN  := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup test lint typecheck pytest demo bench clean

setup:
	@scripts/setup.sh

test: setup lint typecheck pytest

lint:
	$(BIN)/ruff check .

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/python -m pytest -q

demo: setup
	@scripts/demo.sh
	@scripts/demo-kiosk.sh

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) out/* .pytest_cache .mypy_cache .ruff_cache
