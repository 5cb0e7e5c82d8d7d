# The two commands of the README, and the house rules. Each does its own set-up on a fresh machine.
PY := .venv/bin/python
DEMO_DIR := work_dirs/demo
DEMO_DATA := data/synthetic
DEMO_CONFIG := configs/synthetic/krcnn_hrnet_w18_synthetic.py
LINT_PATHS := mmhrkpt tools tests configs demo setup.py

.PHONY: setup test lint format demo clean

setup:
	bash tools/setup_env.sh

test: setup
	$(PY) -m pytest tests -q -p no:cacheprovider $(PYTEST_ARGS)

lint: setup
	$(PY) -m flake8 $(LINT_PATHS)
	$(PY) -m isort --check-only --diff $(LINT_PATHS)
	$(PY) -m yapf --diff --recursive $(LINT_PATHS)

format: setup
	$(PY) -m isort $(LINT_PATHS)
	$(PY) -m yapf --in-place --recursive $(LINT_PATHS)

demo: setup
	bash tools/demo.sh $(DEMO_CONFIG) $(DEMO_DATA) $(DEMO_DIR)

clean:
	rm -rf $(DEMO_DIR) $(DEMO_DATA)
