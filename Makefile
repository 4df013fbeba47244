# myna-kiosk — the commands a person runs. Each sets up what is missing first (scripts/setup.sh).
VENV := .venv
BIN  := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup test lint typecheck pytest demo bench soak fuzz clean

setup:
	@scripts/setup.sh

test: setup lint typecheck pytest

lint:
	$(BIN)/ruff check .

typecheck:
	$(BIN)/mypy

# Two sessions side by side: the tests that may reach pcscd (one machine-wide pair of readers) one at a
# time, and all the others; make fails if either does.
pytest:
	@$(BIN)/python -m pytest -q -m "pcscd and not hardware" & pcscd=$$!; \
	$(BIN)/python -m pytest -q -n 2 -m "not pcscd and not hardware"; others=$$?; \
	wait $$pcscd; pcscd=$$?; \
	echo "make pytest: pcscd session exit $$pcscd, other session exit $$others"; \
	[ $$pcscd -eq 0 ] && [ $$others -eq 0 ]

demo: setup
	@scripts/demo.sh
	@scripts/demo-kiosk.sh
	@printf '\n\033[1m== kiosk demo-ui: the same resident on the real touchscreen (off screen without a display)\033[0m\n'
	$(BIN)/python -m harness demo-ui --reader pcsc --out out/screens --pages out/demo-ui

bench: setup
	$(BIN)/python -m bench

# 10,000 transactions from 50 kiosks against one local center under the default fault schedule, judged
# from the evidence (docs/fleet.md); a benchmark, not a test. The report lands in out/soak/.
soak: setup
	rm -rf out/soak
	$(BIN)/kiosk-harness fleet --kiosks 50 --transactions 10000 --faults default --seed 1 --report out/soak

# Every fuzz target for a million inputs, one after the other, at low priority (docs/fuzzing.md).
FUZZ_RUNS ?= 1000000
fuzz: setup
	nice -n 10 $(BIN)/python -m fuzz --all --runs $(FUZZ_RUNS)

clean:
	rm -rf $(VENV) out/* .pytest_cache .mypy_cache .ruff_cache
