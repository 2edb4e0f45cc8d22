# rnnlab: `make` builds build/librnnlab.a, build/librnnlab.so and build/rnnlab;
# `make test` runs every test; `make asan` runs them under AddressSanitizer and
# UBSan; `make install` (PREFIX, DESTDIR) installs them (docs/install.md).
BUILD ?= build
CC ?= cc
OPT ?= -O2
SAN ?=
# Hardening for the release build: callgrind counts 697,464,013 instructions
# for a 20-step LSTM training run with it against 696,735,794 without (+0.10%).
HARDEN ?= -D_FORTIFY_SOURCE=2 -fstack-protector-strong
WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
PKGS = openblas lapacke libcjson libzip zlib
CLI_PKGS = plplot libpng
# Expanded when a recipe runs, after the deps check below has installed them.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS))
CLI_CFLAGS = $(shell pkg-config --cflags $(CLI_PKGS))
CLI_LIBS = $(shell pkg-config --libs $(CLI_PKGS))
CFLAGS_ALL = -std=c11 $(OPT) -fopenmp-simd -fno-trapping-math -fno-math-errno -g $(WARN) $(SAN) $(HARDEN) -D_DEFAULT_SOURCE -Iinclude -Isrc -MMD -MP $(PKG_CFLAGS) $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lm -lpthread $(LDLIBS)

# src/ in layers, each using only those before it (docs/design.md; make lint checks it)
LAYERS = base cells net analysis io train
LIB_PLAIN = base/status base/mem base/names base/files base/blas base/par base/kernel base/rng cells/cell cells/orth net/model net/ws net/orth_ws \
            net/batch analysis/worked analysis/gradcheck analysis/jacobian analysis/lyapunov io/safetensors io/modelio \
            io/arrays io/npy io/npz io/idx io/csv \
            train/sample train/floss train/recipes train/optim train/series train/tasks train/options train/train_config train/run train/trainer train/estimate \
            train/readout train/shard train/seqset train/mnist train/windows train/dataset train/datatask
# every src/cells/cell_*.c is a cell (a row of the table in src/cells/cell.c), compiled once per real type
LIB_REAL = base/gemm cells/recur net/net net/loop train/omega $(patsubst src/%.c,%,$(wildcard src/cells/cell_*.c))
LIB_OBJS = $(LIB_PLAIN:%=$(BUILD)/src/%.o) $(LIB_REAL:%=$(BUILD)/src/%_f32.o) $(LIB_REAL:%=$(BUILD)/src/%_f64.o) \
           $(BUILD)/src/io/corpus.o
# the program in folders by concern: cli/ the shared parts (main, the option
# table and its parsing, progress), cli/commands/, cli/plots/ (figures and
# reports), cli/sweeps/, cli/processes/ (one or several: cli/processes/dist.h).
# Its objects but the processes': rnnlab links dist_none, rnnlab-mpi (the
# same program on several processes) dist_mpi and MPI
CLI_SRCS = $(wildcard cli/*.c cli/*/*.c)
CLI_OBJS = $(patsubst cli/%.c,$(BUILD)/cli/%.o,$(filter-out cli/processes/dist_none.c cli/processes/dist_mpi.c,$(CLI_SRCS)))
# the program's modules without main, for the tests (which walk its option
# table in process) and the fuzz targets of its parsers (sweep specs, sweep folders, CSV)
CLI_LIB_OBJS = $(filter-out $(BUILD)/cli/main.o,$(CLI_OBJS)) $(BUILD)/cli/processes/dist_none.o
MPI_CFLAGS ?= $(shell pkg-config --cflags ompi-c)
MPI_LIBS ?= $(shell pkg-config --libs ompi-c)
TEST_OBJS = $(patsubst tests/%.c,$(BUILD)/tests/%.o,$(wildcard tests/*.c))
FUZZERS = safetensors model data text npy npz idx csv sweepspec sweepjson plotcsv runconfig

# The shared library: the same sources compiled as position-independent code
# into $(BUILD)/pic/, linked with a version script made from the public
# header, so that it exports the functions rnnlab.h declares and nothing else.
VERSION := $(shell sed -n 's/^\#define RL_VERSION_STRING "\(.*\)"/\1/p' include/rnnlab.h)
SOMAJOR = $(firstword $(subst ., ,$(VERSION)))
SONAME = librnnlab.so.$(SOMAJOR)
PIC_OBJS = $(LIB_OBJS:$(BUILD)/src/%=$(BUILD)/pic/%)
FUZZ_SECONDS ?= 60

.PHONY: all deps test test-slow asan valgrind run clean fixtures fuzz lint man install uninstall install-python uninstall-python \
        installcheck test-python
all: $(BUILD)/rnnlab $(BUILD)/rnnlab-mpi $(BUILD)/librnnlab.so

deps:
	@sh tools/deps.sh build

$(BUILD)/librnnlab.a: $(LIB_OBJS)
	ar rcs $@ $^

# The exports: every rl_ name the header declares as a function (a name that
# is also a type, such as rl_status in a function-pointer typedef, has no
# symbol and so exports nothing), and the tables it declares `extern const`.
$(BUILD)/rnnlab.map: include/rnnlab.h
	@mkdir -p $(dir $@)
	{ echo '{ global:'; { grep -oE '\brl_[a-z0-9_]+ ?\(' $< | tr -d '( '; \
	  sed -n 's/^extern const [a-z_]* \(rl_[a-z0-9_]*\);.*/\1/p' $<; } | sort -u | sed 's/.*/  &;/'; \
	  echo 'local: *; };'; } >$@.tmp && mv $@.tmp $@
$(BUILD)/librnnlab.so.$(VERSION): $(PIC_OBJS) $(BUILD)/rnnlab.map
	$(CC) $(SAN) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(BUILD)/rnnlab.map -Wl,-Bsymbolic-functions \
	  -Wl,--no-undefined -Wl,-z,relro,-z,now -o $@ $(PIC_OBJS) $(LDLIBS_ALL)
$(BUILD)/librnnlab.so: $(BUILD)/librnnlab.so.$(VERSION)
	ln -sf librnnlab.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

$(BUILD)/rnnlab: $(CLI_OBJS) $(BUILD)/cli/processes/dist_none.o $(BUILD)/librnnlab.a
	$(CC) $(SAN) -o $@ $(CLI_OBJS) $(BUILD)/cli/processes/dist_none.o $(BUILD)/librnnlab.a $(CLI_LIBS) $(LDLIBS_ALL)

$(BUILD)/rnnlab-mpi: $(CLI_OBJS) $(BUILD)/cli/processes/dist_mpi.o $(BUILD)/librnnlab.a
	$(CC) $(SAN) -o $@ $(CLI_OBJS) $(BUILD)/cli/processes/dist_mpi.o $(BUILD)/librnnlab.a $(CLI_LIBS) $(MPI_LIBS) $(LDLIBS_ALL)

$(BUILD)/libcli.a: $(CLI_LIB_OBJS)
	ar rcs $@ $^

$(BUILD)/rnnlab_tests: $(TEST_OBJS) $(BUILD)/libcli.a $(BUILD)/librnnlab.a
	$(CC) $(SAN) -o $@ $(TEST_OBJS) $(BUILD)/libcli.a $(BUILD)/librnnlab.a $(CLI_LIBS) $(LDLIBS_ALL)

$(BUILD)/src/%_f32.o: src/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<
$(BUILD)/src/%_f64.o: src/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -DRL_REAL_F64 -c -o $@ $<
# the built-in corpus, embedded with .incbin (path relative to the repository root)
$(BUILD)/src/io/corpus.o: src/io/corpus.S data/pride_and_prejudice.txt | deps
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ $<
$(BUILD)/pic/%_f32.o: src/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fPIC -fno-semantic-interposition -c -o $@ $<
$(BUILD)/pic/%_f64.o: src/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fPIC -fno-semantic-interposition -DRL_REAL_F64 -c -o $@ $<
$(BUILD)/pic/io/corpus.o: src/io/corpus.S data/pride_and_prejudice.txt | deps
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ $<
$(BUILD)/pic/%.o: src/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fPIC -fno-semantic-interposition -c -o $@ $<
$(BUILD)/cli/%.o: cli/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Icli $(CLI_CFLAGS) -c -o $@ $<
$(BUILD)/cli/processes/dist_mpi.o: cli/processes/dist_mpi.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Icli $(CLI_CFLAGS) $(MPI_CFLAGS) -c -o $@ $<
$(BUILD)/tests/%.o: tests/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Icli $(CLI_CFLAGS) -c -o $@ $<
$(BUILD)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

# OpenBLAS threads are left to their defaults for the tests, which are small.
# The tests run in TEST_JOBS processes at once (the runner's --jobs).
TEST_JOBS ?= 2
test: $(BUILD)/rnnlab $(BUILD)/rnnlab-mpi $(BUILD)/rnnlab_tests
	$(BUILD)/rnnlab_tests --cli $(BUILD)/rnnlab --fixtures tests/fixtures --jobs $(TEST_JOBS)

# The slow tier (not in .ci/run): each recipe's shortest claimed result,
# which fails if rnnlab no longer reaches it within the claim's budget
# (tests/slow.sh; about 15 CPU minutes). SLOW_OUT keeps the runs' records.
SLOW_OUT ?= $(BUILD)/slow
test-slow: $(BUILD)/rnnlab
	RNNLAB=$(BUILD)/rnnlab sh tests/slow.sh $(SLOW_OUT)

# LeakSanitizer is on; tests/lsan.supp lists the system libraries whose
# process-lifetime caches it would report (fontconfig and cairo, via PLplot).
asan:
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	$(MAKE) BUILD=build/asan OPT=-O1 HARDEN= SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test

# The main job (README's first command): the demo report in rnnlab-demo/.
run: $(BUILD)/rnnlab $(BUILD)/rnnlab-mpi
	$(BUILD)/rnnlab demo --out rnnlab-demo

# libFuzzer (clang, ASan, UBSan): each harness for FUZZ_SECONDS on the seeds
# in tests/fuzz/NAME/ (new inputs go to build/fuzz/corpus-NAME; a crash is
# written to build/fuzz/ and stops the run: copy it to tests/fuzz/NAME/).
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# At -O1 clang does not run its loop vectoriser, and says so for every
# `omp simd` loop (-Wpass-failed): that is expected in this build.
fuzz:
	$(MAKE) BUILD=build/fuzz CC=clang OPT="-O1 -Wno-pass-failed" HARDEN= SAN="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" \
	  build/fuzz/librnnlab.a build/fuzz/libcli.a
	@for f in $(FUZZERS); do \
	  clang -std=c11 -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer -D_DEFAULT_SOURCE -Iinclude -Isrc -Icli -Itests $(PKG_CFLAGS) $(CLI_CFLAGS) \
	    -o build/fuzz/fuzz_$$f tests/fuzz/fuzz_$$f.c tests/fuzz_targets.c tests/fuzz_readers.c build/fuzz/libcli.a \
	    build/fuzz/librnnlab.a $(CLI_LIBS) $(LDLIBS_ALL) || exit 1; \
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
                 limit_ vocab_needs error_paths init_chrono init_leak init_indrnn bad_cure_model_files orth_ \
                 reg_fixtures_match_torch_f64 floss_linear_cell reg_bad_input floss_rank_deficient reg_training \
                 ux_stream_reads ux_lyapunov esn_ridge esn_mackey esn_narma \
                 shard_blocks
valgrind: $(BUILD)/rnnlab $(BUILD)/rnnlab-mpi $(BUILD)/rnnlab_tests
	OPENBLAS_NUM_THREADS=1 valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	  $(BUILD)/rnnlab_tests --cli $(BUILD)/rnnlab --fixtures tests/fixtures --jobs $(TEST_JOBS) $(VALGRIND_TESTS)

# Static analysis: cppcheck must report nothing; each inline suppression in
# the sources says why it is there. Then the layers of src/: no file includes
# or calls a layer above its own (tools/check-layers.sh); and no function of
# the program over 100 lines (tools/check-functions.sh).
lint: $(BUILD)/librnnlab.a
	sh tools/check-layers.sh $(BUILD)
	sh tools/check-functions.sh cli 100
	cppcheck --enable=warning,portability,performance --std=c11 --inline-suppr -q --error-exitcode=1 \
	  -Iinclude -Isrc -Icli -Itests -D__GNUC__ --suppress=missingIncludeSystem src cli tests

# Regenerate the PyTorch reference fixtures (needs Debian's python3-torch).
fixtures:
	@sh tools/deps.sh fixtures
	/usr/bin/python3 tools/make_fixtures.py tests/fixtures
	/usr/bin/python3 tools/diag/diag_fixtures.py tests/fixtures

# ---------------------------------------------------------------- install
# make install PREFIX=/usr/local DESTDIR=...: the program, both libraries, the
# header, rnnlab.pc, the man pages and the docs (docs/install.md);
# make uninstall removes exactly those. install-python puts the Python
# package beside them (python/; docs/python.md).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/rnnlab
PYTHON ?= /usr/bin/python3
PYTHONDIR ?= $(PREFIX)/lib/python$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)/dist-packages
INSTALL ?= install

# The man pages, from the program's --help (tools/man.sh).
man: $(BUILD)/man/rnnlab.1
$(BUILD)/man/rnnlab.1: $(BUILD)/rnnlab tools/man.sh
	rm -rf $(BUILD)/man
	sh tools/man.sh $(BUILD)/rnnlab $(VERSION) $(BUILD)/man

install: all man
	$(INSTALL) -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(LIBDIR)/pkgconfig" "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(MANDIR)/man1" \
	  "$(DESTDIR)$(DOCDIR)/docs/img" "$(DESTDIR)$(DOCDIR)/examples/sweeps"
	$(INSTALL) -m 755 $(BUILD)/rnnlab "$(DESTDIR)$(BINDIR)/rnnlab"
	$(INSTALL) -m 755 $(BUILD)/rnnlab-mpi "$(DESTDIR)$(BINDIR)/rnnlab-mpi"
	$(INSTALL) -m 644 $(BUILD)/librnnlab.a "$(DESTDIR)$(LIBDIR)/librnnlab.a"
	$(INSTALL) -m 755 $(BUILD)/librnnlab.so.$(VERSION) "$(DESTDIR)$(LIBDIR)/librnnlab.so.$(VERSION)"
	ln -sf librnnlab.so.$(VERSION) "$(DESTDIR)$(LIBDIR)/$(SONAME)"
	ln -sf $(SONAME) "$(DESTDIR)$(LIBDIR)/librnnlab.so"
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' 'Name: rnnlab' \
	  'Description: recurrent networks trained by backpropagation through time, their Jacobians and Lyapunov exponents' \
	  'Version: $(VERSION)' 'Requires.private: $(PKGS)' 'Libs: -L$${libdir} -lrnnlab' 'Libs.private: -lm -lpthread' \
	  'Cflags: -I$${includedir}' >"$(DESTDIR)$(LIBDIR)/pkgconfig/rnnlab.pc"
	chmod 644 "$(DESTDIR)$(LIBDIR)/pkgconfig/rnnlab.pc"
	$(INSTALL) -m 644 include/rnnlab.h "$(DESTDIR)$(INCLUDEDIR)/rnnlab.h"
	$(INSTALL) -m 644 $(BUILD)/man/*.1 "$(DESTDIR)$(MANDIR)/man1/"
	$(INSTALL) -m 644 README.md "$(DESTDIR)$(DOCDIR)/README.md"
	$(INSTALL) -m 644 docs/*.md "$(DESTDIR)$(DOCDIR)/docs/"
	$(INSTALL) -m 644 docs/img/* "$(DESTDIR)$(DOCDIR)/docs/img/"
	$(INSTALL) -m 644 examples/*.c "$(DESTDIR)$(DOCDIR)/examples/"
	$(INSTALL) -m 644 examples/sweeps/*.sweep "$(DESTDIR)$(DOCDIR)/examples/sweeps/"
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/rnnlab" "$(DESTDIR)$(BINDIR)/rnnlab-mpi" "$(DESTDIR)$(LIBDIR)/librnnlab.a" "$(DESTDIR)$(LIBDIR)/librnnlab.so" \
	  "$(DESTDIR)$(LIBDIR)/$(SONAME)" "$(DESTDIR)$(LIBDIR)/librnnlab.so.$(VERSION)" "$(DESTDIR)$(LIBDIR)/pkgconfig/rnnlab.pc" \
	  "$(DESTDIR)$(INCLUDEDIR)/rnnlab.h" "$(DESTDIR)$(MANDIR)/man1/rnnlab.1" "$(DESTDIR)$(MANDIR)/man1/"rnnlab-*.1
	rm -rf "$(DESTDIR)$(DOCDIR)"
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

# The Python package, pure Python, copied (no pip: DESTDIR works and
# uninstall-python removes it exactly); it records LIBDIR to find the library.
install-python:
	$(INSTALL) -d "$(DESTDIR)$(PYTHONDIR)/rnnlab"
	$(INSTALL) -m 644 python/rnnlab/*.py "$(DESTDIR)$(PYTHONDIR)/rnnlab/"
	printf '%s\n' '# written by make install-python: where librnnlab was installed' "LIBDIRS = ['$(LIBDIR)']" \
	  >"$(DESTDIR)$(PYTHONDIR)/rnnlab/_install.py"

uninstall-python:
	rm -rf "$(DESTDIR)$(PYTHONDIR)/rnnlab"

# Install into temporary folders and check what is there (tests/install_check.sh).
installcheck: all man
	+sh tests/install_check.sh

# The Python package's tests (Debian's python3-pytest, python3-torch: sh tools/deps.sh python).
test-python: $(BUILD)/rnnlab $(BUILD)/librnnlab.so
	cd python && RNNLAB_CLI=$(CURDIR)/$(BUILD)/rnnlab $(PYTHON) -m pytest -q -p no:cacheprovider

clean:
	rm -rf build python/build python/rnnlab.egg-info

-include $(wildcard $(BUILD)/*/*.d $(BUILD)/*/*/*.d)
