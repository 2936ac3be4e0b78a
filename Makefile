# Every target installs what it needs into .venv first (scripts/setup.sh; a no-op when up to date). The demos need
# the codec only (no torch); PESQ in `make demo` comes from the speech-eval extra.
.PHONY: demo demo-gaussian demo-digits demo-physics test bench bench-speech fuzz lint

demo:
	bash scripts/setup.sh speech-eval
	bash examples/speech_demo.sh

demo-gaussian:
	bash scripts/setup.sh ""
	bash examples/gaussian_demo.sh

demo-digits:
	bash scripts/setup.sh ""
	bash examples/digits_demo.sh

demo-physics:
	bash scripts/setup.sh ""
	bash examples/physics_demo.sh

test:
	bash scripts/setup.sh
	@# pytest exits 5 when it collected or selected no test: say so, since make reports every failure as 2.
	.venv/bin/python -m pytest -q $(PYTEST_ARGS); status=$$?; \
	  if [ $$status -eq 5 ]; then echo "make test: pytest ran no tests (exit code 5)" >&2; fi; exit $$status

bench:
	bash scripts/setup.sh test,bench
	.venv/bin/ltc lattices
	.venv/bin/ltc bench codec

# Needs the recordings (apt-get install asterisk-core-sounds-en-wav) and, for the peers, opus-tools and codec2.
bench-speech:
	bash scripts/setup.sh
	.venv/bin/ltc data speech
	.venv/bin/ltc bench speech

# Hostile streams: seeded mutations of the golden streams, decoded in limited workers (FUZZ_MINUTES=10).
FUZZ_MINUTES ?= 10
fuzz:
	bash scripts/setup.sh ""
	.venv/bin/ltc bench fuzz $$(find tests/data/golden -name '*.ltc' | sort) --minutes $(FUZZ_MINUTES)

lint:
	bash scripts/setup.sh dev
	.venv/bin/ruff check .
