# Two commands do everything on a fresh machine: `make book` and `make test`.
# Both create .venv at the repo root when missing and install the pinned environment (about 2-3 min, 6 GB).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= cpu

.PHONY: venv book test demo bench warmstart lock clean

$(BIN)/.installed: pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $@

venv: $(BIN)/.installed

# playwright-core drives Debian's Chromium in the demo's browser test (skipped, saying why, without them)
PLAYWRIGHT := $(VENV)/node/node_modules/playwright-core/package.json
$(PLAYWRIGHT): | $(BIN)/.installed
	@if command -v npm >/dev/null 2>&1; then npm install -q --prefix $(VENV)/node --no-audit --no-fund playwright-core@1.65.1; \
	else echo "npm not found: the demo's browser test will be skipped"; fi

## make book [PROFILE=cpu|smoke|study|paper]: run every notebook with papermill, then build _build/html
## (study: every run from scratch with 3 seeds, 5 for Det, Weight and Adv; its time is in the Training chapter)
## paper: DATA=<gdn data split's folder> MASKS=<Liu et al.'s test masks> TRAIN_MASKS=<QD-IMD drawings>
## ARGS="device=cuda ..." (config keys and gdn book options, e.g. --ddp 8); see README, "Reproduce the paper"
## ARGS=--plan: check every input and print the runs, their time on this machine and their disk, running nothing
book: venv
	$(BIN)/gdn book --profile $(PROFILE) $(if $(DATA),--data $(DATA)) $(if $(MASKS),--test-masks $(MASKS)) \
	$(if $(TRAIN_MASKS),--train-masks $(TRAIN_MASKS)) $(ARGS)

## make test: the whole test suite (what CI runs)
test: venv $(PLAYWRIGHT)
	$(BIN)/python -m pytest

## make demo: serve the interactive demo with Voila on localhost
demo: venv
	$(BIN)/gdn demo

## make bench: speed and memory of the networks on this machine
bench: venv
	$(BIN)/gdn bench

## make warmstart: retrain the cpu profile's shared warm starts and ship them: the generator as
## gdn/weights/cpu-warmstart.pt, then the detector trained against it, added to the same file
## (resumes runs/warmstart and runs/warmstart_detector if interrupted; see the Training chapter for times and logs)
warmstart: venv
	@if [ -f runs/warmstart/last.pt ]; then $(BIN)/gdn train --profile warmstart --out runs/warmstart --resume; \
	else $(BIN)/gdn train --profile warmstart --out runs/warmstart; fi
	$(BIN)/python -c "from gdn.engine.checkpoint import pack_generator; from gdn.book.report import git_commit; \
	print(pack_generator('runs/warmstart', 'gdn/weights/cpu-warmstart.pt', commit=git_commit()))"
	@if [ -f runs/warmstart_detector/last.pt ]; then \
	$(BIN)/gdn train --profile warmstart_detector --out runs/warmstart_detector --resume; \
	else $(BIN)/gdn train --profile warmstart_detector --out runs/warmstart_detector; fi
	$(BIN)/python -c "from gdn.engine.checkpoint import pack_critic; from gdn.book.report import git_commit; \
	print(pack_critic('runs/warmstart_detector', 'gdn/weights/cpu-warmstart.pt', commit=git_commit(), \
	command='make warmstart'))"

## make lock: re-pin constraints.txt from the current venv
lock: venv
	{ sed -n 1,2p constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v '^gdn'; } > constraints.lock.tmp
	mv constraints.lock.tmp constraints.txt

clean:
	rm -rf _build runs
