# rnn -- recurrent neural networks in C. Hand-written Makefile.
#
#   make                  library (build/librnn.a, build/librnn.so) and command (build/rnn)
#   make test             build and run every test; fails on any failure
#   make test SANITIZE=1  the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make test-torch       randomized cross-check against PyTorch (needs python3-torch)
#   make install PREFIX=/usr/local
#   make bench            speed against PyTorch in the same run (docs/performance.md)
#   make GEMM=blas        OpenBLAS for the GEMMs instead of our kernels (build/gemmblas)
#   make GEMM=onednn      oneDNN's dnnl_sgemm instead (build/gemmonednn)
#   make GEMM=libxsmm     libxsmm's JIT kernels where it has one (build/gemmlibxsmm)
#   make bench-gemm       SGEMM benchmark of every backend: build/bench/gemm_bench
#   make bench-backends   training, forward and streaming on each GEMM backend build
#   make bench-regions    each OpenMP region of a training step, 1 thread against 2
#   make bench-layout     the layers' per-step rows in each memory layout, 2 threads
#
# Default (GEMM=own): our AVX-512 / AVX2 / portable GEMM and pointwise
# kernels, chosen at run time; nothing but a C compiler, make and libgomp.
# The other backends are found by tools/configure.sh, which installs the
# Debian package (libopenblas-dev, libdnnl-dev, libxsmm-dev) with apt-get
# when it is missing and we are root.

# No built-in implicit rules: they would try to "remake" the .d files.
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:

GEMM ?= own
SANITIZE ?= 0
PREFIX ?= /usr/local
WERROR ?= -Werror
PYTHON ?= /usr/bin/python3

ifeq ($(SANITIZE),1)
BUILD ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else ifeq ($(GEMM),own)
BUILD ?= build
else
BUILD ?= build/gemm$(GEMM)
endif

# GEMM=blas|onednn|libxsmm: the library's name for tools/configure.sh and
# the define that makes it gemm.c's default path
GEMM_LIB_blas := openblas
GEMM_LIB_onednn := onednn
GEMM_LIB_libxsmm := libxsmm
GEMM_DEFAULT_blas := -DRNN_GEMM_BLAS
GEMM_DEFAULT_onednn := -DRNN_GEMM_DNNL
GEMM_DEFAULT_libxsmm := -DRNN_GEMM_XSMM
ifeq ($(GEMM),own)
CONFIG :=
else ifneq ($(GEMM_LIB_$(GEMM)),)
CONFIG := $(BUILD)/config.mk
-include $(CONFIG)
else
$(error GEMM=$(GEMM): expected own, blas, onednn or libxsmm)
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes $(WERROR)
CFLAGS ?= -O2 -g
OPENMP ?= -fopenmp
ALL_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(CFLAGS) $(WARN) $(OPENMP) \
	-fPIC -fvisibility=hidden -Iinclude -Isrc $(GEMM_LIB_CFLAGS) $(SANFLAGS)
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS) $(OPENMP)
LIBS := $(GEMM_LIB_LIBS) -lm

LIB_SRC := $(filter-out src/layers/kernels_isa.c,$(wildcard src/core/*.c src/layers/*.c src/model/*.c src/io/*.c))
CLI_SRC := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/*.c)
EXAMPLE_SRC := $(wildcard examples/*.c)

# The pointwise kernels: one object per instruction set, picked at run time.
KERNEL_ISAS := portable avx2 avx512
KERNEL_OBJ := $(KERNEL_ISAS:%=$(BUILD)/obj/src/layers/kernels_isa.%.o)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(KERNEL_OBJ)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
EXAMPLES := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)

.PHONY: all test test-torch install uninstall clean examples fixtures demo bench-gemm bench
.PHONY: bench-backends bench-regions bench-layout
.PHONY: fuzz fuzz-targets memcheck
.DELETE_ON_ERROR:

all: $(BUILD)/librnn.a $(BUILD)/librnn.so $(BUILD)/rnn examples

ifneq ($(CONFIG),)
$(CONFIG): tools/configure.sh
	@mkdir -p $(@D)
	@sh tools/configure.sh $@ $(GEMM_LIB_$(GEMM)) $(CC)
endif

$(BUILD)/obj/%.o: %.c $(CONFIG)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

KERNEL_FLAGS_portable :=
KERNEL_FLAGS_avx2 := -mavx2 -mfma -mf16c
KERNEL_FLAGS_avx512 := -mavx512f -mavx512dq -mavx512vl -mavx512bw -mfma -mprefer-vector-width=512
$(BUILD)/obj/src/layers/kernels_isa.%.o: src/layers/kernels_isa.c $(CONFIG)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -O3 -fno-trapping-math -fno-math-errno $(KERNEL_FLAGS_$*) -DRNN_ISA=$* -MMD -MP -c $< -o $@

# GEMM kernels: only these objects get ISA flags (gemm.c checks the CPU
# before calling them); the rest of the library stays baseline x86-64.
ifneq ($(findstring x86_64,$(shell $(CC) -dumpmachine)),)
$(BUILD)/obj/src/core/gemm_avx512.o: ALL_CFLAGS += -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma
$(BUILD)/obj/src/core/gemm_avx2.o: ALL_CFLAGS += -mavx2 -mfma
endif
$(BUILD)/obj/src/core/gemm.o: ALL_CFLAGS += $(GEMM_DEFAULT_$(GEMM))

$(BUILD)/librnn.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/librnn.so: $(LIB_OBJ)
	$(CC) -shared $(ALL_LDFLAGS) -Wl,-soname,librnn.so.0 -o $@ $^ $(LIBS)

$(BUILD)/rnn: $(CLI_OBJ) $(BUILD)/librnn.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/librnn.a $(LIBS)

$(BUILD)/tests/unit: $(TEST_OBJ) $(BUILD)/librnn.a
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(TEST_OBJ) $(BUILD)/librnn.a $(LIBS)

$(BUILD)/examples/%: examples/%.c $(BUILD)/librnn.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/librnn.a $(ALL_LDFLAGS) $(LIBS)

examples: $(EXAMPLES)

# SGEMM benchmark; compares with libxsmm and oneDNN when their headers are
# installed (libxsmm-dev, libdnnl-dev), which the library never needs.
BENCH_XSMM := $(if $(wildcard /usr/include/libxsmm.h),-DHAVE_LIBXSMM,)
BENCH_DNNL := $(if $(wildcard /usr/include/dnnl.h),-DHAVE_DNNL,)
BENCH_LIBS := $(if $(BENCH_XSMM),-lxsmm -lxsmmnoblas -ldl,) $(if $(BENCH_DNNL),-ldnnl,) -lpthread
# OpenBLAS for comparison only, when its headers are installed
OPENBLAS_INC := /usr/include/$(shell $(CC) -print-multiarch)/openblas-pthread
OPENBLAS_LIB := /usr/lib/$(shell $(CC) -print-multiarch)/openblas-pthread
BENCH_BLAS := $(if $(filter -DRNN_HAVE_CBLAS,$(GEMM_LIB_CFLAGS)),,$(if $(wildcard $(OPENBLAS_INC)/cblas.h),-DRNN_HAVE_CBLAS -I$(OPENBLAS_INC),))
comma := ,
BENCH_BLAS_LIBS := $(if $(BENCH_BLAS),-L$(OPENBLAS_LIB) -Wl$(comma)-rpath$(comma)$(OPENBLAS_LIB) -lopenblas,)
bench-layout: $(BUILD)/bench/rows_layout
	$(BUILD)/bench/rows_layout $(BENCH_ARGS)
$(BUILD)/bench/rows_layout: bench/rows_layout.c $(BUILD)/librnn.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/librnn.a $(ALL_LDFLAGS) $(LIBS)
bench-gemm: $(BUILD)/bench/gemm_bench
$(BUILD)/bench/gemm_bench: bench/gemm_bench.c $(BUILD)/librnn.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(BENCH_XSMM) $(BENCH_DNNL) $(BENCH_BLAS) -o $@ $< $(BUILD)/librnn.a \
		$(ALL_LDFLAGS) $(BENCH_LIBS) $(BENCH_BLAS_LIBS) $(LIBS)

# Every test: the C unit tests (fixtures, gradient checks, file formats) and
# the command-line tests; one "N passed, N failed" line at the end.
test: all $(BUILD)/tests/unit
	@sh tests/run.sh $(BUILD)

# Speed against PyTorch in the same run (needs python3-torch); see docs/performance.md.
# PyTorch must run on OpenBLAS (Debian's torch falls back to the reference BLAS
# without it): tools/configure.sh installs libopenblas-dev when missing and we
# are root. oneDNN's own RNN primitives are a second peer (bench/onednn_rnn.c,
# libdnnl-dev, installed the same way; without it their table is left out).
bench: all
	@mkdir -p $(BUILD)/bench
	@sh tools/configure.sh $(BUILD)/bench/openblas.mk openblas $(CC) || \
		echo "bench: no OpenBLAS: bench/run.py will refuse a PyTorch on the reference BLAS"
	@if sh tools/configure.sh $(BUILD)/bench/onednn.mk onednn $(CC); then \
		$(MAKE) --no-print-directory $(BUILD)/bench/onednn_rnn; \
	else echo "bench: no libdnnl-dev: oneDNN's table is left out"; fi
	$(PYTHON) bench/run.py --rnn $(BUILD)/rnn --onednn $(BUILD)/bench/onednn_rnn --out $(BUILD)/bench $(BENCH_ARGS)
$(BUILD)/bench/onednn_rnn: bench/onednn_rnn.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS) -ldnnl

# The same cases on every GEMM backend (each build installs its library).
bench-backends: all
	$(MAKE) GEMM=blas all
	$(MAKE) GEMM=onednn all
	$(MAKE) GEMM=libxsmm all
	$(PYTHON) bench/backends.py $(BENCH_ARGS)

# Per OpenMP region: where a 2-thread training step loses against 1 thread
# (bench/regions.py; GCC builds: the shim wraps libgomp's GOMP_parallel).
bench-regions: all $(BUILD)/bench/omp_regions.so
	$(PYTHON) bench/regions.py --rnn $(BUILD)/rnn --shim $(BUILD)/bench/omp_regions.so $(BENCH_ARGS)
$(BUILD)/bench/omp_regions.so: bench/omp_regions.c
	@mkdir -p $(@D)
	$(CC) -O2 $(WARN) -shared -fPIC -o $@ $< -ldl

test-torch: all
	$(PYTHON) tools/torch_crosscheck.py --rnn $(BUILD)/rnn --cases 120
	$(PYTHON) tools/torch_lm_check.py --rnn $(BUILD)/rnn

# Regenerates the committed PyTorch fixtures (needs python3-torch).
fixtures: all
	$(PYTHON) tools/gen_fixtures.py tests/fixtures
	$(PYTHON) tools/gen_optim_fixtures.py tests/fixtures
	$(PYTHON) tools/gen_conv_fixtures.py tests/fixtures
	$(PYTHON) tools/gen_statal_fixtures.py tests/fixtures
	$(PYTHON) tools/gen_seq2seq_fixtures.py tests/fixtures
	$(PYTHON) tools/gen_bad_inputs.py tests/bad_inputs/files
	$(PYTHON) tools/gen_reliability_inputs.py tests/bad_inputs/files

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(BUILD)/librnn.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/librnn.so $(DESTDIR)$(PREFIX)/lib/librnn.so.0
	ln -sf librnn.so.0 $(DESTDIR)$(PREFIX)/lib/librnn.so
	install -m 644 include/rnn.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(BUILD)/rnn $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBS@|$(LIBS)|g' rnn.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/rnn.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/librnn.a $(DESTDIR)$(PREFIX)/lib/librnn.so \
		$(DESTDIR)$(PREFIX)/lib/librnn.so.0 $(DESTDIR)$(PREFIX)/include/rnn.h \
		$(DESTDIR)$(PREFIX)/bin/rnn $(DESTDIR)$(PREFIX)/lib/pkgconfig/rnn.pc

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

# The README's first command: build everything, then the main job: a
# character-level LSTM learns the project's own sources and documentation
# for about a minute (text that exists on any machine), then writes a sample.
DEMO_TIME ?= 60
demo: all
	@mkdir -p $(BUILD)/demo
	@cat README.md docs/*.md include/rnn.h src/*/*.h src/*/*.c > $(BUILD)/demo/corpus.txt
	$(BUILD)/rnn train $(BUILD)/demo/corpus.txt --out $(BUILD)/demo --max-time $(DEMO_TIME) --eval-every 200
	@echo
	@echo "--- rnn sample $(BUILD)/demo/best.safetensors --length 600 --temperature 0.7 --seed 1"
	@$(BUILD)/rnn sample $(BUILD)/demo/best.safetensors --length 600 --temperature 0.7 --seed 1

# ---- reliability (docs/reliability.md): fault injection, fuzzing, valgrind ----

# The allocation-failure tests: the unit tests linked with mem.c compiled
# -DRNN_FAULT_INJECTION (a hook that fails the N-th allocation), a variant
# only this test binary contains. `make test` runs its "faults" suite.
FAULT_LIB_OBJ := $(filter-out $(BUILD)/obj/src/core/mem.o,$(LIB_OBJ)) $(BUILD)/obj/fault/mem.o
FAULT_TEST_OBJ := $(filter-out $(BUILD)/obj/tests/test_faults.o,$(TEST_OBJ)) \
	$(BUILD)/obj/fault/test_faults.o
$(BUILD)/obj/fault/mem.o: src/core/mem.c $(CONFIG)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DRNN_FAULT_INJECTION -MMD -MP -c $< -o $@
$(BUILD)/obj/fault/test_faults.o: tests/test_faults.c $(CONFIG)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DRNN_FAULT_INJECTION -MMD -MP -c $< -o $@
$(BUILD)/tests/faults: $(FAULT_TEST_OBJ) $(FAULT_LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(FAULT_TEST_OBJ) $(FAULT_LIB_OBJ) $(LIBS)
-include $(BUILD)/obj/fault/mem.d $(BUILD)/obj/fault/test_faults.d

# Fuzz targets (tests/fuzz/fuzz_*.c) are linked two ways: with replay.c by
# any compiler, so that `make test` (and SANITIZE=1) replays the committed
# seed corpus and crash regressions through them; and with clang's
# libFuzzer, ASan and UBSan for `make fuzz FUZZ_SECONDS=N` (N seconds per
# target; needs clang and libclang-rt-dev).
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CLI_OBJ := $(filter-out $(BUILD)/obj/src/cli/main.o,$(CLI_OBJ))
FUZZ_REPLAY := $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
test: $(BUILD)/tests/faults $(FUZZ_REPLAY)
$(BUILD)/fuzz/replay_%: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(FUZZ_CLI_OBJ) $(BUILD)/librnn.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< tests/fuzz/replay.c $(FUZZ_CLI_OBJ) $(BUILD)/librnn.a \
		$(ALL_LDFLAGS) $(LIBS)

FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
fuzz:
	$(MAKE) --no-print-directory BUILD=build/libfuzzer CC=$(FUZZ_CC) OPENMP= \
		WERROR= CFLAGS='-O1 -g -Wno-unknown-pragmas' SANFLAGS='$(FUZZ_SAN)' fuzz-targets
	sh tests/fuzz/run.sh build/libfuzzer $(FUZZ_SECONDS)
fuzz-targets: $(FUZZ_NAMES:%=$(BUILD)/fuzz/%)
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_CLI_OBJ) $(BUILD)/librnn.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_CLI_OBJ) $(BUILD)/librnn.a \
		$(ALL_LDFLAGS) $(LIBS)

# valgrind memcheck over the command-line tests: no leaks, no errors.
memcheck: all
	bash tests/memcheck.sh $(BUILD)
