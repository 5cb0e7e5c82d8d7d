# The two commands of the README. Each does its own set-up on a fresh machine.
PY := .venv/bin/python
DEMO_DIR := work_dirs/demo
DEMO_DATA := data/synthetic
DEMO_CONFIG := configs/synthetic/krcnn_hrnet_w18_synthetic.py

.PHONY: setup test demo clean

setup:
	bash tools/setup_env.sh

test: setup
	$(PY) -m pytest tests -q -p no:cacheprovider $(PYTEST_ARGS)

demo: setup
	bash tools/demo.sh $(DEMO_CONFIG) $(DEMO_DATA) $(DEMO_DIR)

clean:
	rm -rf $(DEMO_DIR) $(DEMO_DATA)
