# Two commands on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

# The optional compiled build (setup.py, docs/compiled.md): the hot-path modules through
# mypyc, installed apart from the editable pure-Python install so both can be tested.
COMPILED := build/compiled
ROUTER_SOURCES := $(shell find router -name '*.py') setup.py build_backend/router_build.py
# the tests run again on the compiled build: core, policies, simulator, adapters, features
# (tests/test_mutants.py patches Router methods and runs on the pure build only)
COMPILED_TESTS := tests/test_compiled.py tests/test_dropped_router.py tests/test_custom_policy.py tests/test_break_window.py tests/test_drain_for_break.py tests/test_drain_share.py tests/test_team_break_share.py tests/test_team_drain_share.py tests/test_operator_o47.py tests/test_midrun_reconfigure.py tests/test_config_warnings.py tests/test_queue_queries.py tests/test_caller_collections.py tests/test_core_lifecycle.py tests/test_core_errors.py \
	tests/test_core_isolation.py tests/test_core_snapshot.py tests/test_core_state_machine.py \
	tests/test_liveness.py tests/test_inputs.py tests/test_admission.py \
	tests/test_admission_estimate.py tests/test_admission_outbound.py tests/test_backpressure.py \
	tests/test_surge.py tests/test_wellbeing.py tests/test_wellbeing_timers.py tests/test_fairness.py tests/test_reconfigure.py \
	tests/test_reconfigure_property.py tests/test_sim_engine.py tests/test_sim_declines.py tests/test_sim_no_answers.py tests/test_sim_transfers.py \
	tests/test_sim_replay.py tests/test_sim_cli.py \
	tests/test_seed_stories.py tests/test_examples_core.py tests/test_adapters.py \
	tests/test_examples_async.py tests/test_multi_offer.py tests/test_preferred.py \
	tests/test_targeting.py tests/test_distribution.py tests/test_feature_scenarios.py \
	tests/test_inqueue.py tests/test_hours.py tests/test_interrupts.py tests/test_presence.py \
	tests/test_adapters_queue_changes.py tests/test_queue_change_scenarios.py \
	tests/test_realtime_statistics.py tests/test_realtime_queue_changes.py tests/test_best_key.py \
	tests/test_plain_admission.py tests/test_adapters_features.py tests/test_adapters_throughput.py \
	tests/test_tracing.py tests/test_deadline_heap.py tests/test_offer_line_compaction.py tests/test_waiting_lines.py \
	tests/test_gc_footprint.py tests/test_counting.py tests/test_ticket_more.py tests/test_agent_heap.py \
	tests/test_queries_change_nothing.py tests/test_bench.py tests/test_public_surface.py \
	tests/test_shared_caps.py tests/test_version_table.py tests/test_live_table.py tests/test_bookkeeping_counts.py \
	tests/test_deadline_entries.py tests/test_mutation_sweep.py tests/test_mutation_sweep_core.py \
	tests/test_mutation_sweep_edges.py \
	tests/test_mutation_sweep_c34.py tests/test_mutation_sweep_e35.py \
	tests/test_steps_out_of_line.py tests/test_mutation_sweep_f36.py tests/test_reconfigure_timers.py \
	tests/test_shared_shares.py tests/test_recent_window.py tests/test_mutation_sweep_g37.py \
	tests/test_shared_loads.py tests/test_mutation_sweep_h38.py tests/test_emptied_dicts.py \
	tests/test_estimate_records.py tests/test_estimate_held.py \
	tests/test_inquiry_checks.py tests/test_mutation_sweep_j40.py tests/test_offers_across_reconfigure.py \
	tests/test_mutation_sweep_k41.py tests/test_wait_tally.py tests/test_mutation_sweep_n44.py \
	tests/test_mutation_sweep_o45.py tests/test_mutation_sweep_p46.py tests/test_decline_rounds.py tests/test_max_declines.py \
	tests/test_listing_ranks.py tests/test_mutation_sweep_s49.py tests/test_mutation_sweep_s50.py \
	tests/test_mutation_sweep_t50.py tests/test_mutation_sweep_u51.py tests/test_mutation_sweep_v52.py \
	tests/test_mutation_sweep_v53.py \
	tests/test_freed_once.py

.PHONY: demo test lint typecheck unit unit-compiled compiled bench bench-quick bench-smoke \
	bench-check clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[plot]'
	touch $@

demo: $(VENV)/.installed-demo
	$(BIN)/python -m router demo

lint: $(STAMP)
	$(BIN)/ruff check router bench tests examples
	$(BIN)/ruff format --check router bench tests examples

typecheck: $(STAMP)
	$(BIN)/mypy

# ROUTER_COMPILE=1 pip install . (no isolation: the venv's pinned mypy compiles; the
# compiled modules import librt.vecs at run time: checked first, as the venv has it)
# the stamp takes the build's start time: a source saved while it compiles is newer, so
# the next make builds again (a stamp touched at the end would hide that edit)
$(COMPILED)/.built: $(ROUTER_SOURCES) $(STAMP)
	@$(BIN)/python -c "import librt.vecs" 2>/dev/null || { echo "make compiled: the compiled \
	build needs librt (its agent heaps' vectors; mypy installs it): pip install \
	'inquiry-router[compiled]' or 'librt>=0.16' (docs/compiled.md)" >&2; exit 1; }
	mkdir -p $(COMPILED) && touch $@.start
	ROUTER_COMPILE=1 $(BIN)/pip install -q --no-deps --no-build-isolation --upgrade \
		--target $(COMPILED) .
	mv $@.start $@

compiled: $(COMPILED)/.built

# pytest-xdist: the suites spread over the machine's cores (worksteal: an idle worker takes
# tests from a busy one, so the slow hunts don't make a tail); `make test PYTEST_XDIST=-n0`
# runs them serially in one process, as plain `.venv/bin/pytest` does
PYTEST_XDIST ?= -n auto --dist worksteal

unit: $(STAMP)
	$(BIN)/pytest $(PYTEST_XDIST)

unit-compiled: $(STAMP) $(COMPILED)/.built
	BENCH_ROUTER_PATH=$(COMPILED) BENCH_ROUTER_BUILD=compiled $(BIN)/pytest $(PYTEST_XDIST) \
		$(COMPILED_TESTS)

# the pure suite (on xdist's workers) and the compile share the cores, then the compiled pass
test: lint typecheck
	$(MAKE) --no-print-directory -j2 unit compiled
	$(MAKE) --no-print-directory unit-compiled

# the full report and chart, then the pytest-benchmark micro cases timed
bench: $(STAMP)
	$(BIN)/python -m bench --json out/bench.json --chart docs/img
	$(BIN)/pytest bench --benchmark-only

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick --json out/bench-quick.json

# the micro cases once each, untimed (addopts carry --benchmark-disable): a smoke test
bench-smoke: $(STAMP)
	$(BIN)/pytest bench -p no:cacheprovider

# the regression guard: this tree against the accepted commit, interleaved (BENCHMARKS.md)
bench-check: $(STAMP)
	$(BIN)/python -m bench.guard --json out/bench-guard.json

clean:
	rm -rf $(VENV) out build .pytest_cache .mypy_cache .ruff_cache
