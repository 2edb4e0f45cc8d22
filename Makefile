# rnnlab: `make` builds build/librnnlab.a and build/rnnlab; `make test` runs
# every test; `make asan` runs them under AddressSanitizer and UBSan.
BUILD ?= build
CC ?= cc
OPT ?= -O2
SAN ?=
# Hardening for the release build: callgrind counts 697,464,013 instructions
# for a 20-step LSTM training run with it against 696,735,794 without (+0.10%).
HARDEN ?= -D_FORTIFY_SOURCE=2 -fstack-protector-strong
WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
PKGS = openblas lapacke libcjson
CLI_PKGS = plplot libpng
# Expanded when a recipe runs, after the deps check below has installed them.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS))
CLI_CFLAGS = $(shell pkg-config --cflags $(CLI_PKGS))
CLI_LIBS = $(shell pkg-config --libs $(CLI_PKGS))
CFLAGS_ALL = -std=c11 $(OPT) -fopenmp-simd -fno-trapping-math -fno-math-errno -g $(WARN) $(SAN) $(HARDEN) -D_DEFAULT_SOURCE -Iinclude -Isrc -MMD -MP $(PKG_CFLAGS) $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lm -lpthread $(LDLIBS)

LIB_PLAIN = status blas par kernel rng cell sample model safetensors modelio ws gradcheck jacobian lyapunov optim tasks train_config run trainer shard
# every src/cell_*.c is a cell (a row of the table in src/cell.c), compiled once per real type
LIB_REAL = net loop $(patsubst src/%.c,%,$(wildcard src/cell_*.c))
LIB_OBJS = $(LIB_PLAIN:%=$(BUILD)/src/%.o) $(LIB_REAL:%=$(BUILD)/src/%_f32.o) $(LIB_REAL:%=$(BUILD)/src/%_f64.o) \
           $(BUILD)/src/corpus.o
# the CLI's objects but the processes' (cli/dist.h): rnnlab links dist_none,
# rnnlab-mpi (the same program on several processes) dist_mpi and MPI
CLI_OBJS = $(patsubst cli/%.c,$(BUILD)/cli/%.o,$(filter-out cli/dist_none.c cli/dist_mpi.c,$(wildcard cli/*.c)))
MPI_CFLAGS ?= $(shell pkg-config --cflags ompi-c)
MPI_LIBS ?= $(shell pkg-config --libs ompi-c)
TEST_OBJS = $(patsubst tests/%.c,$(BUILD)/tests/%.o,$(wildcard tests/*.c))
FUZZERS = safetensors model data text
FUZZ_SECONDS ?= 60

.PHONY: all deps test asan valgrind run clean fixtures fuzz lint
all: $(BUILD)/rnnlab $(BUILD)/rnnlab-mpi

deps:
	@sh tools/deps.sh build

$(BUILD)/librnnlab.a: $(LIB_OBJS)
	ar rcs $@ $^

$(BUILD)/rnnlab: $(CLI_OBJS) $(BUILD)/cli/dist_none.o $(BUILD)/librnnlab.a
	$(CC) $(SAN) -o $@ $(CLI_OBJS) $(BUILD)/cli/dist_none.o $(BUILD)/librnnlab.a $(CLI_LIBS) $(LDLIBS_ALL)

$(BUILD)/rnnlab-mpi: $(CLI_OBJS) $(BUILD)/cli/dist_mpi.o $(BUILD)/librnnlab.a
	$(CC) $(SAN) -o $@ $(CLI_OBJS) $(BUILD)/cli/dist_mpi.o $(BUILD)/librnnlab.a $(CLI_LIBS) $(MPI_LIBS) $(LDLIBS_ALL)

$(BUILD)/rnnlab_tests: $(TEST_OBJS) $(BUILD)/librnnlab.a
	$(CC) $(SAN) -o $@ $(TEST_OBJS) $(BUILD)/librnnlab.a $(CLI_LIBS) $(LDLIBS_ALL)

$(BUILD)/src/%_f32.o: src/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<
$(BUILD)/src/%_f64.o: src/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DRL_REAL_F64 -c -o $@ $<
# the built-in corpus, embedded with .incbin (path relative to the repository root)
$(BUILD)/src/corpus.o: src/corpus.S data/pride_and_prejudice.txt | deps
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ $<
$(BUILD)/cli/%.o: cli/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CLI_CFLAGS) -c -o $@ $<
$(BUILD)/cli/dist_mpi.o: cli/dist_mpi.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CLI_CFLAGS) $(MPI_CFLAGS) -c -o $@ $<
$(BUILD)/tests/%.o: tests/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CLI_CFLAGS) -c -o $@ $<
$(BUILD)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

# OpenBLAS threads are left to their defaults for the tests, which are small.
test: $(BUILD)/rnnlab $(BUILD)/rnnlab-mpi $(BUILD)/rnnlab_tests
	$(BUILD)/rnnlab_tests --cli $(BUILD)/rnnlab --fixtures tests/fixtures

# LeakSanitizer is on; tests/lsan.supp lists the system libraries whose
# process-lifetime caches it would report (fontconfig and cairo, via PLplot).
asan:
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	$(MAKE) BUILD=build/asan OPT=-O1 HARDEN= SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test

# The main job (README's first command): the demo report in rnnlab-demo/.
run: $(BUILD)/rnnlab
	$(BUILD)/rnnlab demo --out rnnlab-demo

# libFuzzer (clang, ASan, UBSan): each harness for FUZZ_SECONDS on the seeds
# in tests/fuzz/NAME/ (new inputs go to build/fuzz/corpus-NAME; a crash is
# written to build/fuzz/ and stops the run: copy it to tests/fuzz/NAME/).
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# At -O1 clang does not run its loop vectoriser, and says so for every
# `omp simd` loop (-Wpass-failed): that is expected in this build.
fuzz:
	$(MAKE) BUILD=build/fuzz CC=clang OPT="-O1 -Wno-pass-failed" HARDEN= SAN="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" build/fuzz/librnnlab.a
	@for f in $(FUZZERS); do \
	  clang -std=c11 -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer -D_DEFAULT_SOURCE -Iinclude -Isrc -Itests $(PKG_CFLAGS) \
	    -o build/fuzz/fuzz_$$f tests/fuzz/fuzz_$$f.c tests/fuzz_targets.c build/fuzz/librnnlab.a $(LDLIBS_ALL) || exit 1; \
	done
	@for f in $(FUZZERS); do \
	  mkdir -p build/fuzz/corpus-$$f; \
	  echo "fuzz $$f: $(FUZZ_SECONDS)s"; \
	  build/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/$$f- build/fuzz/corpus-$$f tests/fuzz/$$f 2>build/fuzz/$$f.log || \
	    { tail -40 build/fuzz/$$f.log; exit 1; }; \
	  grep -E "stat::number_of_executed_units|stat::peak_rss" build/fuzz/$$f.log; \
	done

# Valgrind memcheck on a reduced set of the tests (the library, in-process):
# any error or definite leak fails.
VALGRIND_TESTS = loss_by_hand backward_accumulates eq_10_21 torch_fixtures_f64 bad_model_files bad_data_files \
                 file_limits jacobian_matches theorem_ lag_gradients optimizers_by_hand task_ resume_is_exact \
                 nonfinite fuzz_corpus train_config resume_old step_hook resumed_records blas_ \
                 limit_ vocab_needs error_paths init_chrono init_leak init_indrnn bad_cure_model_files \
                 ux_stream_reads ux_lyapunov shard_blocks
valgrind: $(BUILD)/rnnlab $(BUILD)/rnnlab-mpi $(BUILD)/rnnlab_tests
	OPENBLAS_NUM_THREADS=1 valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	  $(BUILD)/rnnlab_tests --cli $(BUILD)/rnnlab --fixtures tests/fixtures $(VALGRIND_TESTS)

# Static analysis: cppcheck must report nothing; each inline suppression in
# the sources says why it is there.
lint:
	cppcheck --enable=warning,portability,performance --std=c11 --inline-suppr -q --error-exitcode=1 \
	  -Iinclude -Isrc -Icli -Itests -D__GNUC__ --suppress=missingIncludeSystem src cli tests

# Regenerate the PyTorch reference fixtures (needs Debian's python3-torch).
fixtures:
	@sh tools/deps.sh fixtures
	/usr/bin/python3 tools/make_fixtures.py tests/fixtures

clean:
	rm -rf build

-include $(wildcard $(BUILD)/*/*.d)
