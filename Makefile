# Two entry points for a fresh machine; each sets itself up and is safe to run again.
#   make demo   installs brushwork in .venv and runs the demo on built-in data
#   make test   installs brushwork with test tools in .venv and runs lint + tests
#   make studio installs brushwork in .venv and serves the studio on http://127.0.0.1:8765
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast studio lint bench-quality bench-speed clean

$(STAMP): pyproject.toml constraints-cpu.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints-cpu.txt -e '.[dev,ray]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/brushwork demo

studio: $(STAMP)
	$(BIN)/brushwork serve

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

# the edit loop: lint, types and every test not marked slow (under 2 minutes)
test-fast: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -m "not slow"

bench-quality: $(STAMP)
	$(BIN)/python -m pip install -q -c constraints-cpu.txt -e '.[dev,bench]'
	$(BIN)/python benchmarks/quality.py --minutes 3 --random 16

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
